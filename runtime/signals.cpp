// runtime/signals.cpp — see signals.hpp.
#include "signals.hpp"

#include "libc_next.hpp"
#include "os_thread.hpp"
#include "scheduler.hpp"
#include "signal_notify.hpp"

#include <pthread.h>
#include <sched.h>

namespace weft::detail {
namespace {

__attribute__((tls_model("initial-exec"))) constinit thread_local std::uint32_t tl_norestart = 0;

// ends() is whether a caught signal ends f's current wait, judged now.
bool ends(const fiber_ctl* f, int sig, bool restart) noexcept {
  if (f->state != fiber_state::parked || !f->cur_waiter) return false;
  if (f->wait_sigmask) return !sigismember(static_cast<const sigset_t*>(f->wait_sigmask), sig);
  return f->sig == sig_mode::always || (f->sig == sig_mode::restartable && !restart);
}

}  // namespace

void signal_caught(int sig, bool restart) noexcept {
  note_caught(sig);  // signal_channel / on_signal receivers
  if (!restart) ++tl_norestart;
  scheduler* s = tl_sched;
  if (!s) return;
  signal_state& st = s->signals();
  fiber_ctl* target = nullptr;
  if (fiber_ctl* d = st.directed.load(std::memory_order_acquire); d && st.directed_sig.load() == sig) {
    st.directed.store(nullptr, std::memory_order_relaxed);  // the signal kill_fiber() sent
    if (!ends(d, sig, restart)) return;
    target = d;
    st.directed_hit = d;  // deliver() visits it: it is neither root nor a mask waiter
  }
  for (fiber_ctl* f : st.mask_waiters)
    if (!target && f && ends(f, sig, restart)) {
      target = f;
      break;
    }
  if (!target && st.root && ends(st.root, sig, restart)) target = st.root;
  if (!target) return;
  target->sig_hit = true;
  st.hit = 1;
}

std::uint32_t caught_norestart() noexcept { return tl_norestart; }

int runtime_sigaction(int sig, const struct sigaction* act, struct sigaction* old) noexcept {
  static const auto real = libc_fn<int (*)(int, const struct sigaction*, struct sigaction*)>("sigaction");
  return real(sig, act, old);
}

int kill_fiber(fiber_ctl* f, int sig) noexcept {
  static const auto real_kill = libc_fn<int (*)(pthread_t, int)>("pthread_kill");
  scheduler* s;
  // A thread that has not started yet has no carrier: wait until it has one.
  while (!(s = std::atomic_ref<scheduler*>(f->sched).load(std::memory_order_acquire))) {
    scheduler* me = scheduler::current();
    if (me && !me->running()->is_main_ctx) me->yield();  // it may sit in this carrier's spawn queue
    else sched_yield();
  }
  if (sig == 0) return real_kill(s->thread(), 0);
  signal_state& st = s->signals();
  st.directed_sig.store(sig, std::memory_order_relaxed);
  st.directed.store(f, std::memory_order_release);
  return real_kill(s->thread(), sig);
}

bool signal_state::add_mask_waiter(fiber_ctl* f) noexcept {
  for (auto& slot : mask_waiters)
    if (!slot) {
      slot = f;
      return true;
    }
  return false;
}

void signal_state::remove_mask_waiter(fiber_ctl* f) noexcept {
  for (auto& slot : mask_waiters)
    if (slot == f) slot = nullptr;
}

bool signal_state::any_mask_waiter() const noexcept {
  for (fiber_ctl* f : mask_waiters)
    if (f) return true;
  return false;
}

const sigset_t* signal_state::poll_mask(sigset_t* buf) const noexcept {
  if (!any_mask_waiter()) return nullptr;
  thread_sigmask(SIG_BLOCK, nullptr, buf);
  for (fiber_ctl* f : mask_waiters)
    if (f) sigandset(buf, buf, static_cast<const sigset_t*>(f->wait_sigmask));
  return buf;
}

void signal_state::forget_all_but(fiber_ctl* f) noexcept {
  for (auto& slot : mask_waiters) slot = nullptr;
  hit = 0;
  directed.store(nullptr, std::memory_order_relaxed);
  directed_hit = nullptr;
  if (f) root = f;
}

void signal_state::deliver(scheduler& s) noexcept {
  hit = 0;
  auto fire = [&](fiber_ctl* f) {
    if (!f || !f->sig_hit) return;
    f->sig_hit = false;
    if (f->state == fiber_state::parked && f->cur_waiter && claim(*f->cur_waiter, wake::interrupted)) s.ready(f);
  };
  for (fiber_ctl* f : mask_waiters) fire(f);
  fire(root);
  fiber_ctl* d = directed_hit;
  directed_hit = nullptr;
  fire(d);
}

}  // namespace weft::detail
