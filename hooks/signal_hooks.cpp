// hooks/signal_hooks.cpp — sigaction, signal, bsd_signal, sysv_signal and
// siginterrupt: every caught handler runs behind one trampoline, so that a
// signal ends a parked hooked call with EINTR exactly where the plain call
// would fail (runtime/signals.hpp decides which call that is).
//
// The kernel holds the trampoline (with SA_SIGINFO added, everything else —
// mask, SA_RESTART, SA_RESETHAND, SA_NODEFER, SA_ONSTACK — as the program
// asked); the program sees its own action: sigaction's old action is what
// it installed, as long as the kernel still holds the trampoline (after
// SA_RESETHAND fired it reports the kernel's SIG_DFL). These hooks act on
// every thread, fiber or not: dispositions are per process. Handlers set
// through raw syscalls bypass the trampoline and end no fiber's wait.
//
// sigaction is async-signal-safe, so installing allocates nothing: each
// signal has a small ring of action records; a record is reused only
// `ring` installations later.
#include "hook_core.hpp"
#include "options.hpp"

#include <signal.h>

#include <atomic>

namespace {

// real_sigaction() is libc's sigaction.
int real_sigaction(int sig, const struct sigaction* act, struct sigaction* old) {
  return WEFT_REAL(sigaction)(sig, act, old);
}

constexpr int ring = 8;

struct slots {
  struct sigaction rec[ring];
  std::atomic<unsigned> next{0};
};
slots g_slots[_NSIG];
std::atomic<const struct sigaction*> g_act[_NSIG];  // the program's action, if the trampoline holds it
sigset_t g_sigintr;                                 // siginterrupt(sig, 1) was called (signal() then omits SA_RESTART)

bool catches(const struct sigaction* a) noexcept {
  return (a->sa_flags & SA_SIGINFO) || (a->sa_handler != SIG_DFL && a->sa_handler != SIG_IGN);
}

// Handlers running on this thread: no safe point may yield inside one. (A
// handler that longjmps out leaves it raised: safe points then stay off on
// this thread, which costs fairness, not correctness.)
__attribute__((tls_model("initial-exec"))) constinit thread_local int tl_in_handler = 0;

// safe_point() is rt::safe_point() outside signal handlers.
void safe_point() noexcept {
  if (tl_in_handler == 0) weft::rt::safe_point();
}

// trampoline() runs the program's handler, then tells the runtime.
void trampoline(int sig, siginfo_t* info, void* uctx) {
  const struct sigaction* a = g_act[sig].load(std::memory_order_acquire);
  bool restart = false;
  if (a) {
    restart = a->sa_flags & SA_RESTART;
    ++tl_in_handler;
    if (a->sa_flags & SA_SIGINFO) a->sa_sigaction(sig, info, uctx);
    else a->sa_handler(sig);
    --tl_in_handler;
  }
  int saved = errno;
  weft::rt::signal_caught(sig, restart);
  errno = saved;
}

// do_sigaction() is sigaction with the trampoline in between.
int do_sigaction(int sig, const struct sigaction* act, struct sigaction* old) {
  // A vfork child shares the records with its parent: it changes only its
  // own kernel dispositions.
  if (sig <= 0 || sig >= _NSIG || !weft::hooks::signals_hooked() || weft::rt::in_vfork_child())
    return real_sigaction(sig, act, old);
  const struct sigaction* prev = g_act[sig].load(std::memory_order_acquire);
  struct sigaction kold;
  int r;
  if (act && catches(act)) {
    slots& s = g_slots[sig];
    struct sigaction* rec = &s.rec[s.next.fetch_add(1, std::memory_order_relaxed) % ring];
    *rec = *act;
    struct sigaction k = *act;
    k.sa_sigaction = trampoline;
    k.sa_flags |= SA_SIGINFO;
    g_act[sig].store(rec, std::memory_order_release);  // before the kernel can call it
    r = real_sigaction(sig, &k, &kold);
    if (r != 0) g_act[sig].store(prev, std::memory_order_release);
  } else {
    r = real_sigaction(sig, act, &kold);
    if (r == 0 && act) g_act[sig].store(nullptr, std::memory_order_release);
  }
  if (r == 0 && old) {
    if (kold.sa_sigaction == trampoline && prev) *old = *prev;
    else *old = kold;
  }
  return r;
}

// install() is signal()/sysv_signal(): handler h with `flags`, sig itself
// blocked unless SA_NODEFER; returns the old handler or SIG_ERR.
sighandler_t install(int sig, sighandler_t h, int flags) {
  struct sigaction a{}, old{};
  a.sa_handler = h;
  sigemptyset(&a.sa_mask);
  if (!(flags & SA_NODEFER) && sig > 0 && sig < _NSIG) sigaddset(&a.sa_mask, sig);
  a.sa_flags = flags;
  if (h == SIG_ERR || do_sigaction(sig, &a, &old) < 0) {
    errno = EINVAL;
    return SIG_ERR;
  }
  return old.sa_handler;
}

// bsd_flags() is glibc's signal(): SA_RESTART unless siginterrupt(sig, 1).
int bsd_flags(int sig) noexcept {
  return sig > 0 && sig < _NSIG && sigismember(&g_sigintr, sig) == 1 ? 0 : SA_RESTART;
}

}  // namespace

// sigaction and raise are safe points (rt::safe_point): a loop that calls
// them on one thread cannot keep the carrier's other threads from running.
WEFT_HOOK int sigaction(int sig, const struct sigaction* act, struct sigaction* old) {
  safe_point();
  return do_sigaction(sig, act, old);
}

WEFT_HOOK int raise(int sig) {
  safe_point();
  return WEFT_REAL(raise)(sig);
}

WEFT_HOOK sighandler_t signal(int sig, sighandler_t h) { return install(sig, h, bsd_flags(sig)); }

WEFT_HOOK sighandler_t bsd_signal(int sig, sighandler_t h) { return install(sig, h, bsd_flags(sig)); }

// sysv_signal: one-shot, not blocked in its own handler, no restart.
WEFT_HOOK sighandler_t sysv_signal(int sig, sighandler_t h) { return install(sig, h, SA_RESETHAND | SA_NODEFER); }

WEFT_HOOK sighandler_t __sysv_signal(int sig, sighandler_t h) { return install(sig, h, SA_RESETHAND | SA_NODEFER); }

WEFT_HOOK int siginterrupt(int sig, int flag) {
  if (!weft::hooks::signals_hooked() || weft::rt::in_vfork_child()) return WEFT_REAL_AS(int (*)(int, int), "siginterrupt")(sig, flag);
  struct sigaction a;
  if (do_sigaction(sig, nullptr, &a) < 0) return -1;
  if (flag) {
    sigaddset(&g_sigintr, sig);
    a.sa_flags &= ~SA_RESTART;
  } else {
    sigdelset(&g_sigintr, sig);
    a.sa_flags |= SA_RESTART;
  }
  return do_sigaction(sig, &a, nullptr);
}
