// hooks/io_hooks.cpp — connect, accept and the data calls (read/write and
// the socket send/recv family), all through hooked_io.
//
// Reads return as soon as some data arrived, like the blocking call. Writes
// (and MSG_WAITALL reads on stream sockets) continue until everything moved,
// like a blocking write; after partial progress a timeout, cancel or error
// returns the partial count. MSG_DONTWAIT calls pass straight through.
#include "hook_core.hpp"

#include <poll.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include <vector>

using weft::io_event;
using weft::hooks::fds;
using weft::hooks::hooked_io;
namespace real = weft::hooks::real;

namespace {

// advanced() is a copy of iov[0..n) without its first `skip` bytes.
std::vector<iovec> advanced(const iovec* iov, std::size_t n, std::size_t skip) {
  std::size_t i = 0;
  while (i < n && skip >= iov[i].iov_len) skip -= iov[i++].iov_len;
  std::vector<iovec> v(iov + i, iov + n);
  if (!v.empty()) {
    v[0].iov_base = static_cast<char*>(v[0].iov_base) + skip;
    v[0].iov_len -= skip;
  }
  return v;
}

// total() sums the iovec lengths.
std::size_t total(const iovec* iov, std::size_t n) noexcept {
  std::size_t t = 0;
  for (std::size_t i = 0; i < n; ++i) t += iov[i].iov_len;
  return t;
}

// waitall() is true when flags ask MSG_WAITALL on a stream socket (where it
// means "fill the buffer"; elsewhere it has no effect).
bool waitall(int fd, int flags) noexcept {
  if (!(flags & MSG_WAITALL)) return false;
  int type = 0;
  socklen_t len = sizeof type;
  int saved = errno;
  bool stream = ::getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &len) == 0 && type == SOCK_STREAM;
  errno = saved;
  return stream;
}

// connect_done() finishes a connect in progress: EINPROGRESS while the
// socket is not writable yet, else the connection's result (SO_ERROR).
ssize_t connect_done(int fd) noexcept {
  pollfd p{fd, POLLOUT, 0};
  if (real::fns().poll(&p, 1, 0) == 0) {
    errno = EINPROGRESS;
    return -1;
  }
  int err = 0;
  socklen_t len = sizeof err;
  if (::getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0) return -1;
  if (err) {
    errno = err;
    return -1;
  }
  return 0;
}

ssize_t do_read(int fd, void* buf, size_t n) {
  return hooked_io(fd, io_event::readable, [&](std::size_t) { return real::fns().read(fd, buf, n); }, 0, EAGAIN, n);
}

// plain_ask() is hooked_io's `ask` for a receive with these flags: a peek
// or a MSG_WAITALL fill says nothing about the queue being empty.
std::size_t plain_ask(std::size_t n, int flags, bool fill) noexcept {
  return (flags & (MSG_PEEK | MSG_OOB)) || fill ? 0 : n;
}

ssize_t do_recv(int fd, void* buf, size_t n, int flags) {
  if (flags & MSG_DONTWAIT) return real::fns().recv(fd, buf, n, flags);
  bool fill = waitall(fd, flags);
  return hooked_io(
      fd, io_event::readable,
      [&](std::size_t done) { return real::fns().recv(fd, static_cast<char*>(buf) + done, n - done, flags); },
      fill ? n : 0, EAGAIN, plain_ask(n, flags, fill));
}

ssize_t do_recvfrom(int fd, void* buf, size_t n, int flags, sockaddr* addr, socklen_t* alen) {
  if (flags & MSG_DONTWAIT) return real::fns().recvfrom(fd, buf, n, flags, addr, alen);
  return hooked_io(
      fd, io_event::readable,
      [&](std::size_t done) {
        return real::fns().recvfrom(fd, static_cast<char*>(buf) + done, n - done, flags, addr, alen);
      },
      waitall(fd, flags) ? n : 0);
}

}  // namespace

WEFT_HOOK int connect(int fd, const sockaddr* addr, socklen_t len) {
  bool started = false;
  return static_cast<int>(hooked_io(
      fd, io_event::writable,
      [&](std::size_t) -> ssize_t {
        if (started) return connect_done(fd);
        started = true;
        return real::fns().connect(fd, addr, len);
      },
      0, EINPROGRESS));
}

WEFT_HOOK int accept4(int fd, sockaddr* addr, socklen_t* len, int flags) {
  bool fiber = weft::hooks::fiber_sched() != nullptr;
  int extra = fiber ? SOCK_NONBLOCK : 0;
  int r = static_cast<int>(hooked_io(fd, io_event::readable,
                                     [&](std::size_t) { return real::fns().accept4(fd, addr, len, flags | extra); }));
  if (r >= 0) {
    // The listener's entry is known here (accept4 went through prepare() on a fiber, or was learned).
    const weft::hooks::fd_entry* l = fds.peek(fd);
    bool stream = l && l->has(weft::hooks::fd_stream);
    fds.created(r, true, stream, flags & SOCK_NONBLOCK, fiber && !(flags & SOCK_NONBLOCK));
  }
  return r;
}

WEFT_HOOK int accept(int fd, sockaddr* addr, socklen_t* len) { return accept4(fd, addr, len, 0); }

WEFT_HOOK ssize_t read(int fd, void* buf, size_t n) {
  if (weft::hooks::passthrough(fd)) return real::fns().read(fd, buf, n);
  return do_read(fd, buf, n);
}

namespace {
// do_write() is write's blocking path, out of line so the passthrough stays lean.
[[gnu::noinline]] ssize_t do_write(int fd, const void* buf, size_t n) {
  return hooked_io(
      fd, io_event::writable,
      [&](std::size_t done) { return real::fns().write(fd, static_cast<const char*>(buf) + done, n - done); }, n);
}
}  // namespace

WEFT_HOOK ssize_t write(int fd, const void* buf, size_t n) {
  if (weft::hooks::passthrough(fd)) return real::fns().write(fd, buf, n);
  return do_write(fd, buf, n);
}

WEFT_HOOK ssize_t readv(int fd, const iovec* iov, int n) {
  return hooked_io(fd, io_event::readable, [&](std::size_t) { return real::fns().readv(fd, iov, n); }, 0, EAGAIN,
                   n > 0 ? total(iov, static_cast<std::size_t>(n)) : 0);
}

WEFT_HOOK ssize_t writev(int fd, const iovec* iov, int n) {
  std::size_t count = n > 0 ? static_cast<std::size_t>(n) : 0;
  return hooked_io(
      fd, io_event::writable,
      [&](std::size_t done) {
        if (done == 0) return real::fns().writev(fd, iov, n);
        std::vector<iovec> rest = advanced(iov, count, done);
        return real::fns().writev(fd, rest.data(), static_cast<int>(rest.size()));
      },
      total(iov, count));
}

WEFT_HOOK ssize_t recv(int fd, void* buf, size_t n, int flags) {
  if (weft::hooks::passthrough(fd)) return real::fns().recv(fd, buf, n, flags);
  return do_recv(fd, buf, n, flags);
}

namespace {
// do_send() is send's blocking path, out of line so the passthrough stays lean.
[[gnu::noinline]] ssize_t do_send(int fd, const void* buf, size_t n, int flags) {
  return hooked_io(
      fd, io_event::writable,
      [&](std::size_t done) { return real::fns().send(fd, static_cast<const char*>(buf) + done, n - done, flags); },
      n);
}
}  // namespace

WEFT_HOOK ssize_t send(int fd, const void* buf, size_t n, int flags) {
  if ((flags & MSG_DONTWAIT) || weft::hooks::passthrough(fd)) return real::fns().send(fd, buf, n, flags);
  return do_send(fd, buf, n, flags);
}

WEFT_HOOK ssize_t recvfrom(int fd, void* buf, size_t n, int flags, sockaddr* addr, socklen_t* alen) {
  return do_recvfrom(fd, buf, n, flags, addr, alen);
}

WEFT_HOOK ssize_t sendto(int fd, const void* buf, size_t n, int flags, const sockaddr* addr, socklen_t alen) {
  if (flags & MSG_DONTWAIT) return real::fns().sendto(fd, buf, n, flags, addr, alen);
  return hooked_io(
      fd, io_event::writable,
      [&](std::size_t done) {
        return real::fns().sendto(fd, static_cast<const char*>(buf) + done, n - done, flags, addr, alen);
      },
      n);
}

WEFT_HOOK ssize_t recvmsg(int fd, msghdr* msg, int flags) {
  if (flags & MSG_DONTWAIT) return real::fns().recvmsg(fd, msg, flags);
  return hooked_io(
      fd, io_event::readable,
      [&](std::size_t done) {
        if (done == 0) return real::fns().recvmsg(fd, msg, flags);
        // Later pieces of a MSG_WAITALL read: data only, into the rest of the buffers.
        std::vector<iovec> rest = advanced(msg->msg_iov, msg->msg_iovlen, done);
        msghdr m{};
        m.msg_iov = rest.data();
        m.msg_iovlen = rest.size();
        ssize_t r = real::fns().recvmsg(fd, &m, flags);
        if (r >= 0) msg->msg_flags |= m.msg_flags;
        return r;
      },
      waitall(fd, flags) ? total(msg->msg_iov, msg->msg_iovlen) : 0);
}

WEFT_HOOK ssize_t sendmsg(int fd, const msghdr* msg, int flags) {
  if (flags & MSG_DONTWAIT) return real::fns().sendmsg(fd, msg, flags);
  return hooked_io(
      fd, io_event::writable,
      [&](std::size_t done) {
        if (done == 0) return real::fns().sendmsg(fd, msg, flags);
        // The rest of a partly sent message: no ancillary data (it went with the first byte).
        std::vector<iovec> rest = advanced(msg->msg_iov, msg->msg_iovlen, done);
        msghdr m = *msg;
        m.msg_control = nullptr;
        m.msg_controllen = 0;
        m.msg_iov = rest.data();
        m.msg_iovlen = rest.size();
        return real::fns().sendmsg(fd, &m, flags);
      },
      total(msg->msg_iov, msg->msg_iovlen));
}

// _FORTIFY_SOURCE entry points: the size check stays libc's (it aborts).
WEFT_HOOK ssize_t __read_chk(int fd, void* buf, size_t n, size_t buflen) {
  if (n > buflen) return real::fns().read_chk(fd, buf, n, buflen);
  return do_read(fd, buf, n);
}

WEFT_HOOK ssize_t __recv_chk(int fd, void* buf, size_t n, size_t buflen, int flags) {
  if (n > buflen) return real::fns().recv_chk(fd, buf, n, buflen, flags);
  return do_recv(fd, buf, n, flags);
}

WEFT_HOOK ssize_t __recvfrom_chk(int fd, void* buf, size_t n, size_t buflen, int flags, sockaddr* addr,
                                 socklen_t* alen) {
  if (n > buflen) return real::fns().recvfrom_chk(fd, buf, n, buflen, flags, addr, alen);
  return do_recvfrom(fd, buf, n, flags, addr, alen);
}
