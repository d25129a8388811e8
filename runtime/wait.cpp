// runtime/wait.cpp — block / claim / wake_up for fibers and plain threads.
//
// A fiber blocks by arming its deadline in the scheduler's timer heap and
// parking; a plain thread blocks on a futex in its thread_ctx; a foreign
// fiber hosted by a weft fiber parks through its library's ops
// (weft/detail/foreign.hpp), which current_ctx() names while its host
// runs. All first check, with the primitive's lock still held, whether the
// wait is already over: a pending cancel or an expired scope deadline
// "self-claims" the waiter, so the caller returns without parking. See weft/detail/wait.hpp
// for the claim protocol.
#include "loop_guard.hpp"
#include "scheduler.hpp"

#include <weft/errors.hpp>

#include <linux/futex.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <ctime>
#include <exception>

namespace weft::detail {
namespace {

__attribute__((tls_model("initial-exec"))) constinit thread_local thread_ctx tl_thread{};

long futex(std::atomic<std::uint32_t>* addr, int op, std::uint32_t val, const timespec* ts) noexcept {
  return syscall(SYS_futex, reinterpret_cast<std::uint32_t*>(addr), op, val, ts, nullptr, 0);
}

// effective() picks the deadline that applies and whether it is the scope's.
ns_t effective(const wait_ctx* c, const wait_opts& o, bool intr, bool* scope) noexcept {
  *scope = intr && c->scope_deadline < o.deadline;
  return *scope ? c->scope_deadline : o.deadline;
}

// self_claim() ends the wait before parking if it is already over.
bool self_claim(waiter& w, wait_ctx* c, bool intr, ns_t dl, bool scope) noexcept {
  if (intr && c->cancel_requested.load(std::memory_order_relaxed)) return claim(w, wake::cancelled);
  if (dl != no_deadline && dl <= now_ns()) return claim(w, scope ? wake::scope_timeout : wake::timeout);
  return false;
}

__attribute__((always_inline)) inline wake fiber_block(fiber_ctl* f, waiter& w, spinlock* lk, const wait_opts& o) {
  scheduler* s = f->sched;
  bool intr = o.interruptible && !f->is_main_ctx && s->unwinding() == 0;
  bool scope;
  ns_t dl = effective(f, o, intr, &scope);
  if (self_claim(w, f, intr, dl, scope)) {
    if (lk) lk->unlock();
    return w.state.load(std::memory_order_relaxed);
  }
  if (__builtin_expect(f == tl_callback_fiber, 0) && callback_refused(w, lk, intr, o.reason))
    return wake::cancelled;  // a loop callback must not park (loop_guard.hpp)
  f->cur_waiter = &w;
  f->sig = o.sig;
  f->sig_hit = false;
  bool mask_waiter = o.sigmask && s->signals().add_mask_waiter(f);
  f->wait_sigmask = o.sigmask;
  f->interruptible = intr;
  f->scope_armed = scope;
  f->reason = o.reason;
  f->wait_arg = o.arg;
  f->wait_since = s->coarse_now();
  if (dl != no_deadline) s->arm_timer(f, dl);
  if (lk) lk->unlock();
  s->park();
  s->disarm_timer(f);
  if (mask_waiter) s->signals().remove_mask_waiter(f);
  if (s->signals().directed_hit == f) s->signals().directed_hit = nullptr;  // woken otherwise first
  f->wait_sigmask = nullptr;
  f->sig = sig_mode::none;
  f->cur_waiter = nullptr;
  f->reason = wait_reason::none;
  wake r = w.state.load(std::memory_order_acquire);
  WEFT_ASSERT(r != wake::none, "fiber %llu resumed without a claim", (unsigned long long)f->id);
  return r;
}

// foreign_block() parks a hosted foreign fiber through its library
// (weft/detail/foreign.hpp); cancellation never reaches it, scopes do.
wake foreign_block(foreign_ctx* c, waiter& w, spinlock* lk, const wait_opts& o) {
  bool intr = o.interruptible && std::uncaught_exceptions() == 0;
  bool scope;
  ns_t dl = effective(c, o, intr, &scope);
  if (self_claim(w, c, intr, dl, scope)) {
    if (lk) lk->unlock();
    return w.state.load(std::memory_order_relaxed);
  }
  c->ops->park(c->self, w, lk, dl, scope ? wake::scope_timeout : wake::timeout);
  wake r = w.state.load(std::memory_order_acquire);
  WEFT_ASSERT(r != wake::none, "a foreign fiber resumed without a claim");
  return r;
}

wake thread_block(thread_ctx* t, waiter& w, spinlock* lk, const wait_opts& o) {
  // t->woken is 0 between waits: it is reset below, after the one wake_up()
  // that a successful claim by someone else promises has arrived.
  bool intr = o.interruptible && std::uncaught_exceptions() == 0;
  bool scope;
  ns_t dl = effective(t, o, intr, &scope);
  if (self_claim(w, t, intr, dl, scope)) {
    if (lk) lk->unlock();
    return w.state.load(std::memory_order_relaxed);
  }
  if (lk) lk->unlock();
  while (t->woken.load(std::memory_order_acquire) == 0) {
    timespec ts, *tsp = nullptr;
    if (dl != no_deadline) {
      ns_t left = dl - now_ns();
      if (left <= 0) {
        if (claim(w, scope ? wake::scope_timeout : wake::timeout)) return w.state.load(std::memory_order_relaxed);
        dl = no_deadline;  // a waker claimed us first; its wake_up is on the way
        continue;
      }
      ts.tv_sec = left / 1000000000;
      ts.tv_nsec = left % 1000000000;
      tsp = &ts;
    }
    futex(&t->woken, FUTEX_WAIT_PRIVATE, 0, tsp);
  }
  t->woken.store(0, std::memory_order_relaxed);
  return w.state.load(std::memory_order_acquire);
}

// The carrier's host fiber and its park provider (weft/detail/foreign.hpp).
__attribute__((tls_model("initial-exec"))) constinit thread_local park_provider tl_provider = nullptr;
__attribute__((tls_model("initial-exec"))) constinit thread_local fiber_ctl* tl_host = nullptr;

}  // namespace

wait_ctx* current_ctx() noexcept {
  if (scheduler* s = scheduler::current()) {
    fiber_ctl* f = s->running();
    if (__builtin_expect(f == tl_host, 0) && tl_provider) {
      if (wait_ctx* c = tl_provider()) return c;
    }
    return f;
  }
  return &tl_thread;
}

void set_park_provider(park_provider fn) {
  scheduler* s = scheduler::current();
  if (!s || s->running()->is_main_ctx) throw usage_error("weft::detail::set_park_provider: call it on a weft fiber");
  if (fn && tl_host && tl_host != s->running())
    throw usage_error("weft::detail::set_park_provider: another fiber of this carrier is already a host");
  tl_provider = fn;
  tl_host = fn ? s->running() : nullptr;
}

bool host_yield() noexcept {
  scheduler* s = scheduler::current();
  WEFT_ASSERT(s && tl_host && s->running() == tl_host, "host_yield() off the host fiber");
  if (tl_host->cancel_requested.load(std::memory_order_relaxed)) return true;
  s->yield();
  return tl_host->cancel_requested.load(std::memory_order_relaxed);
}

wait_ctx* foreign_ctx_create(const foreign_ops* ops, void* self) { return new foreign_ctx(ops, self); }

void foreign_ctx_destroy(wait_ctx* c) noexcept { delete static_cast<foreign_ctx*>(c); }

namespace {

// not_fiber_block() is block() for an owner that is not a weft fiber.
wake not_fiber_block(waiter& w, spinlock* lk, const wait_opts& o) {
  if (w.owner->is_foreign) return foreign_block(static_cast<foreign_ctx*>(w.owner), w, lk, o);
  return thread_block(static_cast<thread_ctx*>(w.owner), w, lk, o);
}

}  // namespace

wake block(waiter& w, spinlock& lk, const wait_opts& o) {
  if (w.owner->is_fiber) return fiber_block(static_cast<fiber_ctl*>(w.owner), w, &lk, o);
  return not_fiber_block(w, &lk, o);
}

// block_local() is block() for waits whose claimers all run on this thread
// (fd waits, sleeps): no lock to release.
wake block_local(waiter& w, const wait_opts& o) {
  if (w.owner->is_fiber) return fiber_block(static_cast<fiber_ctl*>(w.owner), w, nullptr, o);
  return not_fiber_block(w, nullptr, o);
}

wait_ctx* claim_locked(waiter& w, wake why) noexcept {
  if (w.multi) return claim(w, why);  // other queues of the same wait have other locks
  wait_ctx* owner = w.owner;
  if (owner->is_fiber && static_cast<fiber_ctl*>(owner)->sched == tl_sched) {
    if (w.state.load(std::memory_order_relaxed) != wake::none) return nullptr;
    w.state.store(why, std::memory_order_relaxed);
    return owner;
  }
  return claim(w, why);
}

void wake_up(wait_ctx* owner) noexcept {
  if (owner->is_fiber) {
    auto* f = static_cast<fiber_ctl*>(owner);
    if (__builtin_expect(f->sched == tl_sched, 1)) f->sched->ready(f);
    else f->sched->ready_remote(f);
    return;
  }
  if (owner->is_foreign) {
    auto* c = static_cast<foreign_ctx*>(owner);
    c->ops->wake(c->self);
    return;
  }
  auto* t = static_cast<thread_ctx*>(owner);
  t->woken.store(1, std::memory_order_release);
  futex(&t->woken, FUTEX_WAKE_PRIVATE, 1, nullptr);
}

void raise(wake why) {
  if (why == wake::cancelled && tl_callback_blocked) {
    tl_callback_blocked = false;
    throw usage_error("weft::loop: a watcher's callback made a blocking call (callbacks run on the carrier's loop and must not wait)");
  }
  if (why == wake::scope_timeout) throw timed_out();
  if (why == wake::cancelled) throw cancelled();
}

void interruption_point() {
  wait_ctx* c = current_ctx();
  if (std::uncaught_exceptions() != 0) return;
  if (c->cancel_requested.load(std::memory_order_relaxed)) throw cancelled();
  if (c->scope_deadline != no_deadline && c->scope_deadline <= now_ns()) throw timed_out();
}

}  // namespace weft::detail
