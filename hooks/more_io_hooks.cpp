// hooks/more_io_hooks.cpp — recvmmsg and sendmmsg on fibers, as custom
// operations of rt::perform (io_op.hpp) driven by blocking_call (its byte
// count is a message count here).
//
// recvmmsg, like the blocking call, waits until all vlen messages arrived
// (MSG_WAITFORONE: until the first one); its `timeout` is checked after
// each batch of messages, as the kernel checks it after each datagram, and
// is updated with the time left. sendmmsg waits until all vlen messages went
// out; a message a stream socket took only in part is finished like a
// blocking sendmsg. After some progress, a timeout, cancel or error returns
// the count so far. MSG_DONTWAIT passes straight through.
//
// shutdown() needs no hook: the kernel raises EPOLLIN|EPOLLRDHUP (and
// EPOLLOUT) on the socket itself, so fibers parked on it wake, retry and
// see EOF / EPIPE like blocked threads do (tests/hooks/test_hooks_mmsg.cpp).
#include "hook_core.hpp"

#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>

namespace hk = weft::hooks;
namespace rt = weft::rt;
using rt::ns_t;

namespace {

// A recvmmsg or sendmmsg in progress: the custom operation's context.
struct mmsg_call {
  int fd;
  mmsghdr* v;
  unsigned n;
  int flags;
  timespec* timeout;    // recvmmsg's own timeout (the plain call's argument)
  ns_t deadline;        // recvmmsg: when `timeout` runs out
  unsigned done = 0;    // messages moved before this attempt
  bool expired = false; // recvmmsg: the timeout passed after a message
};

// recv_attempt() is one recvmmsg of the messages still missing.
ssize_t recv_attempt(void* ctx, bool blocking) {
  auto* c = static_cast<mmsg_call*>(ctx);
  if (blocking) {
    int r = WEFT_REAL(recvmmsg)(c->fd, c->v, c->n, c->flags, c->timeout);
    return r < 0 ? -errno : r;
  }
  if (c->expired || c->done >= c->n) return 0;  // stop: blocking_call returns the count
  long r = syscall(SYS_recvmmsg, c->fd, c->v + c->done, c->n - c->done, (c->flags & ~MSG_WAITFORONE) | MSG_DONTWAIT,
                   nullptr);
  if (r < 0) return -errno;
  // The kernel checks the call's own timeout after each message.
  if (r > 0 && c->timeout && rt::now_ns() >= c->deadline) c->expired = true;
  return r;
}

// send_attempt() is one sendmmsg of the messages still to go.
ssize_t send_attempt(void* ctx, bool blocking) {
  auto* c = static_cast<mmsg_call*>(ctx);
  long r = blocking ? syscall(SYS_sendmmsg, c->fd, c->v, c->n, c->flags)
                    : syscall(SYS_sendmmsg, c->fd, c->v + c->done, c->n - c->done, c->flags | MSG_DONTWAIT);
  return r < 0 ? -errno : r;
}

// finish_message() sends the rest of a message a non-blocking sendmmsg sent
// only in part (stream sockets), through the sendmsg hook (which moves
// everything, parking as needed); adds to msg_len. False if it stopped short.
bool finish_message(int fd, mmsghdr& m, int flags) {
  const msghdr& h = m.msg_hdr;
  std::size_t all = hk::total(h.msg_iov, h.msg_iovlen);
  if (m.msg_len >= all) return true;
  hk::iov_rest rest;
  rest.from(h.msg_iov, h.msg_iovlen, m.msg_len);
  msghdr r{};
  r.msg_iov = rest.v.data();
  r.msg_iovlen = rest.v.size();
  ssize_t k = ::sendmsg(fd, &r, flags);  // the hook: a blocking-style full send
  if (k > 0) m.msg_len += static_cast<unsigned>(k);
  return m.msg_len >= all;
}

// custom_op() is the io_op of a custom operation on c.
rt::io_op custom_op(mmsg_call& c, ssize_t (*fn)(void*, bool), weft::io_event dir) {
  return {.code = rt::op_code::custom, .fd = c.fd, .custom = fn, .ctx = &c, .custom_dir = dir};
}

}  // namespace

WEFT_HOOK int recvmmsg(int fd, mmsghdr* v, unsigned n, int flags, timespec* t) {
  if ((flags & MSG_DONTWAIT) || !rt::on_fiber()) return WEFT_REAL(recvmmsg)(fd, v, n, flags, t);
  if (t && (t->tv_sec < 0 || t->tv_nsec < 0 || t->tv_nsec >= 1000000000)) return WEFT_REAL(recvmmsg)(fd, v, n, flags, t);
  mmsg_call c{fd, v, n, flags, t, t ? rt::now_ns() + ns_t(t->tv_sec) * 1000000000 + t->tv_nsec : rt::no_deadline};
  rt::io_op op = custom_op(c, &recv_attempt, weft::io_event::readable);
  int r = static_cast<int>(hk::blocking_call(op, (flags & MSG_WAITFORONE) ? 0 : n, EAGAIN,
                                             [&](rt::io_op&, std::size_t done) { c.done = static_cast<unsigned>(done); }));
  if (t && r >= 0) {
    ns_t left = std::max<ns_t>(0, c.deadline - rt::now_ns());
    *t = {static_cast<time_t>(left / 1000000000), static_cast<long>(left % 1000000000)};
  }
  return r;
}

WEFT_HOOK int sendmmsg(int fd, mmsghdr* v, unsigned n, int flags) {
  if ((flags & MSG_DONTWAIT) || !rt::on_fiber()) return WEFT_REAL(sendmmsg)(fd, v, n, flags);
  rt::fd_facts f = rt::facts(fd);
  if (!f.pollable() || f.nonblock) return WEFT_REAL(sendmmsg)(fd, v, n, flags);
  mmsg_call c{fd, v, n, flags, nullptr, rt::no_deadline};
  while (c.done < n) {
    rt::io_op op = custom_op(c, &send_attempt, weft::io_event::writable);
    int r = static_cast<int>(hk::blocking_call(op));
    if (r < 0) return c.done ? static_cast<int>(c.done) : -1;
    if (r == 0) break;
    c.done += static_cast<unsigned>(r);
    // A non-blocking stream socket may take only part of the last message;
    // the blocking call would have sent all of it.
    if (!finish_message(fd, v[c.done - 1], flags)) break;
  }
  return static_cast<int>(c.done);
}
