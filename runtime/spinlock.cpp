// runtime/spinlock.cpp — the contended path of detail::spinlock.
// Spins with pause, then yields the CPU so a preempted holder can finish.
#include <weft/detail/wait.hpp>

#include <sched.h>

namespace weft::detail {

void spinlock::lock_slow() noexcept {
  for (unsigned spins = 0;; ++spins) {
    if (!held_.load(std::memory_order_relaxed) && !held_.exchange(true, std::memory_order_acquire)) return;
    if (spins < 64) __builtin_ia32_pause();
    else sched_yield();
  }
}

}  // namespace weft::detail
