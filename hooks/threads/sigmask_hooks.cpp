// hooks/threads/sigmask_hooks.cpp — each thread fiber has its own signal
// mask, as each thread has: pthread_sigmask and sigprocmask.
//
// Preload mode with WEFT_THREADS=fibers. On a thread fiber (one that
// pthread_create made) the calls read and change a mask kept in the
// thread's record; the carrier's kernel mask is left alone, since the other
// fibers of the carrier would otherwise share every change (faulthandler's
// watchdog thread blocks all signals for itself, and the main thread would
// then start its children with everything blocked). A new thread starts
// with its creator's mask. The main fiber and plain threads use the
// kernel's mask, which on the run() thread is the main thread's.
//
// What the kernel mask decides stays the carrier's: a signal a thread fiber
// blocks can still run its handler on the carrier (in whatever fiber runs),
// and sigwait in a thread fiber needs the signal blocked in the main thread
// too (as with real threads, where any thread not blocking it would take
// it). Where a mask is inherited — fork, vfork, posix_spawn, system, popen
// — the child gets the calling thread's own mask (rt::exec_sigmask asks
// this file's provider).
#include "thread_rec.hpp"

#include <cerrno>

namespace rt = weft::rt;
namespace weft::hooks::threads {
namespace {

// own_mask() is the provider rt::exec_sigmask asks: the running thread
// fiber's mask.
bool own_mask(sigset_t* m) noexcept {
  thread_rec* r = self_rec();
  if (!r) return false;
  *m = r->mask;
  return true;
}

// change() applies how/set to the thread fiber's mask, as the kernel does
// (SIGKILL and SIGSTOP cannot be blocked); 0 or EINVAL.
int change(thread_rec* r, int how, const sigset_t* set, sigset_t* old) noexcept {
  sigset_t cur = r->mask;
  if (set) {
    sigset_t next = cur;
    if (how == SIG_BLOCK) sigorset(&next, &cur, set);
    else if (how == SIG_UNBLOCK) {
      for (int sig = 1; sig < NSIG; ++sig)
        if (sigismember(set, sig) == 1) sigdelset(&next, sig);
    } else if (how == SIG_SETMASK) next = *set;
    else return EINVAL;
    sigdelset(&next, SIGKILL);
    sigdelset(&next, SIGSTOP);
    r->mask = next;
  }
  if (old) *old = cur;
  return 0;
}

// own_thread() is the calling thread fiber's record.
thread_rec* own_thread() noexcept { return fibers_mode() ? self_rec() : nullptr; }

}  // namespace

void caller_sigmask(sigset_t* m) noexcept {
  static const bool installed = (rt::set_sigmask_provider(&own_mask), true);  // the first thread fiber is near
  (void)installed;
  if (thread_rec* r = self_rec()) *m = r->mask;
  else rt::real_sigmask(m);
}

}  // namespace weft::hooks::threads

using namespace weft::hooks::threads;

WEFT_HOOK int pthread_sigmask(int how, const sigset_t* set, sigset_t* old) {
  thread_rec* r = own_thread();
  if (!r || rt::in_vfork_child()) return WEFT_REAL(pthread_sigmask)(how, set, old);
  return change(r, how, set, old);
}

WEFT_HOOK int sigprocmask(int how, const sigset_t* set, sigset_t* old) {
  thread_rec* r = own_thread();
  if (!r || rt::in_vfork_child()) return WEFT_REAL(sigprocmask)(how, set, old);
  int e = change(r, how, set, old);
  if (e == 0) return 0;
  errno = e;
  return -1;
}
