// runtime/scheduler.cpp — run queue, context switches, idle loop, shutdown.
// See scheduler.hpp for the design notes.
#include "scheduler.hpp"

#include "deadlock.hpp"
#include "diagnostics.hpp"
#include "log.hpp"
#include "process.hpp"
#include "sched_registry.hpp"
#include "workers.hpp"

#include <cxxabi.h>

#include <pthread.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <new>

namespace weft::detail {

__attribute__((tls_model("initial-exec"))) thread_local scheduler* tl_sched = nullptr;

namespace {

std::atomic<fiber_id> g_next_id{1};
constexpr fiber_id id_block = 1024;
constexpr ns_t busy_poll_interval = 1000000;   // 1 ms

namespace ctxd = boost::context::detail;

}  // namespace

scheduler::scheduler(const resolved_config& c)
    : stacks_(c.stack_size),
      errno_ptr_(&errno),
      eh_ptr_(reinterpret_cast<void**>(abi::__cxa_get_globals())),
      cfg_(c) {
  poller_ = make_poller(c.backend, *this);
  main_.sched = this;
  main_.is_main_ctx = true;
  main_.name = "(run thread)";
  main_.state = fiber_state::running;
  main_.refs.store(1, std::memory_order_relaxed);
  running_ = &main_;
  san_init_fiber(main_.san, nullptr, 0, true);  // bounds learnt at the first switch
  coarse_now_ = last_poll_ = now_ns();
  slot_ = register_scheduler(this);
  install_fork_handlers();
}

scheduler::~scheduler() {
  WEFT_ASSERT(live() == 0, "scheduler destroyed with %zu live fibers", live());
  WEFT_ASSERT(unstarted() == 0, "scheduler destroyed with %u fibers not started", unstarted());
  if (slot_ >= 0) retire();
  // Wait out wakers on other threads still touching this scheduler.
  while (remote_inflight_.load(std::memory_order_acquire) != 0) __builtin_ia32_pause();
  drain_mail();  // cancels posted for fibers that ended meanwhile hold a reference
}

void scheduler::retire() noexcept {
  unregister_scheduler(slot_);  // no forget request comes in after this
  slot_ = -1;
  while (remote_inflight_.load(std::memory_order_acquire) != 0) __builtin_ia32_pause();
  drain_mail();
}

void scheduler::bind() {
  if (tl_sched) throw usage_error("weft::run: this thread already runs a weft scheduler (nested run)");
  tl_sched = this;
  thread_ = pthread_self();
  diagnostics_attach(*this);  // overflow report, dump signal, blocking monitor
}

void scheduler::unbind() noexcept {
  diagnostics_detach(*this);
  tl_sched = nullptr;
}

fiber_id scheduler::next_id() noexcept {
  if (id_next_ == id_end_) {
    id_next_ = g_next_id.fetch_add(id_block, std::memory_order_relaxed);
    id_end_ = id_next_ + id_block;
  }
  return id_next_++;
}

void scheduler::note_io_park() noexcept {
  io_parks_.store(io_parks_.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
}

void scheduler::slow_safe_point() noexcept {
  constexpr ns_t slice = 10000000;  // 10 ms
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);  // vDSO, a memory read
  ns_t now = ns_t(ts.tv_sec) * 1000000000 + ts.tv_nsec;
  std::uint64_t p = progress();
  if (p != slice_progress_) {
    slice_progress_ = p;
    slice_start_ = now;
    return;
  }
  if (now - slice_start_ < slice || running_->is_main_ctx) return;
  slice_start_ = now;
  maintain(false);  // due timers and remote wake-ups make their fibers ready
  yield();
}

// ---- fiber lifecycle -------------------------------------------------------

void scheduler::place(fiber_ctl* f) {
  if (running_ == &main_ && !signals_.root) signals_.root = f;  // run()'s root fiber
  worker_group* g = group();
  if (!g || running_ == &main_ || g->stopping()) {
    start(f);
    return;
  }
  push_unstarted(f);
  g->work_added(this);
}

void scheduler::prepare(fiber_ctl* f) {
  boost::context::stack_context sc = stacks_.allocate(f->stack_request);
  f->stack = sc;
  f->fctx = ctxd::make_fcontext(sc.sp, sc.size, &fiber_entry);
  san_init_fiber(f->san, static_cast<char*>(sc.sp) - sc.size, sc.size, false);
  // Fixed from here on. seq_cst: Dekker with fiber_cancel(), which stores
  // cancel_requested and then reads sched; fiber_entry() reads the flag.
  std::atomic_ref<scheduler*>(f->sched).store(this, std::memory_order_seq_cst);
  link(f);
}

void scheduler::start(fiber_ctl* f) {
  prepare(f);
  runq_.push(f);
}

// ---- spawn queue and stealing ----------------------------------------------

void scheduler::push_unstarted(fiber_ctl* f) noexcept {
  f->run_next = nullptr;
  spawnq_.lk.lock();
  if (spawnq_.tail) spawnq_.tail->run_next = f; else spawnq_.head = f;
  spawnq_.tail = f;
  // seq_cst: Dekker with an idle carrier, which publishes polling_ and then
  // reads the counts (maintain()); we read polling_ after (work_added()).
  spawnq_.count.fetch_add(1, std::memory_order_seq_cst);
  spawnq_.lk.unlock();
}

fiber_ctl* scheduler::pop_unstarted() noexcept {
  if (spawnq_.count.load(std::memory_order_relaxed) == 0) return nullptr;
  return locked(spawnq_.lk, [&]() -> fiber_ctl* {
    fiber_ctl* f = spawnq_.head;
    if (!f) return nullptr;
    if (!(spawnq_.head = f->run_next)) spawnq_.tail = nullptr;
    spawnq_.count.fetch_sub(1, std::memory_order_relaxed);
    return f;
  });
}

std::uint32_t scheduler::steal_from(scheduler& victim) noexcept {
  fiber_ctl *first = nullptr, *last = nullptr;
  std::uint32_t k = locked(victim.spawnq_.lk, [&]() -> std::uint32_t {
    std::uint32_t n = victim.spawnq_.count.load(std::memory_order_relaxed);
    std::uint32_t take = n - n / 2;
    if (take == 0) return 0;
    first = last = victim.spawnq_.head;
    for (std::uint32_t i = 1; i < take; ++i) last = last->run_next;
    if (!(victim.spawnq_.head = last->run_next)) victim.spawnq_.tail = nullptr;
    last->run_next = nullptr;
    victim.spawnq_.count.store(n - take, std::memory_order_relaxed);
    return take;
  });
  if (k == 0) return 0;
  locked(spawnq_.lk, [&] {
    if (spawnq_.tail) spawnq_.tail->run_next = first; else spawnq_.head = first;
    spawnq_.tail = last;
    spawnq_.count.fetch_add(k, std::memory_order_seq_cst);
  });
  return k;
}

fiber_ctl* scheduler::take_unstarted() noexcept {
  for (;;) {
    fiber_ctl* f = pop_unstarted();
    if (!f && group()->steal(this)) f = pop_unstarted();
    if (!f) return nullptr;
    if (begin_unstarted(f)) return f;
  }
}

bool scheduler::begin_unstarted(fiber_ctl* f) noexcept {
  try {
    prepare(f);
    return true;
  } catch (...) {
    f->error = std::current_exception();  // no stack: it ends before it ever ran
    complete(f);
    release_ref(f);  // the running reference
    if (stopping_) wake_shutdown();
    return false;
  }
}

void scheduler::start_some_unstarted() noexcept {
  constexpr std::uint32_t most = 16;
  std::uint32_t n = spawnq_.count.load(std::memory_order_relaxed);
  n = std::min(most, n - n / 2);
  for (std::uint32_t i = 0; i < n; ++i) {
    fiber_ctl* f = pop_unstarted();
    if (!f) return;
    if (begin_unstarted(f)) runq_.push(f);
  }
}

void scheduler::mark_unstarted_cancelled() noexcept {
  locked(spawnq_.lk, [&] {
    for (fiber_ctl* f = spawnq_.head; f; f = f->run_next) f->cancel_requested.store(true, std::memory_order_relaxed);
  });
}

// fiber_entry() is the first frame of every fiber; t.data is the context
// that switched to it.
void scheduler::fiber_entry(ctxd::transfer_t t) noexcept {
  scheduler* s = tl_sched;
  resumed({t.fctx, t.data});
  fiber_ctl* f = s->running_;
  if (f->cancel_requested.load(std::memory_order_seq_cst)) {  // seq_cst: see prepare()
    f->error = std::make_exception_ptr(cancelled());  // cancelled before it ever ran
    f->cancelled_exit = true;
  } else {
    try {
      f->task->run();
    } catch (const cancelled&) {
      f->error = std::current_exception();
      f->cancelled_exit = true;
    } catch (...) {
      f->error = std::current_exception();
    }
  }
  f->task->drop_fn();
  s->finish(f);
}

void scheduler::complete(fiber_ctl* f) noexcept {
  f->lk.lock();
  f->state = fiber_state::done;  // from running, or from created (take_unstarted)
  f->finished.store(true, std::memory_order_release);
  wait_ctx* joiner = f->joiner ? claim_locked(*f->joiner, wake::notified) : nullptr;
  f->joiner = nullptr;
  bool report = f->detached && f->error && !f->cancelled_exit && !f->error_reported;
  if (report) f->error_reported = true;
  f->lk.unlock();
  if (joiner) wake_up(joiner);
  if (report) report_escape(f);
}

void scheduler::finish(fiber_ctl* f) noexcept {
  WEFT_ASSERT(f->state == fiber_state::running, "fiber %llu ends while %s", (unsigned long long)f->id,
              state_name(f->state));
  if (f == signals_.root) signals_.root = nullptr;
  if (signals_.directed.load(std::memory_order_relaxed) == f) signals_.directed.store(nullptr);
  complete(f);
  unlink(f);
  bool round_over = f->shutdown_marked && --round_live_ == 0;
  if (live() == 0 && root_orphaned_) std::exit(0);  // a fork()ed child's last fiber ended (process.hpp)
  if (round_over || live() == 0) wake_shutdown();
  dead_stack_ = f->stack;  // freed by resume_slow(), once off this stack
  san_ending(f->san);
  release_ref(f);          // the running reference; the block may be freed here

  fiber_ctl* next = pick();
  running_ = next;
  set_state(next, fiber_state::running);
  load_tls(next);
  san_before_switch(nullptr, next->san);
  ctxd::jump_fcontext(next->fctx, reinterpret_cast<void*>(1));  // "ended" (resume.hpp)
  __builtin_unreachable();
}

void scheduler::link(fiber_ctl* f) noexcept {
  f->all_prev = nullptr;
  f->all_next = all_head_;
  if (all_head_) all_head_->all_prev = f;
  all_head_ = f;
  live_.store(live_.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
}

void scheduler::unlink(fiber_ctl* f) noexcept {
  if (f->all_prev) f->all_prev->all_next = f->all_next; else all_head_ = f->all_next;
  if (f->all_next) f->all_next->all_prev = f->all_prev;
  f->all_prev = f->all_next = nullptr;
  live_.store(live_.load(std::memory_order_relaxed) - 1, std::memory_order_relaxed);
}

// ---- switching -------------------------------------------------------------

void scheduler::free_dead_stack() noexcept {
  stacks_.deallocate(dead_stack_);
  dead_stack_.sp = nullptr;
}

// pick_slow(): the run queue is empty. Unstarted fibers come next (our own,
// else stolen), then the idle work, which may block. A carrier woken for new
// fibers (worker_group::waking()) looks for them before it runs anything.
fiber_ctl* scheduler::pick_slow() noexcept {
  for (;;) {
    worker_group* g = group();
    if (g)
      if (fiber_ctl* f = take_unstarted()) return f;
    maintain(true);
    if (g && g->waking()) g->steal(this);
    if (fiber_ctl* f = runq_.pop()) return f;
  }
}

// ---- idle work -------------------------------------------------------------

void scheduler::maintain(bool may_block) noexcept {
  maintains_.store(maintains_.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
  ns_t now = now_ns();
  coarse_now_ = now;
  // Wake-ups and cancels from other threads first, then the due timers: a
  // cancel (or a notify) posted before this look wins over a deadline that
  // passed meanwhile, however long the carrier was busy before looking.
  if (remote_head_.load(std::memory_order_relaxed)) drain_remote();
  if (mail_pending_.load(std::memory_order_relaxed)) drain_mail();
  fire_timers(now);
  if (signals_.hit) signals_.deliver(*this);
  // A busy carrier (a periodic pick; a yield, whose fiber is not queued
  // meanwhile) starts some of its unstarted fibers too, so that fibers that
  // only yield cannot hold them back; an idle one takes them one at a time
  // in pick_slow(), leaving the rest to thieves.
  if (!may_block && spawnq_.count.load(std::memory_order_relaxed)) start_some_unstarted();
  if (!may_block) {
    if (now - last_poll_ >= busy_poll_interval) {
      last_poll_ = now;
      sigset_t buf;
      poller_->poll(0, signals_.poll_mask(&buf));
    }
    return;
  }
  if (!runq_.empty()) return;
  ns_t next = timers_.next();
  ns_t timeout = next == no_deadline ? -1 : (next > now ? next - now : 0);
  // The handshake with kick(), in this order:
  //  1. clear wake_sent_: a waker that sees this round's polling_ must find
  //     the flag clear and interrupt the poller. Clearing after the poll
  //     instead lost wake-ups: a waker that raced the early return below set
  //     the flag, its eventfd write was drained by a later busy poll(0), and
  //     the flag, still set, then made every waker of the next blocking
  //     poll skip its interrupt (CrossThread.ManyThreadsIntoOneScheduler*).
  //  2. publish polling_ (seq_cst; its release orders step 1 before it);
  //  3. re-check the remote queue, the mailbox and the group's spawn queues
  //     (seq_cst: Dekker with the waker's or spawner's push, then its load
  //     of polling_): whatever was pushed before step 2 is seen here,
  //     whatever after finds polling_ set and kicks.
  // A flag or eventfd count left over from an earlier round costs at most
  // one spurious return from poll().
  wake_sent_.store(false, std::memory_order_relaxed);
  polling_.store(true, std::memory_order_seq_cst);
  worker_group* g = group();
  if (remote_head_.load(std::memory_order_seq_cst) || mail_pending_.load(std::memory_order_seq_cst) ||
      (g && g->any_unstarted())) {
    polling_.store(false, std::memory_order_relaxed);
    return;
  }
  if (timeout != 0) stacks_.trim(1024);
  if (timeout < 0) deadlock_before_block(*this);  // deadlock.hpp
  sigset_t buf;
  poller_->poll(timeout, signals_.poll_mask(&buf));
  if (timeout < 0) deadlock_after_block(*this);
  polling_.store(false, std::memory_order_relaxed);
  last_poll_ = now_ns();
  coarse_now_ = last_poll_;
}

void scheduler::fire_timers(ns_t now) noexcept {
  while (fiber_ctl* f = timers_.pop_due(now)) {
    WEFT_ASSERT(f->cur_waiter, "fiber %llu has a timer but no wait", (unsigned long long)f->id);
    if (claim(*f->cur_waiter, f->scope_armed ? wake::scope_timeout : wake::timeout)) ready(f);
  }
}

void scheduler::wake_shutdown() noexcept {
  if (all_done_)
    if (wait_ctx* m = claim(*all_done_, wake::notified)) wake_up(m);
}

void scheduler::arm_timer(fiber_ctl* f, ns_t deadline) {
  f->deadline = deadline;
  timers_.add(f);
}


// ---- cross-thread wake-ups -------------------------------------------------

void scheduler::kick() noexcept {
  if (polling_.load(std::memory_order_seq_cst) && !wake_sent_.exchange(true, std::memory_order_acq_rel))
    poller_->interrupt();
}

void scheduler::ready_remote(fiber_ctl* f) noexcept {
  remote_inflight_.fetch_add(1, std::memory_order_acquire);
  fiber_ctl* head = remote_head_.load(std::memory_order_relaxed);
  do {
    f->run_next = head;
  } while (!remote_head_.compare_exchange_weak(head, f, std::memory_order_seq_cst, std::memory_order_relaxed));
  kick();
  remote_inflight_.fetch_sub(1, std::memory_order_release);
}

void scheduler::drain_remote() noexcept {
  fiber_ctl* list = remote_head_.exchange(nullptr, std::memory_order_acquire);
  fiber_ctl* rev = nullptr;  // restore wake order
  while (list) {
    fiber_ctl* n = list->run_next;
    list->run_next = rev;
    rev = list;
    list = n;
  }
  while (rev) {
    fiber_ctl* n = rev->run_next;
    ready(rev);
    rev = n;
  }
}

void scheduler::post_cancel(fiber_ctl* f) noexcept {
  remote_inflight_.fetch_add(1, std::memory_order_acquire);
  f->refs.fetch_add(1, std::memory_order_relaxed);
  locked(mail_lk_, [&] { cancels_.push_back(f); });
  post_mail();
}

void scheduler::post_forget(int fd, std::uint32_t inc) noexcept {
  remote_inflight_.fetch_add(1, std::memory_order_acquire);
  locked(mail_lk_, [&] { forgets_.emplace_back(fd, inc); });
  post_mail();
}

// post_mail() flags the mailbox and wakes the scheduler; ends the poster's
// remote_inflight_ section.
void scheduler::post_mail() noexcept {
  mail_pending_.store(true, std::memory_order_seq_cst);
  kick();
  remote_inflight_.fetch_sub(1, std::memory_order_release);
}

void scheduler::drain_mail() noexcept {
  std::vector<fiber_ctl*> cancels;
  std::vector<std::pair<int, std::uint32_t>> forgets;
  locked(mail_lk_, [&] {
    cancels.swap(cancels_);
    forgets.swap(forgets_);
    mail_pending_.store(false, std::memory_order_relaxed);
  });
  for (auto [fd, inc] : forgets) poller_->forget_incarnation(fd, inc);
  for (fiber_ctl* f : cancels) {
    if (f->state != fiber_state::done) deliver_cancel(f);
    release_ref(f);
  }
}

void scheduler::deliver_cancel(fiber_ctl* f) noexcept {
  if (f->state == fiber_state::parked && f->interruptible && f->cur_waiter) {
    if (claim(*f->cur_waiter, wake::cancelled)) ready(f);
  }
}

// ---- fork -----------------------------------------------------------------

void scheduler::after_fork_child() noexcept {
  // Only the forking thread exists in the child: nothing is in flight from
  // other threads, and the mailbox lock may have been held by one of them.
  ::new (&mail_lk_) spinlock();
  remote_inflight_.store(0, std::memory_order_relaxed);
  polling_.store(false, std::memory_order_relaxed);
  wake_sent_.store(false, std::memory_order_relaxed);
  set_group(nullptr);  // the child has one carrier, this one; the group's other threads are gone
  drop_all_but_running();
  poller_->after_fork();
}

// drop_all_but_running() leaves, of this carrier's fibers, only the one
// that forked (and the main context): the others are orphaned, as threads
// other than the caller are in a fork()ed child. They never run again and
// their stacks stay allocated; a wake-up that still reaches one is dropped
// by ready().
void scheduler::drop_all_but_running() noexcept {
  fiber_ctl* keep = running_;
  if (!keep->is_main_ctx && signals_.root && signals_.root != keep) root_orphaned_ = true;
  for (fiber_ctl* f = all_head_, *next; f; f = next) {
    next = f->all_next;
    if (f == keep) continue;
    f->orphaned = true;
    if (f->timer_index != timer_heap::npos) timers_.remove(f);
    unlink(f);
  }
  while (runq_.pop()) {
  }
  remote_head_.store(nullptr, std::memory_order_relaxed);
  ::new (&spawnq_.lk) spinlock();  // another carrier may have held it
  for (fiber_ctl* f = spawnq_.head; f; f = f->run_next) f->orphaned = true;  // unstarted: never run
  spawnq_.head = spawnq_.tail = nullptr;
  spawnq_.count.store(0, std::memory_order_relaxed);
  cancels_.clear();
  forgets_.clear();
  mail_pending_.store(false, std::memory_order_relaxed);
  signals_.forget_all_but(keep->is_main_ctx ? nullptr : keep);
  round_live_ = 0;
}

// ---- shutdown --------------------------------------------------------------

// Shutdown runs in rounds: it cancels every live fiber and waits until all
// of those have ended. Fibers spawned meanwhile (cleanup code may spawn and
// join helpers) run uncancelled until their round ends; the next round
// cancels them.
void scheduler::shutdown() noexcept {
  WEFT_ASSERT(running_ == &main_, "shutdown() must run on the run() thread's own context");
  stopping_ = true;
  while (live() > 0 || unstarted() > 0) {
    mark_unstarted_cancelled();  // stealing has stopped: only this carrier takes them
    for (fiber_ctl* f = all_head_; f; f = f->all_next) {
      if (!f->shutdown_marked) {
        f->shutdown_marked = true;
        ++round_live_;
      }
      f->cancel_requested.store(true, std::memory_order_relaxed);
      deliver_cancel(f);
    }
    spinlock lk;
    waiter w;
    all_done_ = &w;
    lk.lock();
    block(w, lk, {.interruptible = false, .reason = wait_reason::shutdown});
    all_done_ = nullptr;
  }
}

// ---- reporting -------------------------------------------------------------

void report_escape(fiber_ctl* f) noexcept {
  std::string what = "unknown exception";
  try {
    std::rethrow_exception(f->error);
  } catch (const std::exception& e) {
    what = e.what();
  } catch (...) {
  }
  log_printf("weft: fiber %llu \"%s\" (spawned at %s:%u) ended with an uncaught exception: %s\n",
               (unsigned long long)f->id, f->name.c_str(), f->spawn_file, f->spawn_line, what.c_str());
}

}  // namespace weft::detail
