// runtime/loop.cpp — loop watchers (weft/loop.hpp): libev-style callbacks
// run by one dispatcher per carrier.
//
// Design notes
//  1. One dispatcher per carrier, a fiber. The first watcher made on a
//     carrier creates that carrier's loop_state and starts its dispatcher
//     there (scheduler::start: started at once, never in a spawn queue,
//     so never stolen). With no active watcher left the dispatcher waits
//     on an event (an internal wait, so the deadlock check still sees a
//     stuck run) until the next watcher; the loop and its dispatcher end
//     with the run's shutdown, which cancels it. Callbacks run on the
//     dispatcher's stack, one after another, without a fiber per watcher:
//     a watcher costs a small record, and a batch of ready watchers costs
//     one wake-up of the dispatcher.
//  2. Why a fiber and not the scheduler's idle path: the dispatcher waits
//     through the ordinary poller contract (poller.hpp wait_fd, with its
//     deadline the earliest timer watcher's), so both backends, the timer
//     heap, shutdown, dumps and the deadlock check (its wait is an fd wait:
//     never internal) work unchanged; the park path gained one compare
//     (note 8). The cost is one extra context switch per
//     batch. Rejected: a non-fiber wait_ctx per watcher woken through the
//     foreign seam (foreign.hpp): the poller's wait_fd parks the running
//     fiber, so io watchers would need a new "arm without parking"
//     operation in every backend; and a callback run from wake_up() would
//     run inside whichever call woke it (another fiber's send, the poller),
//     where it may not block either and ordering is lost.
//  3. io watchers sit in the loop's own epoll set (level-triggered, data =
//     the watch record), which the dispatcher waits on as one fd of the
//     carrier's poller. A pass takes up to 256 events with one
//     epoll_wait(0). After a pass that ran callbacks the dispatcher yields
//     (fibers run) and looks again before it parks, since a level-triggered
//     fd the callback left ready raises no new edge for the carrier's
//     edge-triggered registration of the loop's set; so a burst costs a
//     wake-up and two epoll_wait(0) calls, whatever its size.
//  4. Timer watchers are a binary heap of (deadline, sequence, record) in
//     the loop; the dispatcher's wait deadline is the heap's top. A stopped
//     timer stays in the heap until its deadline and is skipped then.
//  5. async, signal and stop from other threads: an eventfd in the loop's
//     epoll set. async send() sets the record's pending flag and writes the
//     eventfd only if the flag was clear (coalescing, libev's semantics);
//     a signal's delivery (the runtime's signal thread, signal_notify.hpp)
//     does the same. A stop() on another thread marks the record and the
//     loop dirty and writes the eventfd; the dispatcher prunes.
//  6. child watchers: a pidfd (pidfd_open) in the epoll set; when it is
//     readable the dispatcher reaps the child (wait4, WNOHANG) and calls
//     the callback once.
//  7. Lifetime: the handle, the loop's lists and the dispatcher share the
//     record (shared_ptr); each record shares the loop_state, whose fds
//     close when the last owner goes, so a send() or stop() after the run
//     ended touches only memory that is still there.
//  8. Blocking in a callback: loop_guard.hpp.
#include "loop_guard.hpp"

#include "fiber_ctl.hpp"
#include "log.hpp"
#include "raw_syscall.hpp"
#include "scheduler.hpp"

#include <weft/errors.hpp>
#include <weft/io.hpp>
#include <weft/loop.hpp>
#include <weft/signal.hpp>
#include <weft/sync.hpp>

#include <fcntl.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <exception>
#include <string>
#include <system_error>
#include <vector>

#ifndef SYS_pidfd_open
#define SYS_pidfd_open 434
#endif

namespace weft::detail {
__attribute__((tls_model("initial-exec"))) constinit thread_local fiber_ctl* tl_callback_fiber = nullptr;
__attribute__((tls_model("initial-exec"))) constinit thread_local bool tl_callback_blocked = false;

__attribute__((noinline, cold)) bool callback_refused(waiter& w, spinlock* lk, bool intr, wait_reason r) noexcept {
  if (intr && claim(w, wake::cancelled)) {
    tl_callback_blocked = true;
    if (lk) lk->unlock();
    return true;
  }
  log_printf("weft: a loop watcher's callback waits (%s) in a wait that cannot be refused: the carrier's loop "
             "stalls until it ends (callbacks must not block)\n", reason_name(r));
  return false;
}
}  // namespace weft::detail

namespace weft::loop::detail {

using weft::detail::fiber_ctl;
using weft::detail::ns_t;
using weft::detail::scheduler;
using weft::detail::sys;

namespace {
enum class kind : unsigned char { io, timer, signal, async, child, idle };
struct loop_state;
}  // namespace

// One watcher. Fields without a comment are set at creation and then
// read-only, or touched by the loop's carrier only.
struct watch {
  kind k;
  std::atomic<bool> stopped{false};   // stop() ran (any thread)
  std::atomic<bool> pending{false};   // async sent / signal delivered, not yet called
  bool counted = true;                // in loop_state::active; carrier only
  std::shared_ptr<loop_state> loop;
  int fd = -1;                        // io: the fd; child: the pidfd
  unsigned events = 0;                // io
  ns_t repeat = 0;                    // timer
  int sig = 0;                        // signal
  pid_t pid = 0;                      // child
  std::function<void(unsigned)> on_io;
  std::function<void()> on_plain;     // timer, async, idle
  std::function<void(int)> on_signal;
  std::function<void(pid_t, int)> on_child;
  std::shared_ptr<watch> self;        // timer: held while in the heap
  struct sink final : weft::detail::signal_sink {
    watch* w = nullptr;
    void deliver(int) noexcept override;
  } sig_sink;
  bool subscribed = false;
};

namespace {

constexpr int batch = 256;

struct timer_entry {
  ns_t at;
  std::uint64_t seq;
  watch* w;
  bool operator>(const timer_entry& o) const noexcept { return at != o.at ? at > o.at : seq > o.seq; }
};

// A carrier's loop (note 1). Lists and counters: carrier only, except
// `dirty_remote` and the fds.
struct loop_state {
  scheduler* sched = nullptr;
  int ep = -1;   // the loop's epoll set
  int evfd = -1; // eventfd for async, signals and remote stops
  bool running = false;              // a dispatcher runs (or is about to)
  bool in_wait = false;              // the dispatcher is parked in wait_fd
  weft::event idle_ev;               // set while there are watchers (the idle dispatcher waits on it)
  std::size_t active = 0;            // counted watchers
  bool dirty = false;                // a watcher stopped: prune the lists
  std::atomic<bool> dirty_remote{false};
  std::atomic<bool> kicked{false};   // the eventfd holds a count not read yet
  std::vector<std::shared_ptr<watch>> ios, posted, children, idles;  // posted: async + signal
  std::vector<timer_entry> timers;   // min-heap (std::greater)
  std::uint64_t seq = 0;
  ~loop_state() {
    if (evfd >= 0) sys(SYS_close, evfd);
    if (ep >= 0) sys(SYS_close, ep);
  }
};

__attribute__((tls_model("initial-exec"))) constinit thread_local loop_state* tl_loop = nullptr;
// The owning reference of the carrier's loop while its dispatcher runs.
thread_local std::shared_ptr<loop_state> tl_loop_ref;

[[noreturn]] void sys_fail(long r, const char* what) {
  throw std::system_error(int(-r), std::generic_category(), what);
}

// kick() makes the dispatcher look at the eventfd; any thread.
void kick(loop_state& L) noexcept {
  if (L.kicked.exchange(true, std::memory_order_acq_rel)) return;
  std::uint64_t one = 1;
  sys(SYS_write, L.evfd, &one, sizeof one);
}

void dispatcher_main();
void release_all(loop_state& L) noexcept;

// Starts the dispatcher fiber on this carrier (note 1).
struct dispatcher_fn {
  void operator()() const { dispatcher_main(); }
};

void start_dispatcher(loop_state& L) {
  using T = weft::detail::task<void, dispatcher_fn>;
  void* mem = weft::detail::fiber_alloc(sizeof(T), alignof(T));
  T* t = ::new (mem) T(dispatcher_fn{});
  fiber_ctl* c = weft::detail::ctl_from_task(mem);
  scheduler& s = *L.sched;
  c->task = t;
  c->id = s.next_id();
  c->spawn_file = __FILE__;
  c->spawn_line = __LINE__;
  c->refs.store(2, std::memory_order_relaxed);
  try {
    c->name = "weft::loop";
    s.start(c);  // here, never on another carrier
  } catch (...) {
    t->~T();
    weft::detail::fiber_abandon(mem);
    throw;
  }
  weft::detail::fiber_detach(c);
  L.running = true;
}

// this_loop() is the calling carrier's loop, made (with its dispatcher)
// if needed; usage_error off a scheduler.
loop_state& this_loop(const char* what) {
  scheduler* s = scheduler::current();
  if (!s) throw usage_error(std::string(what) + ": call it inside weft::run (from a fiber or run()'s thread)");
  if (tl_loop && tl_loop->sched != s) {
    // Left by an earlier run on this thread whose dispatcher never ran
    // (cancelled before its first switch): drop it.
    release_all(*tl_loop);
    tl_loop = nullptr;
    tl_loop_ref.reset();
  }
  if (!tl_loop) {
    auto L = std::make_shared<loop_state>();
    L->sched = s;
    long ep = sys(SYS_epoll_create1, EPOLL_CLOEXEC);
    if (ep < 0) sys_fail(ep, "weft::loop: epoll_create1");
    L->ep = int(ep);
    long ev = sys(SYS_eventfd2, 0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (ev < 0) sys_fail(ev, "weft::loop: eventfd");
    L->evfd = int(ev);
    epoll_event e{};
    e.events = EPOLLIN;
    e.data.ptr = nullptr;  // the eventfd
    if (long r = sys(SYS_epoll_ctl, L->ep, EPOLL_CTL_ADD, L->evfd, &e); r < 0) sys_fail(r, "weft::loop: epoll_ctl");
    tl_loop_ref = L;
    tl_loop = L.get();
  }
  loop_state& L = *tl_loop;
  if (!L.running) start_dispatcher(L);
  return L;
}

// added() counts a new watcher w in L.
std::shared_ptr<watch> added(loop_state& L, std::shared_ptr<watch> w) {
  if (L.active++ == 0) L.idle_ev.set();  // wakes an idle dispatcher (a local wake-up, no syscall)
  return w;
}

// counted_out() lowers L's count; the last one kicks a dispatcher parked
// in wait_fd so that it goes idle (note 1). Carrier only.
void counted_out(loop_state& L) noexcept {
  if (--L.active == 0 && L.in_wait) kick(L);
}

// uncount() takes w out of its loop's count (carrier only).
void uncount(watch& w) noexcept {
  if (!w.counted) return;
  w.counted = false;
  loop_state& L = *w.loop;
  L.dirty = true;
  counted_out(L);
}

// call() runs a callback as note 8 requires.
template <class F>
void call(watch& w, F&& f) {
  fiber_ctl* me = scheduler::current()->running();
  weft::detail::tl_callback_fiber = me;
  try {
    f();
  } catch (const weft::cancelled&) {  // the dispatcher is being cancelled (a yield in the callback)
    weft::detail::tl_callback_fiber = nullptr;
    weft::detail::tl_callback_blocked = false;
    throw;
  } catch (const std::exception& e) {
    weft::detail::log_printf("weft: a loop watcher's callback ended with an uncaught exception: %s (watcher stopped)\n",
                             e.what());
    stop(&w);
  } catch (...) {
    weft::detail::log_printf("weft: a loop watcher's callback ended with an uncaught exception (watcher stopped)\n");
    stop(&w);
  }
  weft::detail::tl_callback_fiber = nullptr;
  if (weft::detail::tl_callback_blocked) {  // refused, and nobody threw usage_error (a hooked call)
    weft::detail::tl_callback_blocked = false;
    weft::detail::log_printf("weft: a loop watcher's callback made a blocking call; it was refused "
                             "(usage error: callbacks must not block)\n");
  }
}

// prune() drops stopped watchers from the lists; after a stop on another
// thread (`remote`) it also counts out stopped timers, whose heap entries
// go at their deadline (note 4). Carrier only.
void prune(loop_state& L, bool remote) noexcept {
  L.dirty = false;
  auto gone = [](const std::shared_ptr<watch>& w) {
    if (!w->stopped.load(std::memory_order_acquire)) return false;
    uncount(*w);
    return true;
  };
  for (auto* v : {&L.ios, &L.posted, &L.children, &L.idles}) v->erase(std::remove_if(v->begin(), v->end(), gone), v->end());
  if (remote)
    for (timer_entry& e : L.timers)
      if (e.w->stopped.load(std::memory_order_acquire)) uncount(*e.w);
  L.dirty = false;
}

// release_all() drops the loop's references to its watchers (they hold
// the loop: no cycle may outlive the dispatcher). Carrier only.
void release_all(loop_state& L) noexcept {
  std::vector<std::shared_ptr<watch>> drop;
  for (timer_entry& e : L.timers)
    if (e.w->self) drop.push_back(std::move(e.w->self));
  L.timers.clear();
  for (auto* v : {&L.ios, &L.posted, &L.children, &L.idles}) {
    for (auto& w : *v) drop.push_back(std::move(w));
    v->clear();
  }
}

// fire_timers() runs the due timer watchers; true if any ran.
bool fire_timers(loop_state& L) {
  if (L.timers.empty()) return false;
  ns_t now = weft::detail::now_ns();
  bool any = false;
  while (!L.timers.empty() && L.timers.front().at <= now) {
    std::pop_heap(L.timers.begin(), L.timers.end(), std::greater<>());
    timer_entry e = L.timers.back();
    L.timers.pop_back();
    watch& w = *e.w;
    std::shared_ptr<watch> keep = std::move(w.self);
    if (w.stopped.load(std::memory_order_acquire)) {
      uncount(w);
      continue;
    }
    any = true;
    call(w, w.on_plain);
    if (w.repeat > 0 && !w.stopped.load(std::memory_order_acquire)) {
      ns_t next = e.at + w.repeat;
      if (next <= now) next = now + w.repeat;  // fell behind: no burst of catch-up calls
      w.self = std::move(keep);
      L.timers.push_back({next, ++L.seq, &w});
      std::push_heap(L.timers.begin(), L.timers.end(), std::greater<>());
    } else {
      uncount(w);
    }
  }
  return any;
}

// posted_pass() runs the async and signal watchers whose flag is set.
void posted_pass(loop_state& L) {
  std::uint64_t n;
  L.kicked.store(false, std::memory_order_seq_cst);
  sys(SYS_read, L.evfd, &n, sizeof n);
  for (std::size_t i = 0; i < L.posted.size(); ++i) {
    std::shared_ptr<watch> w = L.posted[i];  // a callback may add watchers
    if (!w->pending.exchange(false, std::memory_order_acq_rel)) continue;
    if (w->stopped.load(std::memory_order_acquire)) continue;
    if (w->k == kind::async) call(*w, w->on_plain);
    else call(*w, [&] { w->on_signal(w->sig); });
  }
}

// child_ready() reaps w's child and calls back once.
void child_ready(watch& w) {
  int st = 0;
  long r = sys(SYS_wait4, w.pid, &st, WNOHANG, nullptr);
  if (r == 0) return;  // not yet (a spurious readiness)
  sys(SYS_epoll_ctl, w.loop->ep, EPOLL_CTL_DEL, w.fd, nullptr);
  if (r < 0) st = 0;
  call(w, [&] { w.on_child(w.pid, st); });
  if (!w.stopped.exchange(true)) {
    sys(SYS_close, w.fd);
    w.fd = -1;
  }
  uncount(w);
}

// io_pass() takes one batch from the loop's epoll set; returns how many
// watchers' callbacks ran (the eventfd counts as one).
int io_pass(loop_state& L) {
  epoll_event evs[batch];
  long n = sys(SYS_epoll_wait, L.ep, evs, batch, 0);
  if (n <= 0) return 0;
  for (long i = 0; i < n; ++i) {
    auto* w = static_cast<watch*>(evs[i].data.ptr);
    if (!w) {
      posted_pass(L);
      continue;
    }
    if (w->stopped.load(std::memory_order_acquire)) continue;
    if (w->k == kind::child) {
      child_ready(*w);
      continue;
    }
    unsigned got = 0;
    if (evs[i].events & (EPOLLIN | EPOLLRDHUP)) got |= readable;
    if (evs[i].events & EPOLLOUT) got |= writable;
    if (evs[i].events & (EPOLLERR | EPOLLHUP)) got |= readable | writable;
    got &= w->events;
    if (got) call(*w, [&] { w->on_io(got); });
  }
  return int(n);
}

void dispatcher_main() {
  std::shared_ptr<loop_state> hold = tl_loop_ref;
  loop_state& L = *hold;
  WEFT_ASSERT(L.sched == scheduler::current(), "the loop dispatcher runs on another carrier than its loop");
  try {
    for (;;) {
      if (L.dirty_remote.exchange(false, std::memory_order_acq_rel)) prune(L, true);
      else if (L.dirty) prune(L, false);
      if (L.active == 0) {
        // Idle (note 1): an internal wait, so a stuck run is still reported
        // (deadlock.hpp); a new watcher sets the event.
        L.idle_ev.clear();
        L.idle_ev.wait();
        continue;
      }
      bool ran = fire_timers(L);
      int n = io_pass(L);
      if (!L.idles.empty()) {
        for (std::size_t i = 0; i < L.idles.size(); ++i) {
          std::shared_ptr<watch> w = L.idles[i];
          if (!w->stopped.load(std::memory_order_acquire)) call(*w, w->on_plain);
        }
        weft::this_fiber::yield();
        continue;
      }
      if (n > 0 || ran) {
        weft::this_fiber::yield();  // note 3: look again before parking
        if (n == batch) continue;
        if (io_pass(L) > 0 || fire_timers(L)) {
          weft::this_fiber::yield();
          continue;
        }
        if (L.dirty || L.active == 0) continue;
      }
      ns_t dl = L.timers.empty() ? weft::detail::no_deadline : L.timers.front().at;
      L.in_wait = true;
      weft::detail::wake r = weft::detail::wait_fd(L.ep, io_event::readable, dl);
      L.in_wait = false;
      if (r == weft::detail::wake::cancelled || r == weft::detail::wake::scope_timeout) break;
    }
  } catch (const weft::cancelled&) {
  }
  // Ends with the run (cancelled): a later watcher (another run on this
  // thread) makes a new loop. Watchers still active (cancelled at shutdown) keep this loop through
  // their handles only; stop() on them then just marks them.
  L.running = false;
  release_all(L);
  if (tl_loop == &L) {
    tl_loop = nullptr;
    tl_loop_ref.reset();
  }
}

std::shared_ptr<watch> make(kind k, loop_state& L) {
  auto w = std::make_shared<watch>();
  w->k = k;
  w->loop = tl_loop_ref;
  (void)L;
  return w;
}

}  // namespace

void watch::sink::deliver(int) noexcept {
  if (!w->pending.exchange(true, std::memory_order_acq_rel)) kick(*w->loop);
}

void stop(watch* w) noexcept {
  if (w->stopped.exchange(true, std::memory_order_acq_rel)) return;
  loop_state& L = *w->loop;
  if ((w->k == kind::io || w->k == kind::child) && w->fd >= 0) {
    sys(SYS_epoll_ctl, L.ep, EPOLL_CTL_DEL, w->fd, nullptr);
    if (w->k == kind::child) sys(SYS_close, w->fd);
  }
  if (w->subscribed) weft::detail::signal_unsubscribe(&w->sig_sink);
  if (tl_loop == &L) {
    if (w->k != kind::timer) {
      uncount(*w);  // and the lists are pruned at the next pass
    } else if (w->counted) {  // its heap entry goes at its deadline (note 4)
      w->counted = false;
      counted_out(L);
    }
  } else {
    L.dirty_remote.store(true, std::memory_order_release);
    kick(L);
  }
}

void send(watch* w) noexcept {
  if (w->stopped.load(std::memory_order_acquire)) return;
  if (!w->pending.exchange(true, std::memory_order_acq_rel)) kick(*w->loop);
}

std::shared_ptr<watch> make_io(int fd, unsigned events, std::function<void(unsigned)> cb) {
  loop_state& L = this_loop("weft::loop::io");
  if (!cb) throw usage_error("weft::loop::io: an empty callback");
  if (events == 0 || (events & ~(readable | writable)))
    throw usage_error("weft::loop::io: events must be readable, writable or both");
  auto w = make(kind::io, L);
  w->fd = fd;
  w->events = events;
  w->on_io = std::move(cb);
  epoll_event e{};
  e.events = (events & readable ? unsigned(EPOLLIN | EPOLLRDHUP) : 0u) | (events & writable ? unsigned(EPOLLOUT) : 0u);
  e.data.ptr = w.get();
  if (long r = sys(SYS_epoll_ctl, L.ep, EPOLL_CTL_ADD, fd, &e); r < 0) sys_fail(r, "weft::loop::io: epoll_ctl");
  L.ios.push_back(w);
  return added(L, std::move(w));
}

std::shared_ptr<watch> make_timer(ns_t after, ns_t repeat, std::function<void()> cb) {
  loop_state& L = this_loop("weft::loop::timer");
  if (!cb) throw usage_error("weft::loop::timer: an empty callback");
  auto w = make(kind::timer, L);
  w->repeat = repeat;
  w->on_plain = std::move(cb);
  ns_t now = weft::detail::now_ns();
  ns_t at = after >= weft::detail::no_deadline - now ? weft::detail::no_deadline : now + after;
  w->self = w;
  L.timers.push_back({at, ++L.seq, w.get()});
  std::push_heap(L.timers.begin(), L.timers.end(), std::greater<>());
  if (L.in_wait && L.timers.front().w == w.get()) kick(L);  // the parked dispatcher's deadline is later (or none)
  return added(L, std::move(w));
}

std::shared_ptr<watch> make_signal(int sig, std::function<void(int)> cb) {
  loop_state& L = this_loop("weft::loop::signal");
  if (!cb) throw usage_error("weft::loop::signal: an empty callback");
  auto w = make(kind::signal, L);
  w->sig = sig;
  w->on_signal = std::move(cb);
  w->sig_sink.w = w.get();
  weft::detail::signal_subscribe(&w->sig_sink, sig);
  w->subscribed = true;
  L.posted.push_back(w);
  return added(L, std::move(w));
}

std::shared_ptr<watch> make_async(std::function<void()> cb) {
  loop_state& L = this_loop("weft::loop::async");
  if (!cb) throw usage_error("weft::loop::async: an empty callback");
  auto w = make(kind::async, L);
  w->on_plain = std::move(cb);
  L.posted.push_back(w);
  return added(L, std::move(w));
}

std::shared_ptr<watch> make_child(pid_t pid, std::function<void(pid_t, int)> cb) {
  loop_state& L = this_loop("weft::loop::child");
  if (!cb) throw usage_error("weft::loop::child: an empty callback");
  if (pid <= 0) throw usage_error("weft::loop::child: pid must be a child's process id");
  long fd = sys(SYS_pidfd_open, pid, 0);
  if (fd < 0) sys_fail(fd, "weft::loop::child: pidfd_open");
  auto w = make(kind::child, L);
  w->pid = pid;
  w->fd = int(fd);
  w->on_child = std::move(cb);
  epoll_event e{};
  e.events = EPOLLIN;
  e.data.ptr = w.get();
  if (long r = sys(SYS_epoll_ctl, L.ep, EPOLL_CTL_ADD, w->fd, &e); r < 0) {
    sys(SYS_close, w->fd);
    sys_fail(r, "weft::loop::child: epoll_ctl");
  }
  L.children.push_back(w);
  return added(L, std::move(w));
}

std::shared_ptr<watch> make_idle(std::function<void()> cb) {
  loop_state& L = this_loop("weft::loop::idle");
  if (!cb) throw usage_error("weft::loop::idle: an empty callback");
  auto w = make(kind::idle, L);
  w->on_plain = std::move(cb);
  L.idles.push_back(w);
  if (L.in_wait) kick(L);  // a parked dispatcher must start its idle passes
  return added(L, std::move(w));
}

}  // namespace weft::loop::detail
