// hooks/fd_hooks.cpp — creating, closing, duplicating and configuring fds:
// socket, socketpair, pipe, pipe2, close, close_range, closefrom, fclose,
// dup, dup2, dup3, fcntl, ioctl(FIONBIO), setsockopt(SO_RCVTIMEO/SNDTIMEO).
//
// Every call is libc's own, on every thread: the hooks never change a file
// description's flags. They only keep the runtime's fd registry right:
// what a new fd is (so its first use needs no learning), that a closed or
// replaced fd's waiters wake with EBADF on every carrier and nothing stays
// registered for a later file under the number, and that O_NONBLOCK or a
// socket timeout changed (read again at the next use).

// fcntl and fcntl64 are separate symbols; without this, <fcntl.h> renames
// fcntl to fcntl64 (meson builds with _FILE_OFFSET_BITS=64).
#undef _FILE_OFFSET_BITS
#include "hook_core.hpp"

#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <sys/ioctl.h>
#include <sys/resource.h>
#include <sys/socket.h>

#include <algorithm>

namespace rt = weft::rt;

namespace {

// base_type() is a socket type without its flags.
int base_type(int type) noexcept { return type & ~(SOCK_NONBLOCK | SOCK_CLOEXEC); }

// created_pair() records the two fds of socketpair.
void created_pair(const int* fd, rt::fd_kind kind, bool stream, bool nonblock, bool seqpacket) noexcept {
  rt::fd_created(fd[0], kind, stream, nonblock, seqpacket);
  rt::fd_created(fd[1], kind, stream, nonblock, seqpacket);
}

// do_fcntl() is fcntl/fcntl64 with `next` the real one: F_SETFL may change
// O_NONBLOCK, F_DUPFD(_CLOEXEC) makes a copy.
int do_fcntl(int (*next)(int, int, ...), int fd, int cmd, void* arg) {
  int r = next(fd, cmd, arg);
  if (r < 0) return r;
  if (cmd == F_SETFL) rt::flags_changed();
  else if (cmd == F_DUPFD || cmd == F_DUPFD_CLOEXEC) rt::fd_copied(fd, r);
  return r;
}

// dup_onto() is dup2/dup3: a valid dup onto a different fd closes `to`
// first, which counts as a close for the fibers waiting on it. weft's own
// fds are not given up: EBUSY, as for a number the kernel is busy with.
template <class F>
int dup_onto(int from, int to, F&& dup) {
  if (from != to && rt::weft_fd(to) && !rt::in_vfork_child()) {
    errno = EBUSY;
    return -1;
  }
  if (from != to && WEFT_REAL(fcntl)(from, F_GETFD) >= 0) rt::fd_closing(to);
  int r = dup();
  if (r >= 0 && from != to) rt::fd_copied(from, to);
  return r;
}

// closing_range() is fd_closing() for every fd in [first, last] that can be
// open (below RLIMIT_NOFILE).
void closing_range(unsigned first, unsigned last) noexcept {
  if (rt::in_vfork_child()) return;
  rlimit rl{};
  unsigned cap = getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur < (1u << 30)
                     ? static_cast<unsigned>(rl.rlim_cur) - 1
                     : (1u << 20);
  for (unsigned fd = first; fd <= std::min(last, cap); ++fd) rt::fd_closing(static_cast<int>(fd));
}

// around_weft_fds() calls close(a, b) for the parts of [first, last] that
// hold no fd of weft's own; returns the first failure, else 0. (A vfork
// child closes everything: it is about to exec, and its fd table is its own.)
template <class Close>
int around_weft_fds(unsigned first, unsigned last, Close&& close) {
  int own[256];
  std::size_t n = rt::in_vfork_child() ? 0 : std::min<std::size_t>(rt::weft_fds(own, 256), 256);
  int r = 0;
  std::uint64_t from = first;  // 64 bits: last may be ~0u
  for (std::size_t i = 0; i <= n && from <= last; ++i) {
    std::uint64_t end = i < n ? static_cast<std::uint64_t>(own[i]) : std::uint64_t(last) + 1;
    if (end < from) continue;
    if (end > from) {
      int k = close(static_cast<unsigned>(from), static_cast<unsigned>(std::min<std::uint64_t>(last, end - 1)));
      if (k != 0 && r == 0) r = k;
    }
    from = end + 1;
  }
  return r;
}

}  // namespace

WEFT_HOOK int socket(int domain, int type, int proto) noexcept {
  int fd = WEFT_REAL(socket)(domain, type, proto);
  if (fd >= 0)
    rt::fd_created(fd, rt::fd_kind::socket, base_type(type) == SOCK_STREAM, type & SOCK_NONBLOCK,
                   base_type(type) == SOCK_SEQPACKET);
  return fd;
}

WEFT_HOOK int socketpair(int domain, int type, int proto, int sv[2]) noexcept {
  int r = WEFT_REAL(socketpair)(domain, type, proto, sv);
  if (r == 0)
    created_pair(sv, rt::fd_kind::socket, base_type(type) == SOCK_STREAM, type & SOCK_NONBLOCK,
                 base_type(type) == SOCK_SEQPACKET);
  return r;
}

// Pipes are learned at their first wait instead of recorded here: runtimes
// and libraries make short-lived pipes (the sanitizers' memory checks) and
// close them with raw syscalls, which would leave their facts behind for
// the next file under the number. Nothing is known of the new numbers.
WEFT_HOOK int pipe2(int fd[2], int flags) noexcept {
  int r = WEFT_REAL(pipe2)(fd, flags);
  if (r == 0) rt::fd_forgotten(fd[0]), rt::fd_forgotten(fd[1]);
  return r;
}

WEFT_HOOK int pipe(int fd[2]) noexcept {
  int r = WEFT_REAL(pipe)(fd);
  if (r == 0) rt::fd_forgotten(fd[0]), rt::fd_forgotten(fd[1]);
  return r;
}

// close() of one of weft's own fds leaves it open and reports success: the
// program never had it (fd_registry.hpp note 6).
WEFT_HOOK int close(int fd) {
  if (rt::weft_fd(fd) && !rt::in_vfork_child()) return 0;
  rt::fd_closing(fd);
  return WEFT_REAL(close)(fd);
}

WEFT_HOOK int close_range(unsigned first, unsigned last, int flags) noexcept {
  if (first > last) return WEFT_REAL(close_range)(first, last, flags);
  if (!(flags & CLOSE_RANGE_CLOEXEC)) closing_range(first, last);
  return around_weft_fds(first, last, [&](unsigned a, unsigned b) { return WEFT_REAL(close_range)(a, b, flags); });
}

WEFT_HOOK void closefrom(int lowfd) noexcept {
  if (lowfd < 0) return WEFT_REAL(closefrom)(lowfd);
  closing_range(static_cast<unsigned>(lowfd), ~0u);
  around_weft_fds(static_cast<unsigned>(lowfd), ~0u, [](unsigned a, unsigned b) {
    if (b == ~0u) WEFT_REAL(closefrom)(static_cast<int>(a));
    else WEFT_REAL(close_range)(a, b, 0);
    return 0;
  });
}

WEFT_HOOK int fclose(FILE* f) {
  if (f) {
    int fd = fileno_unlocked(f);
    if (fd >= 0) rt::fd_closing(fd);
  }
  return WEFT_REAL(fclose)(f);
}

WEFT_HOOK int dup(int fd) noexcept {
  int r = WEFT_REAL(dup)(fd);
  if (r >= 0) rt::fd_copied(fd, r);
  return r;
}

WEFT_HOOK int dup2(int from, int to) noexcept {
  return dup_onto(from, to, [&] { return WEFT_REAL(dup2)(from, to); });
}

WEFT_HOOK int dup3(int from, int to, int flags) noexcept {
  return dup_onto(from, to, [&] { return WEFT_REAL(dup3)(from, to, flags); });
}

WEFT_HOOK int fcntl(int fd, int cmd, ...) {
  va_list ap;
  va_start(ap, cmd);
  void* arg = va_arg(ap, void*);
  va_end(ap);
  return do_fcntl(WEFT_REAL(fcntl), fd, cmd, arg);
}

WEFT_HOOK int fcntl64(int fd, int cmd, ...) {
  va_list ap;
  va_start(ap, cmd);
  void* arg = va_arg(ap, void*);
  va_end(ap);
  return do_fcntl(WEFT_REAL_AS(int (*)(int, int, ...), "fcntl64"), fd, cmd, arg);
}

// ioctl(FIONBIO) sets O_NONBLOCK on the description.
WEFT_HOOK int ioctl(int fd, unsigned long req, ...) noexcept {
  va_list ap;
  va_start(ap, req);
  void* arg = va_arg(ap, void*);
  va_end(ap);
  int r = WEFT_REAL(ioctl)(fd, req, arg);
  if (r == 0 && req == FIONBIO) rt::flags_changed();
  return r;
}

// setsockopt() of SO_RCVTIMEO / SO_SNDTIMEO changes how long the hooks wait.
WEFT_HOOK int setsockopt(int fd, int level, int name, const void* val, socklen_t len) noexcept {
  int r = WEFT_REAL(setsockopt)(fd, level, name, val, len);
  if (r != 0 || level != SOL_SOCKET) return r;
  bool timeo = name == SO_RCVTIMEO || name == SO_SNDTIMEO;
#ifdef SO_RCVTIMEO_NEW
  timeo = timeo || name == SO_RCVTIMEO_NEW || name == SO_SNDTIMEO_NEW;
#endif
  if (timeo) rt::flags_changed();
  return r;
}
