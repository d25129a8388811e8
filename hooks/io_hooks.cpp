// hooks/io_hooks.cpp — connect, accept and the data calls (read/write and
// the socket send/recv family) on fibers, through blocking_call.
//
// Reads return as soon as some data arrived, like the blocking call. Writes
// (and MSG_WAITALL reads on stream sockets) continue until everything moved,
// like a blocking write; after partial progress a timeout, cancel or error
// returns the partial count. MSG_DONTWAIT calls, calls off a fiber, and
// calls on descriptions the program made non-blocking go straight to libc.
#include "hook_core.hpp"

#include <sys/socket.h>
#include <sys/uio.h>

using weft::hooks::blocking_call;
using weft::hooks::iov_rest;
using weft::hooks::total;
namespace rt = weft::rt;
using rt::op_code;

// The _FORTIFY_SOURCE entry points glibc's headers do not declare.
extern "C" {
ssize_t __read_chk(int, void*, size_t, size_t);
ssize_t __recv_chk(int, void*, size_t, size_t, int);
ssize_t __recvfrom_chk(int, void*, size_t, size_t, int, sockaddr*, socklen_t*);
}

// A hook that hands its work to an out-of-line body keeps its own frame, so
// that backtraces of parked fibers show the libc call (read, write...).
#define WEFT_KEEP_FRAME __attribute__((optimize("no-optimize-sibling-calls")))

namespace {

// waitall() is true when flags ask MSG_WAITALL on a stream socket (where it
// means "fill the buffer"; elsewhere it has no effect).
bool waitall(int fd, int flags) noexcept {
  if (!(flags & MSG_WAITALL)) return false;
  rt::fd_facts f = rt::facts(fd);
  return f.kind == rt::fd_kind::socket && f.stream;
}

// rw() is read/readv/write/writev on a fiber; writes move everything.
ssize_t rw(op_code code, int fd, const iovec* iov, int n) {
  rt::io_op op{.code = code, .fd = fd, .iov = iov, .iovcnt = n};
  if (code == op_code::read) return blocking_call(op);
  std::size_t count = n > 0 ? static_cast<std::size_t>(n) : 0;
  if (count == 1) {  // one buffer: its rest needs no copy of the iovec array
    iovec one = iov[0];
    op.iov = &one;
    return blocking_call(op, one.iov_len, EAGAIN, [&](rt::io_op&, std::size_t done) {
      one.iov_base = static_cast<char*>(iov[0].iov_base) + done;
      one.iov_len = iov[0].iov_len - done;
    });
  }
  iov_rest rest;
  return blocking_call(op, total(iov, count), EAGAIN, [&](rt::io_op& o, std::size_t done) {
    rest.from(iov, count, done);
    o.iov = rest.v.data();
    o.iovcnt = static_cast<int>(rest.v.size());
  });
}

// [[gnu::noinline]] blocking paths keep the pass-through of the hot hooks lean.
[[gnu::noinline]] ssize_t fiber_read(int fd, void* buf, size_t n) {
  iovec v{buf, n};
  return rw(op_code::read, fd, &v, 1);
}

[[gnu::noinline]] ssize_t fiber_write(int fd, const void* buf, size_t n) {
  iovec v{const_cast<void*>(buf), n};
  return rw(op_code::write, fd, &v, 1);
}

// recv_from() is recv/recvfrom on a fiber (MSG_WAITALL fills the buffer).
[[gnu::noinline]] ssize_t recv_from(int fd, void* buf, size_t n, int flags, sockaddr* addr, socklen_t* alen) {
  rt::io_op op{.code = op_code::recvfrom, .fd = fd, .flags = flags, .buf = buf, .len = n, .addr = addr, .addrlen = alen};
  return blocking_call(op, waitall(fd, flags) ? n : 0, EAGAIN, [&](rt::io_op& o, std::size_t done) {
    o.buf = static_cast<char*>(buf) + done;
    o.len = n - done;
  });
}

// send_to() is send/sendto on a fiber: everything moves.
[[gnu::noinline]] ssize_t send_to(int fd, const void* buf, size_t n, int flags, const sockaddr* addr,
                                  socklen_t alen) {
  rt::io_op op{.code = op_code::sendto, .fd = fd, .flags = flags, .buf = const_cast<void*>(buf), .len = n,
               .addr = const_cast<sockaddr*>(addr), .alen = alen};
  return blocking_call(op, n, EAGAIN, [&](rt::io_op& o, std::size_t done) {
    o.buf = static_cast<char*>(const_cast<void*>(buf)) + done;
    o.len = n - done;
  });
}

// accepted() records a connection accept4 made: a socket of the listener's type.
void accepted(int listener, int fd, int flags) noexcept {
  rt::fd_facts l = rt::facts(listener);
  rt::fd_created(fd, rt::fd_kind::socket, l.stream, flags & SOCK_NONBLOCK, l.seqpacket);
}

// parks_here() is true when a call with these flags may park: on a fiber,
// without MSG_DONTWAIT.
bool parks_here(int flags = 0) noexcept { return !(flags & MSG_DONTWAIT) && rt::maybe_fiber() && rt::on_fiber(); }

}  // namespace

WEFT_HOOK int connect(int fd, const sockaddr* addr, socklen_t len) {
  if (!parks_here()) return WEFT_REAL(connect)(fd, addr, len);
  rt::io_op op{.code = op_code::connect, .fd = fd, .addr = const_cast<sockaddr*>(addr), .alen = len};
  return static_cast<int>(blocking_call(op, EINPROGRESS));
}

WEFT_HOOK int accept4(int fd, sockaddr* addr, socklen_t* len, int flags) {
  if (!parks_here()) {
    int r = WEFT_REAL(accept4)(fd, addr, len, flags);
    if (r >= 0) accepted(fd, r, flags);
    return r;
  }
  rt::io_op op{.code = op_code::accept, .fd = fd, .flags = flags, .addr = addr, .addrlen = len};
  int r = static_cast<int>(blocking_call(op));
  if (r >= 0) accepted(fd, r, flags);
  return r;
}

WEFT_HOOK int accept(int fd, sockaddr* addr, socklen_t* len) { return accept4(fd, addr, len, 0); }

WEFT_HOOK WEFT_KEEP_FRAME ssize_t read(int fd, void* buf, size_t n) {
  if (!rt::maybe_fiber() || !rt::on_fiber()) return WEFT_REAL(read)(fd, buf, n);
  return fiber_read(fd, buf, n);
}

WEFT_HOOK WEFT_KEEP_FRAME ssize_t write(int fd, const void* buf, size_t n) {
  if (!rt::maybe_fiber() || !rt::on_fiber()) return WEFT_REAL(write)(fd, buf, n);
  return fiber_write(fd, buf, n);
}

WEFT_HOOK ssize_t readv(int fd, const iovec* iov, int n) {
  if (!parks_here()) return WEFT_REAL(readv)(fd, iov, n);
  return rw(op_code::read, fd, iov, n);
}

WEFT_HOOK ssize_t writev(int fd, const iovec* iov, int n) {
  if (!parks_here()) return WEFT_REAL(writev)(fd, iov, n);
  return rw(op_code::write, fd, iov, n);
}

WEFT_HOOK WEFT_KEEP_FRAME ssize_t recv(int fd, void* buf, size_t n, int flags) {
  if (!parks_here(flags)) return WEFT_REAL(recv)(fd, buf, n, flags);
  return recv_from(fd, buf, n, flags, nullptr, nullptr);
}

WEFT_HOOK WEFT_KEEP_FRAME ssize_t send(int fd, const void* buf, size_t n, int flags) {
  if (!parks_here(flags)) return WEFT_REAL(send)(fd, buf, n, flags);
  return send_to(fd, buf, n, flags, nullptr, 0);
}

WEFT_HOOK WEFT_KEEP_FRAME ssize_t recvfrom(int fd, void* buf, size_t n, int flags, sockaddr* addr, socklen_t* alen) {
  if (!parks_here(flags)) return WEFT_REAL(recvfrom)(fd, buf, n, flags, addr, alen);
  return recv_from(fd, buf, n, flags, addr, alen);
}

WEFT_HOOK WEFT_KEEP_FRAME ssize_t sendto(int fd, const void* buf, size_t n, int flags, const sockaddr* addr, socklen_t alen) {
  if (!parks_here(flags)) return WEFT_REAL(sendto)(fd, buf, n, flags, addr, alen);
  return send_to(fd, buf, n, flags, addr, alen);
}

WEFT_HOOK ssize_t recvmsg(int fd, msghdr* msg, int flags) {
  if (!parks_here(flags)) return WEFT_REAL(recvmsg)(fd, msg, flags);
  rt::io_op op{.code = op_code::recvmsg, .fd = fd, .flags = flags, .msg = msg};
  if (!waitall(fd, flags)) return blocking_call(op);
  // Later pieces of a MSG_WAITALL read: data only, into the rest of the buffers.
  iov_rest rest;
  msghdr m{};
  int flags_seen = 0;
  ssize_t r = blocking_call(op, total(msg->msg_iov, msg->msg_iovlen), EAGAIN, [&](rt::io_op& o, std::size_t done) {
    flags_seen |= o.msg->msg_flags;
    rest.from(msg->msg_iov, msg->msg_iovlen, done);
    m = msghdr{};
    m.msg_iov = rest.v.data();
    m.msg_iovlen = rest.v.size();
    o.msg = &m;
  });
  if (op.msg == &m) msg->msg_flags |= flags_seen | m.msg_flags;
  return r;
}

WEFT_HOOK ssize_t sendmsg(int fd, const msghdr* msg, int flags) {
  if (!parks_here(flags)) return WEFT_REAL(sendmsg)(fd, msg, flags);
  rt::io_op op{.code = op_code::sendmsg, .fd = fd, .flags = flags, .msg = const_cast<msghdr*>(msg)};
  // The rest of a partly sent message: no ancillary data (it went with the first byte).
  iov_rest rest;
  msghdr m{};
  return blocking_call(op, total(msg->msg_iov, msg->msg_iovlen), EAGAIN, [&](rt::io_op& o, std::size_t done) {
    rest.from(msg->msg_iov, msg->msg_iovlen, done);
    m = *msg;
    m.msg_control = nullptr;
    m.msg_controllen = 0;
    m.msg_iov = rest.v.data();
    m.msg_iovlen = rest.v.size();
    o.msg = &m;
  });
}

// _FORTIFY_SOURCE entry points: the size check stays libc's (it aborts).
WEFT_HOOK WEFT_KEEP_FRAME ssize_t __read_chk(int fd, void* buf, size_t n, size_t buflen) {
  if (n > buflen || !parks_here()) return WEFT_REAL(__read_chk)(fd, buf, n, buflen);
  return fiber_read(fd, buf, n);
}

WEFT_HOOK WEFT_KEEP_FRAME ssize_t __recv_chk(int fd, void* buf, size_t n, size_t buflen, int flags) {
  if (n > buflen || !parks_here(flags)) return WEFT_REAL(__recv_chk)(fd, buf, n, buflen, flags);
  return recv_from(fd, buf, n, flags, nullptr, nullptr);
}

WEFT_HOOK ssize_t __recvfrom_chk(int fd, void* buf, size_t n, size_t buflen, int flags, sockaddr* addr,
                                 socklen_t* alen) {
  if (n > buflen || !parks_here(flags)) return WEFT_REAL(__recvfrom_chk)(fd, buf, n, buflen, flags, addr, alen);
  return recv_from(fd, buf, n, flags, addr, alen);
}

