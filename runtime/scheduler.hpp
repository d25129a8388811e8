// runtime/scheduler.hpp — one carrier thread's scheduler.
//
// Design notes
//  1. One scheduler per carrier thread. weft::run's thread is worker 0;
//     config::workers > 1 adds carriers (workers.hpp). With one carrier a
//     new fiber is started at spawn: stack, context, run queue. With more,
//     a fiber spawned by a fiber waits unstarted in its carrier's spawn
//     queue, from which idle carriers of the group steal half (workers.hpp
//     says who wakes whom); it gets its stack, context and owner on the
//     carrier that first runs it, and never changes thread after that.
//  2. Fibers switch directly to each other (no scheduler context between
//     them). When nothing is runnable, the fiber that is parking or ending
//     runs the idle work itself, on its own stack: fire timers, drain the
//     remote queue, block in the poller until the next deadline.
//  3. Local wake-ups push onto an intrusive FIFO run queue with no atomics.
//     Wake-ups from other threads push onto a lock-free remote stack and
//     kick the poller only if the scheduler is (about to be) blocked in it.
//     Only this thread ever resumes its fibers, which is what makes a remote
//     wake safe even before the woken fiber has finished parking.
//  4. Every 61 picks the scheduler reads the clock, drains remote wake-ups
//     and cancels, then fires due timers (so a cancel posted before the
//     look beats a deadline that passed meanwhile); it polls I/O without
//     blocking at most once a
//     millisecond while the run queue stays busy. So a yield costs no
//     syscall, and busy fibers cannot starve I/O for long.
//  5. The switch is Boost.Context's fcontext (make_fcontext/jump_fcontext),
//     used directly rather than through boost::context::fiber: the switching
//     fiber passes the address of its own context slot as the transfer's
//     word, so the resumed side stores the suspended context with one store;
//     odd words (an ending fiber, sanitizer builds) take a slow path that
//     frees the dead stack (weft/detail/resume.hpp). this_fiber::yield()'s
//     switch is a tail call (yield_tail()), so the yielding fiber later
//     resumes straight in its caller, with no mispredicted return.
//  6. errno and the C++ exception globals (__cxa_eh_globals) are saved and
//     restored per fiber on every switch, both by the switching side just
//     before the jump (the thread-locals are the same on both sides).
//  7. The run() thread's own stack is the "main context": a fiber_ctl that
//     is not counted as live, parks in join() and at shutdown.
#pragma once
#include "fiber_ctl.hpp"
#include "poller.hpp"
#include "signals.hpp"
#include "stack_pool.hpp"
#include "timer_heap.hpp"

#include <weft/detail/resume.hpp>
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

  // place() takes a new fiber (sched unset, state created): with one
  // carrier, the root fiber, or while the group stops, it starts it here
  // (start()); else it queues it unstarted in this carrier's spawn queue and
  // tells the group (a stealer may take it). Scheduler thread; throws what
  // start() throws.
  void place(fiber_ctl* f);
  // start() creates f's context on a pooled stack and queues it. Scheduler
  // thread; throws std::bad_alloc if no stack can be had.
  void start(fiber_ctl* f);
  // unstarted() is the length of the spawn queue. Any thread: seq_cst, so
  // that an idle carrier's re-check before it blocks pairs with the push.
  std::uint32_t unstarted() const noexcept { return spawnq_.count.load(std::memory_order_seq_cst); }
  // steal_from() moves the older half (rounded up) of victim's spawn queue
  // to this carrier's; returns how many. This carrier's thread.
  std::uint32_t steal_from(scheduler& victim) noexcept;
  // steal_seed rotates the first victim of worker_group::steal(). Owner thread.
  std::uint32_t steal_seed = 0;
  // wake_if_idle() interrupts the poller if the carrier blocks in it;
  // returns whether it did. Any thread.
  bool wake_if_idle() noexcept {
    if (!polling_.load(std::memory_order_seq_cst)) return false;
    kick();
    return true;
  }
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

  // yield() requeues the running fiber behind the others and runs the
  // first of them; with none ready it returns at once. Scheduler thread.
  void yield() noexcept { resumed(yield_tail(running_)); }
  // yield_tail(self) is yield() for the running fiber `self` up to the
  // switch, which it ends with as a tail call (weft/detail/resume.hpp);
  // its result goes to resumed(). The maintenance pick is a tail call too,
  // so the fast path keeps nothing in callee-saved registers. Scheduler
  // thread: yield(), and yield_switch() (runtime/yield.cpp).
  __attribute__((always_inline)) resume_info yield_tail(fiber_ctl* self) noexcept {
    if (__builtin_expect(tick_expired(), 0)) return yield_maintained(self);
    return yield_now(self);
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
    switch_to(self, next);
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
  // Acquire/release: the group publishes itself once every carrier is up,
  // so a carrier that sees it sees the group's whole carrier table.
  worker_group* group() const noexcept { return group_.load(std::memory_order_acquire); }
  void set_group(worker_group* g) noexcept { group_.store(g, std::memory_order_release); }
  // settings() is the resolved configuration this scheduler was made with.
  const resolved_config& settings() const noexcept { return cfg_; }
  // progress() changes whenever the carrier picks a fiber; idle() is true
  // while it blocks in the poller. Any thread (the blocking monitor).
  std::uint64_t progress() const noexcept {
    return std::uint64_t(maintains_.load(std::memory_order_relaxed)) << 8 | __atomic_load_n(&tick_, __ATOMIC_RELAXED);
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
  // live() may be read by another carrier (deadlock.cpp): a relaxed atomic, one writer.
  std::size_t live() const noexcept { return live_.load(std::memory_order_relaxed); }
  // unwinding() is std::uncaught_exceptions() of the running fiber, read
  // from the cached __cxa_eh_globals without a TLS lookup.
  unsigned unwinding() const noexcept { return *reinterpret_cast<const unsigned*>(&eh_ptr_[1]); }
  fiber_ctl* main_ctx() noexcept { return &main_; }
  // remote_pending() is true while cross-thread work waits for this
  // carrier: a remote wake-up, mail, a fiber in its spawn queue. Any
  // thread (deadlock.hpp).
  bool remote_pending() const noexcept {
    return remote_head_.load(std::memory_order_seq_cst) || mail_pending_.load(std::memory_order_seq_cst) ||
           unstarted() > 0;
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
    // rotate(f) pops the head and pushes f behind the rest, in one pass;
    // the queue must not be empty.
    void rotate(fiber_ctl* f) noexcept {
      fiber_ctl* h = head->run_next;
      f->run_next = nullptr;
      tail->run_next = f;
      tail = f;
      head = h ? h : f;
    }
    bool empty() const noexcept { return head == nullptr; }
  };

  fiber_ctl* running_ = nullptr;
  timer_heap timers_;
  run_queue runq_;  // not next to running_: GCC would merge their stores into a slower vector store
  stack_pool stacks_;
  std::unique_ptr<poller> poller_;
  signal_state signals_;
  fiber_ctl main_;
  fiber_ctl* all_head_ = nullptr;
  std::atomic<std::size_t> live_{0};  // written by this carrier only
  waiter* all_done_ = nullptr;  // main context waiting in shutdown()
  // tick_: picks left until the next maintain() (counts down from
  // maintain_every); maintains_: maintain() calls. Written by this thread
  // only, read by the blocking monitor with relaxed atomic loads; tick_ is
  // a plain word so that a pick counts with one `decl` (tick_expired()).
  static constexpr std::uint32_t maintain_every = 61;  // picks between clock reads
  std::uint32_t tick_ = maintain_every;
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
  // Fibers spawned here, not started yet: a FIFO through run_next that other
  // carriers of the group steal from. head/tail under lk; count is changed
  // under lk and read without it (unstarted()).
  struct spawn_queue {
    spinlock lk;
    fiber_ctl* head = nullptr;
    fiber_ctl* tail = nullptr;
    std::atomic<std::uint32_t> count{0};
  };
  alignas(64) spawn_queue spawnq_;
  std::atomic<bool> mail_pending_{false};
  spinlock mail_lk_;                  // guards cancels_ and forgets_
  std::vector<fiber_ctl*> cancels_;
  std::vector<std::pair<int, std::uint32_t>> forgets_;  // fd, incarnation
  int slot_ = -1;
  pthread_t thread_{};  // set by bind()
  std::atomic<worker_group*> group_{nullptr};
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
    if (__builtin_expect(tick_expired(), 0)) maintain(false);
    if (fiber_ctl* f = runq_.pop()) return f;
    return pick_slow();
  }
  // tick_expired() counts one pick; every maintain_every-th it restarts the
  // count and returns true (the caller then runs maintain(false)).
  bool tick_expired() noexcept {
#if defined(__x86_64__)
    // One instruction, a relaxed read-modify-write by the only writer; an
    // asm statement touches no other memory, so the compiler keeps the
    // switch's other loads (GCC treats every __atomic access as a barrier).
    bool zero;
    asm("decl %0" : "+m"(tick_), "=@ccz"(zero));
#else
    std::uint32_t t = tick_ - 1;
    __atomic_store_n(&tick_, t, __ATOMIC_RELAXED);
    bool zero = t == 0;
#endif
    if (__builtin_expect(!zero, 1)) return false;
    __atomic_store_n(&tick_, maintain_every, __ATOMIC_RELAXED);
    return true;
  }
  fiber_ctl* pick_slow() noexcept;
  void maintain(bool may_block) noexcept;
  void fire_timers(ns_t now) noexcept;
  void drain_remote() noexcept;
  // wake_shutdown() resumes shutdown() if it waits for the end of a round.
  void wake_shutdown() noexcept;
  void drain_mail() noexcept;
  void post_mail() noexcept;
  // prepare() gives f its stack, context and owner and links it as live.
  // Scheduler thread; throws std::bad_alloc if no stack can be had.
  void prepare(fiber_ctl* f);
  // push_unstarted()/pop_unstarted() add to the tail of the spawn queue and
  // take from its head. Scheduler thread.
  void push_unstarted(fiber_ctl* f) noexcept;
  fiber_ctl* pop_unstarted() noexcept;
  // take_unstarted() is the next unstarted fiber, prepared: from the spawn
  // queue, else stolen from another carrier; nullptr if there is none. A
  // fiber whose stack cannot be had ends at once with std::bad_alloc.
  fiber_ctl* take_unstarted() noexcept;
  // begin_unstarted() prepares f, taken from the spawn queue; if no stack
  // can be had, f ends at once with std::bad_alloc and the result is false.
  bool begin_unstarted(fiber_ctl* f) noexcept;
  // start_some_unstarted() moves a few unstarted fibers to the run queue,
  // so that a carrier busy with ready fibers still starts new ones.
  void start_some_unstarted() noexcept;
  // mark_unstarted_cancelled() flags every fiber in the spawn queue as
  // cancelled (shutdown: they end at their first run).
  void mark_unstarted_cancelled() noexcept;
  // complete() publishes f's end: done state, joiner woken, escape reported.
  void complete(fiber_ctl* f) noexcept;
  void kick() noexcept;
  // yield_now() is yield_tail() after the pick's tick: rotate the run
  // queue and switch to its head; with none, "resume" self at once.
  // yield_maintained(): the same after maintain(false), out of line.
  __attribute__((always_inline)) resume_info yield_now(fiber_ctl* self) noexcept {
    fiber_ctl* next = runq_.head;
    if (!next) return stay(self);  // nothing else to run
    self->state = fiber_state::ready;  // running -> ready: always legal
    runq_.rotate(self);
    return jump_to(self, next);
  }
  [[gnu::noinline]] resume_info yield_maintained(fiber_ctl* self) noexcept {
    maintain(false);
    return yield_now(self);
  }
  // stay(self) is the result of a switch that did not happen: resumed()
  // stores self's (stale) context back into its own slot. Out of line:
  // every path of yield_tail() then ends in a call, which keeps GCC from
  // merging the paths' results and losing the switch's tail call.
  [[gnu::noinline]] static resume_info stay(fiber_ctl* self) noexcept { return {self->fctx, &self->fctx}; }
  // switch_to(self, next) suspends the running fiber `self` and resumes
  // `next`; inlined into park(). jump_to() is the switch itself, for a
  // caller that gives its result to resumed() (or returns it to a caller
  // that does). The switching side does all the bookkeeping before the
  // jump (running_, states, errno and exception state swapped to next's),
  // so the resumed side needs nothing kept across the jump but the pair
  // the jump hands it.
  __attribute__((always_inline)) void switch_to(fiber_ctl* self, fiber_ctl* next) noexcept {
    resumed(jump_to(self, next));
  }
  __attribute__((always_inline)) resume_info jump_to(fiber_ctl* self, fiber_ctl* next) noexcept {
    running_ = next;
    if (__builtin_expect(next->state > fiber_state::ready, 0)) bad_transition(next, fiber_state::running);
    next->state = fiber_state::running;
    san_before_switch(&self->san, next->san);  // sanitizer.hpp; nothing in normal builds
    swap_tls(self, next);
    return jump_resume(next->fctx, resume_word(self));
  }
  // resume_word(self) is the word a switch away from `self` hands the
  // resumed side (weft/detail/resume.hpp): the address of self's context
  // slot, or, where the sanitizers must hear of the switch, self's block
  // address + 1. A fiber that ends passes 1 (finish()).
  static void* resume_word(fiber_ctl* self) noexcept {
    if constexpr (sanitized) return reinterpret_cast<char*>(self) + 1;
    return &self->fctx;
  }
  // jump_resume() is Boost.Context's jump_fcontext, declared with the
  // public result type so that a jump can be the tail call of a function
  // returning resume_info (the two are the same two-register pair).
  static resume_info jump_resume(void* to, void* word) noexcept __asm__("jump_fcontext");
  // resume_slow() is finish_resume(): for an odd word, the sanitizer hooks
  // and, after a fiber ended, its stack freed (an ontop_fcontext cannot do
  // that, since boost's trampoline does not pass the ontop function's
  // result on to a fresh context). Scheduler thread, first thing after a
  // switch.
  static void resume_slow(resume_info r) noexcept;
  friend void finish_resume(resume_info r) noexcept;
  void free_dead_stack() noexcept;
  void drop_all_but_running() noexcept;
  void slow_safe_point() noexcept;
  // swap_tls(from, to) saves the thread's errno and __cxa_eh_globals (two
  // words, copied as one 16-byte move) into `from` and loads `to`'s; just
  // before the jump from `from` to `to`. load_tls(): the loading half, for
  // a switch away from a fiber that ends.
  void swap_tls(fiber_ctl* from, fiber_ctl* to) noexcept {
    int* e = errno_ptr_;
    void** eh = eh_ptr_;
    from->saved_errno = *e;
    *e = to->saved_errno;
    __builtin_memcpy(from->saved_eh, eh, sizeof from->saved_eh);
    __builtin_memcpy(eh, to->saved_eh, sizeof to->saved_eh);
  }
  void load_tls(fiber_ctl* to) noexcept {
    *errno_ptr_ = to->saved_errno;
    __builtin_memcpy(eh_ptr_, to->saved_eh, sizeof to->saved_eh);
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
