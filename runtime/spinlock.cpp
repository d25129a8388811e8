// runtime/spinlock.cpp — the contended path of detail::spinlock.
// Spins with pause, then yields the CPU so a preempted holder can finish.
// The yield is the raw system call: weft-run interposes sched_yield to
// switch fibers, and a fiber must never switch in the middle of taking a
// runtime lock (it may already be claimed and woken from another carrier).
#include <weft/detail/wait.hpp>

#include <sys/syscall.h>
#include <unistd.h>

namespace weft::detail {

void spinlock::lock_slow() noexcept {
  for (unsigned spins = 0;; ++spins) {
    if (!held_.load(std::memory_order_relaxed) && !held_.exchange(true, std::memory_order_acquire)) return;
    if (spins < 64) __builtin_ia32_pause();
    else syscall(SYS_sched_yield);
  }
}

}  // namespace weft::detail
