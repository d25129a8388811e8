// hooks/threads/wait_hooks.cpp — waiting for children and signals parks
// the fiber, not the carrier: wait/waitpid/wait4, sigwait/sigwaitinfo/
// sigtimedwait. Preload mode, on a fiber (any --threads mode); elsewhere
// they pass through.
//
// A wait for one child (pid > 0) parks on a pidfd (pidfd_open, Linux 5.3),
// readable when the child ends; then the real call with WNOHANG reaps it.
// A wait for any child (pid <= 0) has no fd to watch: it retries the
// WNOHANG call with a backoff from 1 ms to 10 ms (docs/porting.md). With
// WUNTRACED/WCONTINUED (stop and continue events make no pidfd readable)
// the same backoff is used. A caught signal whose handler lacks SA_RESTART
// ends a pidfd wait with EINTR, as it ends the real call. A signal wait
// parks on a signalfd for the set (the signals are blocked, as sigwait
// requires) and takes the signal with a zero-timeout sigtimedwait, so what
// it returns is exactly libc's answer. pause() and sigsuspend() park until
// a caught signal ends the wait (runtime/signals.hpp says which fiber's
// wait a signal ends: the root fiber's, or a pthread_kill target's).
#include "common.hpp"
#include "hook_core.hpp"

#include <signal.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>

namespace weft::hooks::threads {
namespace {

// reap() runs try_once() (the real call with WNOHANG) until it reports a
// child or an error, parking between tries. Fiber only.
template <class F>
pid_t reap(pid_t pid, int options, F&& try_once) {
  int fd = -1;
  if (pid > 0 && !(options & (WUNTRACED | WCONTINUED))) fd = static_cast<int>(::syscall(SYS_pidfd_open, pid, 0));
  ns_t backoff = 1000000;
  for (;;) {
    pid_t r = try_once();
    if (r != 0) {
      if (fd >= 0) {
        int e = errno;
        ::close(fd);
        errno = e;
      }
      return r;
    }
    if (fd >= 0) {
      if (park_fd(fd, io_event::readable, detail::no_deadline, sig_mode::restartable) == detail::wake::interrupted) {
        ::close(fd);
        errno = EINTR;
        return -1;
      }
    } else {
      (void)park_until(detail::now_ns() + backoff);
      if (backoff < 10000000) backoff *= 2;
    }
  }
}

}  // namespace
}  // namespace weft::hooks::threads

using namespace weft::hooks::threads;
namespace wd = weft::detail;

WEFT_HOOK pid_t wait4(pid_t pid, int* status, int options, struct rusage* ru) {
  if ((options & WNOHANG) || !current_fiber()) return WEFT_REAL(wait4)(pid, status, options, ru);
  return reap(pid, options, [&] { return WEFT_REAL(wait4)(pid, status, options | WNOHANG, ru); });
}

WEFT_HOOK pid_t waitpid(pid_t pid, int* status, int options) {
  if ((options & WNOHANG) || !current_fiber()) return WEFT_REAL(waitpid)(pid, status, options);
  return reap(pid, options, [&] { return WEFT_REAL(waitpid)(pid, status, options | WNOHANG); });
}

WEFT_HOOK pid_t wait(int* status) {
  if (!current_fiber()) return WEFT_REAL(wait)(status);
  return reap(-1, 0, [&] { return WEFT_REAL(waitpid)(-1, status, WNOHANG); });
}

WEFT_HOOK int sigtimedwait(const sigset_t* set, siginfo_t* info, const timespec* timeout) {
  if (!current_fiber()) return WEFT_REAL(sigtimedwait)(set, info, timeout);
  static const timespec zero{0, 0};
  ns_t deadline = wd::no_deadline;
  if (timeout) {
    if (timeout->tv_sec < 0 || timeout->tv_nsec < 0 || timeout->tv_nsec >= 1000000000) {
      errno = EINVAL;
      return -1;
    }
    deadline = wd::now_ns() + timeout->tv_sec * 1000000000 + timeout->tv_nsec;
  }
  int sfd = -1;
  for (;;) {
    int r = WEFT_REAL(sigtimedwait)(set, info, &zero);
    if (r > 0 || errno != EAGAIN || (deadline != wd::no_deadline && wd::now_ns() >= deadline)) {
      if (sfd >= 0) {
        int e = errno;
        ::close(sfd);
        errno = e;
      }
      return r;
    }
    if (sfd < 0) sfd = signalfd(-1, set, SFD_NONBLOCK | SFD_CLOEXEC);
    if (sfd < 0) return WEFT_REAL(sigtimedwait)(set, info, timeout);  // no fd: block the carrier
    (void)weft::hooks::park_fd(sfd, weft::io_event::readable, deadline);
  }
}

WEFT_HOOK int sigwaitinfo(const sigset_t* set, siginfo_t* info) {
  if (!current_fiber()) return WEFT_REAL(sigwaitinfo)(set, info);
  return sigtimedwait(set, info, nullptr);
}

WEFT_HOOK int sigwait(const sigset_t* set, int* sig) {
  if (!current_fiber()) return WEFT_REAL(sigwait)(set, sig);
  int r;
  do r = sigtimedwait(set, nullptr, nullptr);
  while (r < 0 && errno == EINTR);
  if (r < 0) return errno;
  *sig = r;
  return 0;
}

// pause_until_signal() parks until a caught signal ends the wait (with
// `mask` as the signal mask while parked, if given); -1 with EINTR, or
// ECANCELED for a cancelled fiber. Fiber only.
static int pause_until_signal(const sigset_t* mask) {
  for (;;) {
    wd::wake w = weft::hooks::park_until(wd::no_deadline, mask);
    if (w == wd::wake::interrupted || w == wd::wake::cancelled) {
      errno = w == wd::wake::interrupted ? EINTR : ECANCELED;
      return -1;
    }
  }
}

WEFT_HOOK int pause() {
  if (!current_fiber()) return WEFT_REAL(pause)();
  return pause_until_signal(nullptr);
}

WEFT_HOOK int sigsuspend(const sigset_t* mask) {
  if (!current_fiber()) return WEFT_REAL(sigsuspend)(mask);
  return pause_until_signal(mask);
}
