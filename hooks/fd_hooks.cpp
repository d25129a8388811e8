// hooks/fd_hooks.cpp — creating, closing, duplicating and configuring fds:
// socket, socketpair, pipe, pipe2, close, fclose, dup, dup2, dup3, fcntl,
// ioctl(FIONBIO), setsockopt(SO_RCVTIMEO/SO_SNDTIMEO).
//
// On a fiber, new sockets and pipes are created non-blocking for real; the
// user's O_NONBLOCK lives in the fd table and is what F_GETFL reports.
// close() first wakes every fiber of this thread's scheduler waiting on the
// fd (they see EBADF) and drops the poller's state for it.

// fcntl and fcntl64 are separate symbols; without this, <fcntl.h> renames
// fcntl to fcntl64 (meson builds with _FILE_OFFSET_BITS=64).
#undef _FILE_OFFSET_BITS
#include "hook_core.hpp"
#include "sched_registry.hpp"

#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <sys/ioctl.h>
#include <sys/resource.h>
#include <sys/socket.h>

#include <algorithm>

using weft::hooks::fd_entry;
using weft::hooks::fds;
namespace hk = weft::hooks;
namespace real = weft::hooks::real;

namespace {

// forget_waiters() wakes the fibers of every carrier waiting on fd with
// `closed` and drops the pollers' registrations, keeping errno.
void forget_waiters(int fd) noexcept { weft::detail::forget_fd(fd); }

// created_pair() records two fds made by socketpair/pipe/pipe2.
void created_pair(const int* fd, bool socket, bool stream, bool user_nb, bool real_nb) noexcept {
  fds.created(fd[0], socket, stream, user_nb, real_nb);
  fds.created(fd[1], socket, stream, user_nb, real_nb);
}

// stream_type() is whether a socket type (with its flags) is SOCK_STREAM.
bool stream_type(int type) noexcept { return (type & ~(SOCK_NONBLOCK | SOCK_CLOEXEC)) == SOCK_STREAM; }

// do_fcntl() is fcntl/fcntl64 with `next` the real one: F_GETFL shows the
// user's O_NONBLOCK, F_SETFL keeps the real fd non-blocking under a fiber's
// hooks, F_DUPFD(_CLOEXEC) copies the fd's state.
int do_fcntl(int (*next)(int, int, ...), int fd, int cmd, void* arg) {
  switch (cmd) {
    case F_GETFL: {
      int r = next(fd, cmd);
      fd_entry* e = fds.peek(fd);
      if (r >= 0 && e && e->has(hk::fd_real_nb))
        r = (r & ~O_NONBLOCK) | (e->has(hk::fd_user_nb) ? O_NONBLOCK : 0);
      return r;
    }
    case F_SETFL: {
      int fl = static_cast<int>(reinterpret_cast<intptr_t>(arg));
      fd_entry* e = fds.peek(fd);
      bool forced = e && e->has(hk::fd_real_nb);
      int r = next(fd, cmd, forced ? (fl | O_NONBLOCK) : fl);
      if (r == 0 && e && e->has(hk::fd_known)) e->set(hk::fd_user_nb, fl & O_NONBLOCK);
      return r;
    }
    case F_DUPFD:
    case F_DUPFD_CLOEXEC: {
      int r = next(fd, cmd, arg);
      if (r >= 0) fds.copy(fd, r);
      return r;
    }
    default:
      return next(fd, cmd, arg);
  }
}

// dup_onto() is dup2/dup3: a valid dup onto a different fd closes `to`
// first, which counts as a close for the fibers waiting on it.
template <class F>
int dup_onto(int from, int to, F&& dup) {
  if (from != to && real::fns().fcntl(from, F_GETFD) >= 0) forget_waiters(to);
  int r = dup();
  if (r >= 0 && from != to) fds.copy(from, to);
  return r;
}

}  // namespace

WEFT_HOOK int socket(int domain, int type, int proto) noexcept {
  bool fiber = hk::fiber_sched() != nullptr;
  int fd = real::fns().socket(domain, type | (fiber ? SOCK_NONBLOCK : 0), proto);
  if (fd >= 0) fds.created(fd, true, stream_type(type), type & SOCK_NONBLOCK, fiber && !(type & SOCK_NONBLOCK));
  return fd;
}

WEFT_HOOK int socketpair(int domain, int type, int proto, int sv[2]) noexcept {
  bool fiber = hk::fiber_sched() != nullptr;
  int r = real::fns().socketpair(domain, type | (fiber ? SOCK_NONBLOCK : 0), proto, sv);
  if (r == 0) created_pair(sv, true, stream_type(type), type & SOCK_NONBLOCK, fiber && !(type & SOCK_NONBLOCK));
  return r;
}

WEFT_HOOK int pipe2(int fd[2], int flags) noexcept {
  bool fiber = hk::fiber_sched() != nullptr;
  int r = real::fns().pipe2(fd, flags | (fiber ? O_NONBLOCK : 0));
  if (r == 0) created_pair(fd, false, true, flags & O_NONBLOCK, fiber && !(flags & O_NONBLOCK));
  return r;
}

WEFT_HOOK int pipe(int fd[2]) noexcept {
  if (!hk::fiber_sched()) {
    int r = real::fns().pipe(fd);
    if (r == 0) created_pair(fd, false, true, false, false);
    return r;
  }
  return pipe2(fd, 0);
}

WEFT_HOOK int close(int fd) {
  forget_waiters(fd);
  fds.forget(fd);
  return real::fns().close(fd);
}

// forget_range() is close() without the close for every fd in
// [first, last] that can be open (below RLIMIT_NOFILE).
static void forget_range(unsigned first, unsigned last) noexcept {
  rlimit rl{};
  unsigned cap = getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur < (1u << 30)
                     ? static_cast<unsigned>(rl.rlim_cur) - 1
                     : (1u << 20);
  for (unsigned fd = first; fd <= std::min(last, cap); ++fd) {
    forget_waiters(static_cast<int>(fd));
    fds.forget(static_cast<int>(fd));
  }
}

WEFT_HOOK int close_range(unsigned first, unsigned last, int flags) noexcept {
  if (!(flags & CLOSE_RANGE_CLOEXEC) && first <= last) forget_range(first, last);
  return real::fns().close_range(first, last, flags);
}

WEFT_HOOK void closefrom(int lowfd) noexcept {
  if (lowfd >= 0) forget_range(static_cast<unsigned>(lowfd), ~0u);
  real::fns().closefrom(lowfd);
}

WEFT_HOOK int fclose(FILE* f) {
  if (f) {
    int fd = fileno_unlocked(f);
    if (fd >= 0) {
      forget_waiters(fd);
      fds.forget(fd);
    }
  }
  return real::fns().fclose(f);
}

WEFT_HOOK int dup(int fd) noexcept {
  int r = real::fns().dup(fd);
  if (r >= 0) fds.copy(fd, r);
  return r;
}

WEFT_HOOK int dup2(int from, int to) noexcept {
  return dup_onto(from, to, [&] { return real::fns().dup2(from, to); });
}

WEFT_HOOK int dup3(int from, int to, int flags) noexcept {
  return dup_onto(from, to, [&] { return real::fns().dup3(from, to, flags); });
}

WEFT_HOOK int fcntl(int fd, int cmd, ...) {
  va_list ap;
  va_start(ap, cmd);
  void* arg = va_arg(ap, void*);
  va_end(ap);
  return do_fcntl(real::fns().fcntl, fd, cmd, arg);
}

WEFT_HOOK int fcntl64(int fd, int cmd, ...) {
  va_list ap;
  va_start(ap, cmd);
  void* arg = va_arg(ap, void*);
  va_end(ap);
  return do_fcntl(real::fns().fcntl64, fd, cmd, arg);
}

// ioctl(FIONBIO) sets the user's O_NONBLOCK view; while the hooks keep the
// real fd non-blocking, only the table changes.
WEFT_HOOK int ioctl(int fd, unsigned long req, ...) noexcept {
  va_list ap;
  va_start(ap, req);
  void* arg = va_arg(ap, void*);
  va_end(ap);
  if (req != FIONBIO) return real::fns().ioctl(fd, req, arg);
  fd_entry* e = fds.peek(fd);
  if (e && e->has(hk::fd_real_nb)) {
    if (real::fns().fcntl(fd, F_GETFD) < 0) return -1;  // EBADF, as ioctl would say
    e->set(hk::fd_user_nb, *static_cast<const int*>(arg) != 0);
    return 0;
  }
  int r = real::fns().ioctl(fd, req, arg);
  if (r == 0 && e && e->has(hk::fd_known)) e->set(hk::fd_user_nb, *static_cast<const int*>(arg) != 0);
  return r;
}

// setsockopt() records SO_RCVTIMEO / SO_SNDTIMEO as the kernel stored them.
WEFT_HOOK int setsockopt(int fd, int level, int name, const void* val, socklen_t len) noexcept {
  int r = real::fns().setsockopt(fd, level, name, val, len);
  if (r != 0 || level != SOL_SOCKET) return r;
  int dir;
  if (name == SO_RCVTIMEO) dir = 0;
  else if (name == SO_SNDTIMEO) dir = 1;
#ifdef SO_RCVTIMEO_NEW
  else if (name == SO_RCVTIMEO_NEW) dir = 0;
  else if (name == SO_SNDTIMEO_NEW) dir = 1;
#endif
  else return r;
  fd_entry* e = fds.peek(fd);
  if (!e || !e->has(hk::fd_known)) return r;  // learned from the kernel on first use
  timeval tv{};
  socklen_t tl = sizeof tv;
  if (::getsockopt(fd, SOL_SOCKET, dir == 0 ? SO_RCVTIMEO : SO_SNDTIMEO, &tv, &tl) == 0)
    e->timeo_ns[dir].store(std::int64_t(tv.tv_sec) * 1000000000 + std::int64_t(tv.tv_usec) * 1000,
                           std::memory_order_relaxed);
  return r;
}
