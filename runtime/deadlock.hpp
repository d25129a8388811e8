// runtime/deadlock.hpp — "would block forever" reports (config::on_deadlock).
//
// A carrier about to block in its poller with no deadline asks
// deadlock_before_block() whether the whole run is stuck: every fiber of
// every carrier parked in a wait that only another fiber of the run can
// end, and nothing outside the run (a timer, an fd, an offload job, a
// signal receiver, a plain thread, another process) able to end any wait.
// If so it prints "weft: all fibers are asleep - deadlock!" and the dump,
// once per run, and acts per config::on_deadlock. deadlock.cpp's note says
// why the check is sound (never reports a wait something can still end).
#pragma once
#include <weft/detail/wait.hpp>

#include <atomic>
#include <cstdint>

namespace weft::detail {

class scheduler;

// internal_wait() is 1 for a wait that nothing outside the run can end:
// a run-internal primitive's reason (channel, mutex, event, join, ...),
// no deadline and no signal that may end it; else 0. Any thread.
inline unsigned internal_wait(wait_reason r, ns_t deadline, sig_mode sig, const void* sigmask) noexcept {
  constexpr unsigned mask = 1u << unsigned(wait_reason::join) | 1u << unsigned(wait_reason::channel_send) |
                            1u << unsigned(wait_reason::channel_recv) | 1u << unsigned(wait_reason::mutex) |
                            1u << unsigned(wait_reason::condvar) | 1u << unsigned(wait_reason::event) |
                            1u << unsigned(wait_reason::semaphore) | 1u << unsigned(wait_reason::wait_group) |
                            1u << unsigned(wait_reason::group) | 1u << unsigned(wait_reason::future) |
                            1u << unsigned(wait_reason::select) | 1u << unsigned(wait_reason::wait_many);
  return (mask >> unsigned(r)) & 1u & unsigned(deadline == no_deadline) & unsigned(sig == sig_mode::none) &
         unsigned(sigmask == nullptr);
}

// The shared state of a multi-carrier run's check (worker_group::deadlock):
// `word` is (generation << 16) | carriers counted asleep (note 3).
struct deadlock_group {
  std::atomic<std::uint64_t> word{0};
  std::atomic<bool> reported{false};  // once per run
};

// deadlock_before_block() runs the check; call it right before a poll with
// no deadline (scheduler::maintain). deadlock_after_block() must follow
// that poll's return. Scheduler thread, idle path.
void deadlock_before_block(scheduler& s) noexcept;
void deadlock_after_block(scheduler& s) noexcept;
// deadlock_attach() resets the calling carrier's state for a new
// scheduler (diagnostics_attach); deadlock_detach() drops what it holds
// (diagnostics_detach). Scheduler thread.
void deadlock_attach(scheduler& s) noexcept;
void deadlock_detach(scheduler& s) noexcept;

}  // namespace weft::detail
