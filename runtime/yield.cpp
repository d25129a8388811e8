// runtime/yield.cpp — this_fiber::yield()'s switch and the resumed side's
// slow path.
//
// Design: weft/detail/resume.hpp. yield_switch() is the library half of the
// inline this_fiber::yield(): it ends in a tail call of the switch
// (scheduler::yield_tail()), so that the yielding fiber is later resumed
// straight in its caller. finish_resume() handles the odd words a switch
// hands the resumed side: a fiber that ended (its stack is freed here,
// once off it) and, in sanitizer builds, every switch.
#include "scheduler.hpp"

#include <weft/errors.hpp>

#include <cstdint>
#include <thread>

namespace weft::detail {

namespace {

// yield_thread() is yield() on a plain thread (no scheduler).
[[gnu::noinline]] resume_info yield_thread() {
  std::this_thread::yield();
  return {nullptr, reinterpret_cast<void*>(1)};  // resume_slow() does nothing without a scheduler
}

// yield_cancelled() is yield() for a fiber with a cancel request: it throws
// unless the fiber is unwinding. Out of line, so the fast path keeps no
// registers across it.
[[gnu::noinline]] resume_info yield_cancelled(scheduler* s, fiber_ctl* self) {
  if (s->unwinding() == 0) throw cancelled();
  return s->yield_tail(self);
}

}  // namespace

resume_info yield_switch() {
  scheduler* s = scheduler::current();
  if (__builtin_expect(!s, 0)) return yield_thread();
  // Only cancellation interrupts a yield (it is not a wait, so no deadline
  // applies); reading the flag keeps the common path free of clock reads.
  fiber_ctl* self = s->running();
  if (__builtin_expect(self->cancel_requested.load(std::memory_order_relaxed), 0)) return yield_cancelled(s, self);
  return s->yield_tail(self);
}

void finish_resume(resume_info r) noexcept { scheduler::resume_slow(r); }

void scheduler::resume_slow(resume_info r) noexcept {
  scheduler* s = tl_sched;
  if (!s) return;  // yield_thread()
  // The word is a block address + 1, or 1 when the suspended fiber ended.
  auto* from = reinterpret_cast<fiber_ctl*>(reinterpret_cast<std::uintptr_t>(r.slot) - 1);
  san_after_switch(s->running_->san, from ? &from->san : nullptr);
  if (from) {
    from->fctx = r.fctx;
  } else if (s->dead_stack_.sp) {
    s->free_dead_stack();
  }
}

}  // namespace weft::detail
