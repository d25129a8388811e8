// runtime/scheduler.hpp — one carrier thread's scheduler.
//
// Design notes
//  1. One scheduler per carrier thread. weft::run's thread is worker 0;
//     config::workers > 1 adds carriers (workers.hpp). A new fiber is placed
//     on a carrier when spawned (round robin) and started there; a fiber
//     never changes thread once created (work stealing, later, will take
//     only fibers that have never run).
//  2. Fibers switch directly to each other (no scheduler context between
//     them). When nothing is runnable, the fiber that is parking or ending
//     runs the idle work itself, on its own stack: fire timers, drain the
//     remote queue, block in the poller until the next deadline.
//  3. Local wake-ups push onto an intrusive FIFO run queue with no atomics.
//     Wake-ups from other threads push onto a lock-free remote stack and
//     kick the poller only if the scheduler is (about to be) blocked in it.
//     Only this thread ever resumes its fibers, which is what makes a remote
//     wake safe even before the woken fiber has finished parking.
//  4. Every 61 picks the scheduler reads the clock, fires due timers and
//     drains remote wake-ups; it polls I/O without blocking at most once a
//     millisecond while the run queue stays busy. So a yield costs no
//     syscall, and busy fibers cannot starve I/O for long.
//  5. The switch is Boost.Context's fcontext (make_fcontext/jump_fcontext),
//     used directly rather than through boost::context::fiber: the switching fiber passes itself as the
//     transfer's data, so the resumed side stores the suspended context in
//     the right control block with one store; an ending fiber passes
//     nullptr and the resumed side frees the dead stack.
//  6. errno and the C++ exception globals (__cxa_eh_globals) are saved and
//     restored per fiber on every switch.
//  7. The run() thread's own stack is the "main context": a fiber_ctl that
//     is not counted as live, parks in join() and at shutdown.
#pragma once
#include "fiber_ctl.hpp"
#include "poller.hpp"
#include "signals.hpp"
#include "stack_pool.hpp"
#include "timer_heap.hpp"

#include <weft/run.hpp>

#include <boost/context/detail/fcontext.hpp>

#include <atomic>
#include <memory>
#include <vector>

namespace weft::detail {

// Config after defaults and WEFT_* environment overrides.
struct resolved_config {
  std::size_t stack_size;
  unsigned workers;
  std::string backend;
  unsigned monitor_ms;  // blocking monitor threshold, 0 = off
  int dump_signal;      // signal that prints a dump, 0 = none
  unsigned offload_threads = 0;  // offload pool's thread limit (offload_pool.hpp)
  unsigned offload_idle_ms = 0;  // its idle threads' lifetime
  deadlock_action on_deadlock = deadlock_action::report;  // deadlock.hpp
};
// resolve_config() applies defaults and the environment; throws usage_error.
resolved_config resolve_config(const config& c);

class scheduler;
class worker_group;

// The calling thread's scheduler (initial-exec TLS: one instruction to read).
extern __attribute__((tls_model("initial-exec"))) thread_local scheduler* tl_sched;

class scheduler {
 public:
  explicit scheduler(const resolved_config& c);
  ~scheduler();
  scheduler(const scheduler&) = delete;
  scheduler& operator=(const scheduler&) = delete;

  // current() is the calling thread's scheduler, or nullptr.
  static scheduler* current() noexcept { return tl_sched; }
  // bind()/unbind() attach this scheduler to the calling thread (run_scope).
  void bind();
  void unbind() noexcept;

  // running() is the fiber (or main context) on the CPU. Scheduler thread.
  fiber_ctl* running() const noexcept { return running_; }

  // place() starts a new fiber (sched unset, state created) on the carrier
  // the worker group picks: here, through start(), or on another carrier
  // through its remote queue. Scheduler thread; throws what start() throws
  // when the fiber stays here.
  void place(fiber_ctl* f);
  // start() creates f's context on a pooled stack and queues it. Scheduler
  // thread; throws std::bad_alloc if no stack can be had.
  void start(fiber_ctl* f);
  // ready() queues a parked fiber of this scheduler. Scheduler thread.
  void ready(fiber_ctl* f) noexcept {
    if (__builtin_expect(f->orphaned, 0)) return;  // left behind by fork(): never runs again
    WEFT_ASSERT(f->sched == this && f->state == fiber_state::parked,
                "fiber %llu readied while %s or on a foreign scheduler", (unsigned long long)f->id,
                state_name(f->state));
    f->state = fiber_state::ready;
    runq_.push(f);
  }
  // ready_remote() queues a claimed, parked fiber from any other thread.
  void ready_remote(fiber_ctl* f) noexcept;
  // post_cancel() asks this scheduler to deliver f's cancel; any thread,
  // called with f->lk held and f not done.
  void post_cancel(fiber_ctl* f) noexcept;
  // post_forget() asks this scheduler to forget fd if its registration is
  // of incarnation `inc` (sched_registry.hpp); called by forget_fd() on
  // another thread, under the registry lock.
  void post_forget(int fd, std::uint32_t inc) noexcept;
  // deliver_cancel() claims f's wait with `cancelled` if it is parked in an
  // interruptible wait. Scheduler thread.
  void deliver_cancel(fiber_ctl* f) noexcept;

  // yield() requeues the running fiber behind the others. Scheduler thread.
  void yield() noexcept {
    fiber_ctl* self = running_;
    self->state = fiber_state::ready;  // running -> ready: always legal
    runq_.push(self);
    fiber_ctl* next = pick();
    if (next == self) {
      self->state = fiber_state::running;
      return;
    }
    switch_to(next);
  }
  // safe_point() is a point where the running fiber may be preempted: the
  // hooks call it from libc calls that do not wait (sigaction, raise...).
  // Every 1,024 calls it looks whether the fiber has held the carrier for
  // 10 ms without switching; then it fires due timers, takes remote
  // wake-ups and I/O, and yields, so that fibers waiting on this carrier
  // (a thread waiting for CPython's GIL on a timed condition) get to run.
  // Not a cancellation point. Scheduler thread, on a running fiber.
  void safe_point() noexcept {
    if (__builtin_expect(++safe_calls_ < 1024, 1)) return;
    safe_calls_ = 0;
    slow_safe_point();
  }
  // park() suspends the running fiber until ready() is called for it.
  void park() noexcept {
    fiber_ctl* self = running_;
    self->state = fiber_state::parked;  // running -> parked: always legal
    fiber_ctl* next = pick();
    if (next == self) {
      self->state = fiber_state::running;
      return;
    }
    switch_to(next);
  }
  // arm_timer()/disarm_timer() manage the running fiber's deadline.
  void arm_timer(fiber_ctl* f, ns_t deadline);
  void disarm_timer(fiber_ctl* f) noexcept {
    if (f->timer_index != timer_heap::npos) timers_.remove(f);
  }

  // shutdown() (main context only) cancels every live fiber and waits until
  // all have ended.
  void shutdown() noexcept;

  // after_fork_child() makes this scheduler usable in a fork()ed child:
  // fresh poller kernel objects, no other threads, every fiber but the
  // forking one orphaned (process.hpp). Call in the child only, on the
  // thread that forked (the pthread_atfork child handler).
  void after_fork_child() noexcept;
  // note_io_park() counts a hooked wait that parked (rt::parks());
  // io_park_count() reads the count from any thread.
  void note_io_park() noexcept;
  unsigned long io_park_count() const noexcept { return io_parks_.load(std::memory_order_relaxed); }

  poller& io() noexcept { return *poller_; }
  // signals() is the record of which parked calls caught signals end.
  signal_state& signals() noexcept { return signals_; }
  // retire() leaves the registry (no forget request arrives afterwards) and
  // answers what is still in the mailbox. The scheduler's thread, after
  // shutdown(); the destructor calls it if nobody did.
  void retire() noexcept;
  // thread() is the carrier thread this scheduler is bound to.
  pthread_t thread() const noexcept { return thread_; }
  // slot() is this scheduler's index in the registry (sched_registry.hpp).
  int slot() const noexcept { return slot_; }
  // group()/set_group(): the worker group this carrier belongs to, or
  // nullptr with one worker. set_group(): once, before fibers run.
  worker_group* group() const noexcept { return group_; }
  void set_group(worker_group* g) noexcept { group_ = g; }
  // settings() is the resolved configuration this scheduler was made with.
  const resolved_config& settings() const noexcept { return cfg_; }
  // progress() changes whenever the carrier picks a fiber; idle() is true
  // while it blocks in the poller. Any thread (the blocking monitor).
  std::uint64_t progress() const noexcept {
    return std::uint64_t(maintains_.load(std::memory_order_relaxed)) << 8 | tick_.load(std::memory_order_relaxed);
  }
  bool idle() const noexcept { return polling_.load(std::memory_order_relaxed); }
  // Addresses of the live-fiber list head and of running_, published for
  // debuggers reading the process from outside (debug_table.hpp).
  fiber_ctl* const* all_head_slot() const noexcept { return &all_head_; }
  fiber_ctl* const* running_slot() const noexcept { return &running_; }
  stack_pool& stacks() noexcept { return stacks_; }
  // coarse_now() is the time of the last clock read (for wait ages).
  ns_t coarse_now() const noexcept { return coarse_now_; }
  // next_id() hands out process-unique fiber ids.
  fiber_id next_id() noexcept;
  // for_each_fiber() visits live fibers (dump). Scheduler thread.
  template <class F>
  void for_each_fiber(F&& fn) const {
    for (fiber_ctl* f = all_head_; f; f = f->all_next) fn(f);
  }
  std::size_t live() const noexcept { return live_; }
  // unwinding() is std::uncaught_exceptions() of the running fiber, read
  // from the cached __cxa_eh_globals without a TLS lookup.
  unsigned unwinding() const noexcept { return *reinterpret_cast<const unsigned*>(&eh_ptr_[1]); }
  fiber_ctl* main_ctx() noexcept { return &main_; }
  // remote_pending() is true while cross-thread work waits for this
  // carrier: a remote wake-up, mail, a placed fiber not started. Any
  // thread (deadlock.hpp).
  bool remote_pending() const noexcept {
    return remote_head_.load(std::memory_order_seq_cst) || mail_pending_.load(std::memory_order_seq_cst) ||
           incoming_.load(std::memory_order_seq_cst) > 0;
  }

 private:
  struct run_queue {
    fiber_ctl* head = nullptr;
    fiber_ctl* tail = nullptr;
    void push(fiber_ctl* f) noexcept {
      f->run_next = nullptr;
      if (tail) tail->run_next = f; else head = f;
      tail = f;
    }
    fiber_ctl* pop() noexcept {
      fiber_ctl* f = head;
      if (f && !(head = f->run_next)) tail = nullptr;
      return f;
    }
    bool empty() const noexcept { return head == nullptr; }
  };

  fiber_ctl* running_ = nullptr;
  run_queue runq_;
  timer_heap timers_;
  stack_pool stacks_;
  std::unique_ptr<poller> poller_;
  signal_state signals_;
  fiber_ctl main_;
  fiber_ctl* all_head_ = nullptr;
  std::size_t live_ = 0;
  waiter* all_done_ = nullptr;  // main context waiting in shutdown()
  // Picks since the last maintain() and maintain() calls: relaxed atomics
  // (plain loads/stores) so the blocking monitor may read them.
  std::atomic<std::uint32_t> tick_{0};
  std::atomic<std::uint32_t> maintains_{0};
  ns_t coarse_now_ = 0;
  ns_t last_poll_ = 0;
  fiber_id id_next_ = 0, id_end_ = 0;
  int* errno_ptr_;
  void** eh_ptr_;  // this thread's __cxa_eh_globals
  resolved_config cfg_;  // cold: read at bind and by the monitor's handler

  // Cross-thread state.
  alignas(64) std::atomic<fiber_ctl*> remote_head_{nullptr};
  std::atomic<bool> polling_{false};
  // Set by the first kick() of a polling round, so one interrupt per round;
  // cleared before polling_ is published (maintain() says why).
  std::atomic<bool> wake_sent_{false};
  std::atomic<int> remote_inflight_{0};
  std::atomic<int> incoming_{0};  // fibers placed here, not yet started
  std::atomic<bool> mail_pending_{false};
  spinlock mail_lk_;                  // guards cancels_ and forgets_
  std::vector<fiber_ctl*> cancels_;
  std::vector<std::pair<int, std::uint32_t>> forgets_;  // fd, incarnation
  int slot_ = -1;
  pthread_t thread_{};  // set by bind()
  worker_group* group_ = nullptr;
  std::atomic<unsigned long> io_parks_{0};  // plain load/store: one writer
  std::uint32_t safe_calls_ = 0;            // safe_point() calls since its last look
  std::uint64_t slice_progress_ = ~std::uint64_t(0);  // progress() at that look
  ns_t slice_start_ = 0;                    // coarse time the progress last changed
  bool stopping_ = false;      // shutdown() began
  bool root_orphaned_ = false;  // a fork()ed child whose root fiber stayed in the parent
  std::size_t round_live_ = 0;  // fibers shutdown() cancelled that are still alive

  // pick() returns the next fiber to run, doing idle work (and blocking in
  // the poller) while none is ready.
  fiber_ctl* pick() noexcept {
    std::uint32_t t = tick_.load(std::memory_order_relaxed) + 1;
    tick_.store(t, std::memory_order_relaxed);
    if (__builtin_expect(t >= maintain_every, 0)) {
      tick_.store(0, std::memory_order_relaxed);
      maintain(false);
    }
    if (fiber_ctl* f = runq_.pop()) return f;
    return pick_slow();
  }
  fiber_ctl* pick_slow() noexcept;
  static constexpr std::uint32_t maintain_every = 61;  // picks between clock reads
  void maintain(bool may_block) noexcept;
  void fire_timers(ns_t now) noexcept;
  void drain_remote() noexcept;
  // wake_shutdown() resumes shutdown() if it waits for the end of a round.
  void wake_shutdown() noexcept;
  void drain_mail() noexcept;
  void post_mail() noexcept;
  // start_placed() starts a fiber another carrier placed here; a fiber
  // whose stack cannot be had ends at once with std::bad_alloc.
  void start_placed(fiber_ctl* f) noexcept;
  // complete() publishes f's end: done state, joiner woken, escape reported.
  void complete(fiber_ctl* f) noexcept;
  void kick() noexcept;
  // switch_to() saves the running fiber and resumes `next`; inlined into
  // yield() and park(), the two hot callers.
  __attribute__((always_inline)) void switch_to(fiber_ctl* next) noexcept {
    fiber_ctl* self = running_;
    save_tls(self);
    running_ = next;
    if (__builtin_expect(next->state > fiber_state::ready, 0)) bad_transition(next, fiber_state::running);
    next->state = fiber_state::running;
    san_before_switch(&self->san, next->san);  // sanitizer.hpp; nothing in normal builds
    boost::context::detail::transfer_t t = boost::context::detail::jump_fcontext(next->fctx, self);
    after_switch(t.fctx, t.data);
  }
  // after_switch() runs in the fiber just resumed: it stores the context we
  // came from in its control block, or frees its stack if it ended (an
  // ontop_fcontext cannot do that, since boost's trampoline does not pass
  // the ontop function's result on to a fresh context), and restores this
  // fiber's errno and exception state.
  __attribute__((always_inline)) void after_switch(void* from_fctx, void* from) noexcept {
    san_after_switch(running_->san, from ? &static_cast<fiber_ctl*>(from)->san : nullptr);
    if (__builtin_expect(from != nullptr, 1)) static_cast<fiber_ctl*>(from)->fctx = from_fctx;
    else if (dead_stack_.sp) free_dead_stack();
    load_tls(running_);
  }
  void free_dead_stack() noexcept;
  void drop_all_but_running() noexcept;
  void slow_safe_point() noexcept;
  void save_tls(fiber_ctl* f) noexcept {
    int* e = errno_ptr_;
    void** eh = eh_ptr_;
    f->saved_errno = *e;
    f->saved_eh[0] = eh[0];
    f->saved_eh[1] = eh[1];
  }
  void load_tls(fiber_ctl* f) noexcept {
    int* e = errno_ptr_;
    void** eh = eh_ptr_;
    *e = f->saved_errno;
    eh[0] = f->saved_eh[0];
    eh[1] = f->saved_eh[1];
  }
  void link(fiber_ctl* f) noexcept;
  void unlink(fiber_ctl* f) noexcept;
  [[noreturn]] void finish(fiber_ctl* f) noexcept;
  static void fiber_entry(boost::context::detail::transfer_t t) noexcept;
  boost::context::stack_context dead_stack_{};  // stack of the fiber that just ended
};

// io_parks() sums note_io_park() over the live schedulers. Any thread.
unsigned long io_parks() noexcept;

// report_escape() prints an exception that escaped a detached fiber.
void report_escape(fiber_ctl* f) noexcept;

}  // namespace weft::detail
