// hooks/more_io_hooks.cpp — recvmmsg and sendmmsg on fibers, through
// hooked_io (its byte count is a message count here).
//
// recvmmsg, like the blocking call, waits until all vlen messages arrived
// (MSG_WAITFORONE: until the first one); its `timeout` is checked after
// each batch of messages, as the kernel checks it after each datagram, and
// is updated with the time left. sendmmsg waits until all vlen messages went
// out. After some progress, a timeout, cancel or error returns the count so
// far. MSG_DONTWAIT passes straight through.
//
// shutdown() needs no hook: the kernel raises EPOLLIN|EPOLLRDHUP (and
// EPOLLOUT) on the socket itself, so fibers parked on it wake, retry and
// see EOF / EPIPE like blocked threads do (tests/hooks/test_hooks_mmsg.cpp).
#include "hook_core.hpp"

#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <vector>

namespace hk = weft::hooks;
using weft::io_event;
using weft::detail::ns_t;

namespace {

// rf() is hooks/real.hpp's table of the real libc functions.
const weft::hooks::real::table& rf() noexcept { return weft::hooks::real::fns(); }

}  // namespace

WEFT_HOOK int recvmmsg(int fd, mmsghdr* v, unsigned n, int flags, timespec* t) {
  if (flags & MSG_DONTWAIT) return rf().recvmmsg(fd, v, n, flags, t);
  if (!hk::fiber_sched()) {  // a plain thread: emulate only where a fiber made the fd non-blocking
    hk::fd_entry* e = hk::fds.peek(fd);
    if (!e || !e->emulating()) return rf().recvmmsg(fd, v, n, flags, t);
  }
  if (t && (t->tv_sec < 0 || t->tv_nsec < 0 || t->tv_nsec >= 1000000000)) return rf().recvmmsg(fd, v, n, flags, t);
  ns_t deadline = t ? weft::detail::now_ns() + ns_t(t->tv_sec) * 1000000000 + t->tv_nsec : weft::detail::no_deadline;
  bool expired = false;
  int r = static_cast<int>(hk::hooked_io(
      fd, io_event::readable,
      [&](std::size_t done) -> ssize_t {
        if (expired || done >= n) return 0;  // stop: hooked_io returns `done`
        int r = rf().recvmmsg(fd, v + done, n - static_cast<unsigned>(done), flags & ~MSG_WAITFORONE, nullptr);
        // The kernel checks the call's own timeout after each message.
        if (r > 0 && t && weft::detail::now_ns() >= deadline) expired = true;
        return r;
      },
      (flags & MSG_WAITFORONE) ? 0 : n));
  if (t && r >= 0) {
    ns_t left = std::max<ns_t>(0, deadline - weft::detail::now_ns());
    *t = {static_cast<time_t>(left / 1000000000), static_cast<long>(left % 1000000000)};
  }
  return r;
}

// finish_message() sends the rest of a message a non-blocking sendmmsg sent
// only in part (stream sockets), through the sendmsg hook (which moves
// everything, parking as needed); adds to msg_len. False if it stopped short.
bool finish_message(int fd, mmsghdr& m, int flags) {
  const msghdr& h = m.msg_hdr;
  std::size_t skip = m.msg_len, total = 0;
  std::vector<iovec> rest;
  for (std::size_t i = 0; i < h.msg_iovlen; ++i) {
    total += h.msg_iov[i].iov_len;
    if (skip >= h.msg_iov[i].iov_len) {
      skip -= h.msg_iov[i].iov_len;
      continue;
    }
    rest.push_back({static_cast<char*>(h.msg_iov[i].iov_base) + skip, h.msg_iov[i].iov_len - skip});
    skip = 0;
  }
  if (m.msg_len >= total) return true;
  msghdr r{};
  r.msg_iov = rest.data();
  r.msg_iovlen = rest.size();
  ssize_t k = ::sendmsg(fd, &r, flags);  // the hook: a blocking-style full send
  if (k > 0) m.msg_len += static_cast<unsigned>(k);
  return m.msg_len >= total;
}

WEFT_HOOK int sendmmsg(int fd, mmsghdr* v, unsigned n, int flags) {
  if (flags & MSG_DONTWAIT) return rf().sendmmsg(fd, v, n, flags);
  bool stop = false;
  return static_cast<int>(hk::hooked_io(
      fd, io_event::writable,
      [&](std::size_t done) -> ssize_t {
        if (stop || done >= n) return 0;
        int r = rf().sendmmsg(fd, v + done, n - static_cast<unsigned>(done), flags);
        // A non-blocking stream socket may take only part of the last message;
        // the blocking call would have sent all of it.
        if (r > 0 && !finish_message(fd, v[done + r - 1], flags)) stop = true;
        return r;
      },
      n));
}
