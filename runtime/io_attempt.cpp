// runtime/io_attempt.cpp — one attempt at an io_op (io_op.hpp), as raw
// syscalls: the runtime never goes through the hooks.
#include "io_op.hpp"

#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>

namespace weft::detail {
namespace {

// ret() turns a raw syscall's result into result-or-minus-errno.
ssize_t ret(long r) noexcept { return r < 0 ? -errno : r; }

// ready() polls fd for ev without waiting.
bool ready(int fd, short ev) noexcept {
  pollfd p{fd, ev, 0};
  return syscall(SYS_poll, &p, 1, 0) > 0;
}

// rw() is read/write: RWF_NOWAIT where the file takes it, else poll first.
ssize_t rw(io_op& op, fd_facts& f, bool blocking, bool write) noexcept {
  long nr = write ? SYS_writev : SYS_readv;
  if (blocking) return ret(syscall(nr, op.fd, op.iov, op.iovcnt));
  if (!f.no_nowait && f.kind != fd_kind::device) {
    // preadv2/pwritev2(fd, iov, n, pos_l = -1, pos_h = 0, flags): the file position, like read/write.
    ssize_t r = ret(syscall(write ? SYS_pwritev2 : SYS_preadv2, op.fd, op.iov, op.iovcnt, -1L, 0L, RWF_NOWAIT));
    if (r != -EOPNOTSUPP) return r;
    note_no_nowait(op.fd);
    f.no_nowait = true;
  }
  if (!ready(op.fd, write ? POLLOUT : POLLIN)) return -EAGAIN;
  return ret(syscall(nr, op.fd, op.iov, op.iovcnt));
}

// accept_once() takes a connection if one is queued. The listener's entry is
// marked busy across poll + accept, so that of two carriers woken by one
// connection only one calls the (blocking) accept.
ssize_t accept_once(io_op& op, bool blocking) noexcept {
  if (blocking) return ret(syscall(SYS_accept4, op.fd, op.addr, op.addrlen, op.flags));
  fd_entry* e = fd_at(op.fd);
  if (e) {
    std::uint32_t expected = 0;
    while (!e->busy.compare_exchange_weak(expected, 1, std::memory_order_acquire)) {
      expected = 0;
      syscall(SYS_sched_yield);
    }
  }
  ssize_t r = ready(op.fd, POLLIN) ? ret(syscall(SYS_accept4, op.fd, op.addr, op.addrlen, op.flags)) : -EAGAIN;
  if (e) e->busy.store(0, std::memory_order_release);
  return r;
}

// connect_once() starts a connect with O_NONBLOCK set for that one syscall,
// or, once started, checks whether the handshake finished.
ssize_t connect_once(io_op& op, bool blocking) noexcept {
  if (blocking) return ret(syscall(SYS_connect, op.fd, op.addr, op.alen));
  if (op.connecting) {
    if (!ready(op.fd, POLLOUT)) return -EAGAIN;
    int err = 0;
    socklen_t len = sizeof err;
    if (syscall(SYS_getsockopt, op.fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0) return -errno;
    return err ? -err : 0;
  }
  int saved = errno;
  long fl = syscall(SYS_fcntl, op.fd, F_GETFL, 0);
  if (fl < 0) return ret(fl);
  syscall(SYS_fcntl, op.fd, F_SETFL, fl | O_NONBLOCK);
  ssize_t r = ret(syscall(SYS_connect, op.fd, op.addr, op.alen));
  syscall(SYS_fcntl, op.fd, F_SETFL, fl);
  errno = saved;
  // EALREADY: an earlier connect (interrupted by a signal) is still going
  // on; the blocking call waits for it to finish, as for a new one.
  if (r == -EINPROGRESS || r == -EALREADY) {
    op.connecting = true;
    return -EAGAIN;
  }
  if (r == -EAGAIN) op.backoff = true;  // AF_UNIX: the listener's backlog is full
  return r;
}

}  // namespace

std::size_t plain_read_size(const io_op& op) noexcept {
  switch (op.code) {
    case op_code::read: {
      std::size_t n = 0;
      for (int i = 0; i < op.iovcnt; ++i) n += op.iov[i].iov_len;
      return n;
    }
    case op_code::recvfrom:
      return (op.flags & (MSG_PEEK | MSG_OOB | MSG_WAITALL)) ? 0 : op.len;
    case op_code::recvmsg: {
      if (op.flags & (MSG_PEEK | MSG_OOB | MSG_WAITALL)) return 0;
      std::size_t n = 0;
      for (std::size_t i = 0; i < op.msg->msg_iovlen; ++i) n += op.msg->msg_iov[i].iov_len;
      return n;
    }
    default:
      return 0;
  }
}

ssize_t attempt(io_op& op, fd_facts& f, bool blocking) noexcept {
  int saved = errno;
  int nb = blocking ? 0 : MSG_DONTWAIT;
  ssize_t r;
  op.backoff = false;
  switch (op.code) {
    case op_code::read: r = rw(op, f, blocking, false); break;
    case op_code::write: r = rw(op, f, blocking, true); break;
    case op_code::recvfrom:
      r = ret(syscall(SYS_recvfrom, op.fd, op.buf, op.len, op.flags | nb, op.addr, op.addrlen));
      break;
    case op_code::sendto:
      r = ret(syscall(SYS_sendto, op.fd, op.buf, op.len, op.flags | nb, op.addr, op.alen));
      break;
    case op_code::recvmsg: r = ret(syscall(SYS_recvmsg, op.fd, op.msg, op.flags | nb)); break;
    case op_code::sendmsg: r = ret(syscall(SYS_sendmsg, op.fd, op.msg, op.flags | nb)); break;
    case op_code::accept: r = accept_once(op, blocking); break;
    case op_code::connect: r = connect_once(op, blocking); break;
    case op_code::custom: r = op.custom(op.ctx, blocking); break;
    default: r = -EINVAL; break;
  }
  errno = saved;
  return r;
}

}  // namespace weft::detail
