// runtime/workers.hpp — the carriers of one weft::run when config::workers > 1.
//
// Design notes
//  1. The run() thread's scheduler is worker 0; the group starts workers-1
//     more OS threads (os_thread.hpp: real pthreads, async signals blocked),
//     each with its own scheduler, poller and stack pool.
//  2. Placement: a fiber spawned by a fiber goes to the next carrier in
//     round-robin order (one relaxed atomic add); a fiber spawned from a
//     carrier's own context (the root fiber) stays there. The fiber is
//     started by its carrier and never leaves it (see fiber_ctl.hpp).
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

  // pick() is the carrier for a fiber spawned on `from`. Any carrier.
  scheduler* pick(scheduler* from) noexcept {
    (void)from;
    unsigned i = rr_.fetch_add(1, std::memory_order_relaxed);
    return scheds_[i % n_];
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
  std::atomic<unsigned> rr_{0};
  std::atomic<bool> stopping_{false};
  std::atomic<std::uint32_t> started_{0};  // futex word: carriers up (or failed)
  spinlock err_lk_;  // guards start_error_
  std::exception_ptr start_error_;
  bool joined_ = false;
};

}  // namespace weft::detail
