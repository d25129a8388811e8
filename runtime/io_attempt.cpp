// runtime/io_attempt.cpp — one attempt at an io_op (io_op.hpp), as raw
// syscalls (raw_syscall.hpp): the runtime never goes through the hooks, and
// the hot cases touch no errno.
//
// read/write on a socket are made as recvfrom/sendto (one buffer) or
// recvmsg/sendmsg (several) with MSG_DONTWAIT: on a socket the kernel
// serves read and write exactly so (sock_read_iter / sock_write_iter), with
// MSG_EOR added to a SOCK_SEQPACKET write, and these calls are cheaper than
// preadv2/pwritev2, whose iovec path costs about 130 ns more per call here.
// A zero-length read is made as the plain readv (recvfrom would consume a
// datagram; read does not, and never blocks for it).
#include "io_op.hpp"
#include "raw_syscall.hpp"

#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>

namespace weft::detail {
namespace {

// ready() polls fd for ev without waiting.
bool ready(int fd, short ev) noexcept {
  pollfd p{fd, ev, 0};
  return sys(SYS_poll, &p, 1, 0) > 0;
}

// socket_rw() is read/write on a socket: the socket calls with MSG_DONTWAIT.
ssize_t socket_rw(io_op& op, const fd_facts& f, bool write) noexcept {
  int flags = MSG_DONTWAIT | (write && f.seqpacket ? MSG_EOR : 0);
  if (op.iovcnt == 1)
    return write ? sys(SYS_sendto, op.fd, op.iov[0].iov_base, op.iov[0].iov_len, flags, nullptr, 0)
                 : sys(SYS_recvfrom, op.fd, op.iov[0].iov_base, op.iov[0].iov_len, flags, nullptr, nullptr);
  msghdr m{};
  m.msg_iov = const_cast<iovec*>(op.iov);
  m.msg_iovlen = static_cast<std::size_t>(op.iovcnt);
  return sys(write ? SYS_sendmsg : SYS_recvmsg, op.fd, &m, flags);
}

// rw() is read/write: per-call flags where the file takes them, else poll first.
ssize_t rw(io_op& op, fd_facts& f, bool blocking, bool write) noexcept {
  long nr = write ? SYS_writev : SYS_readv;
  if (blocking) return sys(nr, op.fd, op.iov, op.iovcnt);
  if (f.kind == fd_kind::socket && op.iovcnt > 0 && (write || op.iov[0].iov_len > 0 || op.iovcnt > 1)) {
    ssize_t r = socket_rw(op, f, write);
    if (r != -ENOTSOCK) return r;  // stale facts: not a socket any more
  }
  if (!f.no_nowait && f.kind != fd_kind::device) {
    // preadv2/pwritev2(fd, iov, n, pos_l = -1, pos_h = 0, flags): the file position, like read/write.
    ssize_t r = sys(write ? SYS_pwritev2 : SYS_preadv2, op.fd, op.iov, op.iovcnt, -1L, 0L, RWF_NOWAIT);
    if (r != -EOPNOTSUPP) return r;
    note_no_nowait(op.fd);
    f.no_nowait = true;
  }
  if (!ready(op.fd, write ? POLLOUT : POLLIN)) return -EAGAIN;
  return sys(nr, op.fd, op.iov, op.iovcnt);
}

// accept_once() takes a connection if one is queued. The listener's entry is
// marked busy across poll + accept, so that of two carriers woken by one
// connection only one calls the (blocking) accept.
ssize_t accept_once(io_op& op, bool blocking) noexcept {
  if (blocking) return sys(SYS_accept4, op.fd, op.addr, op.addrlen, op.flags);
  fd_entry* e = fd_at(op.fd);
  if (e) {
    std::uint32_t expected = 0;
    while (!e->busy.compare_exchange_weak(expected, 1, std::memory_order_acquire)) {
      expected = 0;
      sys(SYS_sched_yield);
    }
  }
  ssize_t r = ready(op.fd, POLLIN) ? sys(SYS_accept4, op.fd, op.addr, op.addrlen, op.flags) : -EAGAIN;
  if (e) e->busy.store(0, std::memory_order_release);
  return r;
}

// nonblocking_once() makes one syscall with O_NONBLOCK set on fd's
// description for that syscall only (io_op.hpp): the result or -errno.
template <class F>
ssize_t nonblocking_once(int fd, F&& call) noexcept {
  long fl = sys(SYS_fcntl, fd, F_GETFL, 0);
  if (fl < 0) return fl;
  sys(SYS_fcntl, fd, F_SETFL, fl | O_NONBLOCK);
  ssize_t r = call();
  sys(SYS_fcntl, fd, F_SETFL, fl);
  return r;
}

// connect_once() starts a connect with O_NONBLOCK set for that one syscall,
// or, once started, checks whether the handshake finished.
ssize_t connect_once(io_op& op, bool blocking) noexcept {
  if (blocking) return sys(SYS_connect, op.fd, op.addr, op.alen);
  if (op.connecting) {
    if (!ready(op.fd, POLLOUT)) return -EAGAIN;
    int err = 0;
    socklen_t len = sizeof err;
    if (long e = sys(SYS_getsockopt, op.fd, SOL_SOCKET, SO_ERROR, &err, &len); e != 0) return e;
    return err ? -err : 0;
  }
  ssize_t r = nonblocking_once(op.fd, [&] { return sys(SYS_connect, op.fd, op.addr, op.alen); });
  // EALREADY: an earlier connect (interrupted by a signal) is still going
  // on; the blocking call waits for it to finish, as for a new one.
  if (r == -EINPROGRESS || r == -EALREADY) {
    op.connecting = true;
    return -EAGAIN;
  }
  if (r == -EAGAIN) op.backoff = true;  // AF_UNIX: the listener's backlog is full
  return r;
}

// sendfile_once() is sendfile, without blocking: O_NONBLOCK on the written
// fd for the one syscall (there is no per-call flag).
ssize_t sendfile_once(io_op& op, bool blocking) noexcept {
  auto call = [&] { return sys(SYS_sendfile, op.fd, op.in_fd, op.offset, op.len); };
  if (blocking) return call();
  if (!ready(op.fd, POLLOUT)) return -EAGAIN;
  return nonblocking_once(op.fd, call);
}

}  // namespace

std::size_t plain_read_size_slow(const io_op& op) noexcept {
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
  int nb = blocking ? 0 : MSG_DONTWAIT;
  ssize_t r;
  op.backoff = false;
  switch (op.code) {
    case op_code::read: r = rw(op, f, blocking, false); break;
    case op_code::write: r = rw(op, f, blocking, true); break;
    case op_code::recvfrom:
      r = sys(SYS_recvfrom, op.fd, op.buf, op.len, op.flags | nb, op.addr, op.addrlen);
      break;
    case op_code::sendto:
      r = sys(SYS_sendto, op.fd, op.buf, op.len, op.flags | nb, op.addr, op.alen);
      break;
    case op_code::recvmsg: r = sys(SYS_recvmsg, op.fd, op.msg, op.flags | nb); break;
    case op_code::sendmsg: r = sys(SYS_sendmsg, op.fd, op.msg, op.flags | nb); break;
    case op_code::accept: r = accept_once(op, blocking); break;
    case op_code::connect: r = connect_once(op, blocking); break;
    case op_code::sendfile: r = sendfile_once(op, blocking); break;
    case op_code::custom: {
      int saved = errno;
      r = op.custom(op.ctx, blocking);
      errno = saved;
      break;
    }
    default: r = -EINVAL; break;
  }
  return r;
}

}  // namespace weft::detail
