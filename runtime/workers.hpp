// runtime/workers.hpp — the carriers of one weft::run when config::workers > 1.
//
// Design notes
//  1. The run() thread's scheduler is worker 0; the group starts workers-1
//     more OS threads (os_thread.hpp: real pthreads, async signals blocked),
//     each with its own scheduler, poller and stack pool.
//  2. Placement and stealing (Go's scheduler, for fibers that never ran):
//     a fiber spawned by a fiber waits unstarted in its carrier's spawn
//     queue (scheduler.hpp); one spawned from a carrier's own context (the
//     root fiber) starts there. A carrier whose run queue and spawn queue
//     are empty steals the older half, rounded up, of another carrier's
//     spawn queue before it blocks. A fiber is started (stack, context,
//     owner) by the carrier that first runs it, and never leaves it: the
//     compiler caches addresses of thread-locals and errno across calls.
//     A carrier that does not switch (a long computation, a raw blocking
//     syscall) keeps only its started fibers: its unstarted ones are
//     stolen by the others like any.
//  2a. Who wakes whom: after a push, the spawner wakes one carrier blocked
//     in its poller, unless one woken earlier has not looked yet (waking_:
//     at most one carrier is woken for new fibers at a time, Go's cap on
//     spinning threads). A carrier clears waking_ and then scans the spawn
//     queues (steal()); a thief that took more than one wakes the next idle
//     carrier. Lost wake-ups are excluded by two Dekker pairs, all seq_cst:
//     the spawner's count increment, then its loads of waking_ and polling_;
//     a carrier's store of polling_, then its re-check of every count
//     (any_unstarted()) before it blocks; and the clear of waking_, then the
//     scan.
//  3. An idle worker's own context parks until stop is requested; its
//     scheduler meanwhile runs its fibers and blocks in its poller.
//  4. Stop: request_stop() marks the group stopping (new fibers then start
//     where they are spawned, already cancelled) and wakes every worker,
//     which cancels and unwinds its fibers (scheduler::shutdown) and exits;
//     join() waits for the threads. Worker 0 shuts down in run_scope.
#pragma once
#include "deadlock.hpp"
#include "scheduler.hpp"

#include <pthread.h>

#include <atomic>
#include <memory>
#include <vector>

namespace weft::detail {

class worker_group {
 public:
  // worker_group() makes `first` worker 0 and starts c.workers-1 carriers;
  // returns once all run. Run thread; throws (after stopping the carriers
  // already started) if a thread or scheduler cannot be had.
  worker_group(const resolved_config& c, scheduler* first);
  ~worker_group();
  worker_group(const worker_group&) = delete;
  worker_group& operator=(const worker_group&) = delete;

  // work_added() wakes an idle carrier for the fiber `from` just queued
  // unstarted, if one blocks and none was woken before (note 2a). Carrier
  // `from`'s thread.
  void work_added(scheduler* from) noexcept;
  // steal() clears waking_ and moves half of some other carrier's spawn
  // queue to thief's; false if there was nothing to take or the group
  // stops. Carrier thief's thread.
  bool steal(scheduler* thief) noexcept;
  // waking() is true while a carrier woken for new fibers has not looked.
  bool waking() const noexcept { return waking_.load(std::memory_order_relaxed); }
  // any_unstarted() is true if some carrier's spawn queue is not empty
  // (seq_cst loads: note 2a). Any carrier.
  bool any_unstarted() const noexcept {
    for (std::size_t i = 0; i < n_; ++i)
      if (scheds_[i]->unstarted()) return true;
    return false;
  }
  // stopping() is true once request_stop() ran. Any thread.
  bool stopping() const noexcept { return stopping_.load(std::memory_order_seq_cst); }
  // request_stop() asks every worker but 0 to shut down. Run thread.
  void request_stop() noexcept;
  // join() waits until every worker thread has ended. Run thread.
  void join() noexcept;
  std::size_t size() const noexcept { return n_; }
  // at(i) is carrier i's scheduler. Any thread, while the group runs.
  scheduler* at(std::size_t i) const noexcept { return scheds_[i]; }
  // The shared state of the deadlock check (deadlock.hpp).
  deadlock_group deadlock;

 private:
  struct worker {
    worker_group* group;
    unsigned index;
    pthread_t thread{};
    spinlock lk;               // guards stop, parked
    bool stop = false;
    waiter* parked = nullptr;  // the worker's own context, waiting for stop
  };
  static void* thread_main(void* w) noexcept;
  void stop_and_join_started() noexcept;

  resolved_config cfg_;
  std::vector<scheduler*> scheds_;  // index = worker number; set before placement starts
  std::vector<std::unique_ptr<worker>> workers_;  // workers 1..n-1
  std::size_t n_;
  std::atomic<bool> waking_{false};  // a carrier was woken for new fibers and has not looked yet
  std::atomic<bool> stopping_{false};
  std::atomic<std::uint32_t> started_{0};  // futex word: carriers up (or failed)
  spinlock err_lk_;  // guards start_error_
  std::exception_ptr start_error_;
  bool joined_ = false;
};

}  // namespace weft::detail
