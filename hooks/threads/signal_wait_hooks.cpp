// hooks/threads/signal_wait_hooks.cpp — waiting for signals parks the
// fiber, not the carrier: sigwait/sigwaitinfo/sigtimedwait, pause and
// sigsuspend. Preload mode, on a fiber (any --threads mode); elsewhere
// they pass through. (Waits for children: hooks/wait_hooks.cpp.) A signal wait
// parks on a signalfd for the set (the signals are blocked, as sigwait
// requires) and takes the signal with a zero-timeout sigtimedwait, so what
// it returns is exactly libc's answer. pause() and sigsuspend() park until
// a caught signal ends the wait (runtime/signals.hpp says which fiber's
// wait a signal ends: the root fiber's, or a pthread_kill target's).
#include "common.hpp"

#include <signal.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>

namespace rt = weft::rt;
namespace wd = weft::detail;
using namespace weft::hooks::threads;

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
    (void)rt::park_fd(sfd, weft::io_event::readable, deadline);
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
    wd::wake w = rt::park_until(wd::no_deadline, mask);
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
