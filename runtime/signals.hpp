// runtime/signals.hpp — caught signals end parked hooked calls with EINTR.
//
// Design notes
//  1. The hooks put every caught handler behind one trampoline
//     (hooks/signal_hooks.cpp). After the program's handler returns, the
//     trampoline calls signal_caught() on the thread that took the signal.
//  2. On a carrier, signal_caught() decides at once, as the kernel does for
//     a thread, which parked hooked call the signal ends, if any:
//       a. a fiber parked in ppoll/pselect/epoll_pwait whose mask lets the
//          signal through (the carrier's poller waits with those masks
//          applied, which is how such a signal gets delivered at all);
//       b. else the root fiber (weft::run's function; a program's main under
//          weft-run) if it is parked in a hooked call the signal ends:
//          sig_mode::always, or sig_mode::restartable and no SA_RESTART.
//     Other fibers' calls go on, as other threads' calls go on when one
//     thread takes a process-directed signal. The choice is recorded with
//     plain stores to this thread's own data (async-signal-safe); the
//     scheduler claims the wait with wake::interrupted at its next
//     maintenance (within 61 switches, or at once if it was idle).
//  3. Carriers other than worker 0 block asynchronous signals (os_thread.hpp),
//     so process-directed signals reach the run() thread.
//  4. signal_caught() also counts the signal for weft::signal_channel and
//     weft::on_signal receivers (signal_notify.hpp), whose handler may have
//     been replaced by the program's own through the hooks.
//  5. On a plain thread the kernel interrupts the real call itself;
//     signal_caught() bumps a thread-local count that the runtime's blocking
//     fallback (thread_wait_fd's ppoll) reads to tell whether an EINTR came
//     from a handler without SA_RESTART.
#pragma once
#include <signal.h>

#include <atomic>
#include <cstdint>

namespace weft::detail {

class scheduler;
struct fiber_ctl;

// signal_caught() records that `sig` was caught on the calling thread;
// `restart` is the handler's SA_RESTART. Signal handlers only (the hooks'
// trampoline); async-signal-safe.
void signal_caught(int sig, bool restart) noexcept;

// kill_fiber() is pthread_kill aimed at fiber f (weft-run's threads as
// fibers): it sends sig to f's carrier and makes f's parked hooked call, if
// the signal ends it, the one that fails with EINTR; if f is not parked in
// such a call, no call fails (a thread running user code takes the signal
// in its handler only). Any thread; f must be alive. Returns pthread_kill's
// error number.
int kill_fiber(fiber_ctl* f, int sig) noexcept;

// runtime_sigaction() is libc's sigaction, past the hooks' trampoline: for
// the runtime's own handlers (overflow report, dump signal, blocking
// monitor), which must never end a program's call with EINTR. Any thread.
int runtime_sigaction(int sig, const struct sigaction* act, struct sigaction* old) noexcept;

// caught_norestart() counts, on the calling thread, caught signals whose
// handler lacked SA_RESTART. Any thread.
std::uint32_t caught_norestart() noexcept;

// Up to this many fibers per carrier can be parked with a signal mask of
// their own; more simply keep the carrier's mask while parked.
constexpr int max_mask_waiters = 8;

// The per-scheduler record of signal targets. Owned by the scheduler;
// written by its thread and by signal_caught() on that thread.
struct signal_state {
  fiber_ctl* root = nullptr;                          // run()'s root fiber while alive
  fiber_ctl* volatile mask_waiters[max_mask_waiters] = {};  // parked with a sigmask
  volatile sig_atomic_t hit = 0;                      // some fiber's sig_hit is set
  std::atomic<fiber_ctl*> directed{nullptr};          // kill_fiber()'s target, until its signal is caught
  std::atomic<int> directed_sig{0};
  fiber_ctl* volatile directed_hit = nullptr;         // kill_fiber()'s target whose wait the signal ends, until delivered

  // add_mask_waiter()/remove_mask_waiter(): scheduler thread, around a park.
  bool add_mask_waiter(fiber_ctl* f) noexcept;
  void remove_mask_waiter(fiber_ctl* f) noexcept;
  // any_mask_waiter() is true while some fiber is parked with a mask.
  bool any_mask_waiter() const noexcept;
  // poll_mask() is the mask the carrier's poller should wait with: the
  // thread's mask minus every signal some mask waiter lets through; nullptr
  // when nobody is parked with a mask. Scheduler thread.
  const sigset_t* poll_mask(sigset_t* buf) const noexcept;
  // forget_all_but() drops every record but f's, which becomes the root
  // when non-null (fork()ed child keeping only the forking fiber).
  void forget_all_but(fiber_ctl* f) noexcept;
  // deliver() ends the waits signal_caught() marked. Scheduler thread.
  void deliver(scheduler& s) noexcept;
};

}  // namespace weft::detail
