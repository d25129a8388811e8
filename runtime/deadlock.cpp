// runtime/deadlock.cpp — "would block forever" reports; see deadlock.hpp.
//
// Design notes
//  1. What is reported. A run is deadlocked when no fiber of it can ever
//     run again: every live fiber of every carrier is parked in a wait that
//     only a fiber of this run could end, and every fiber of the run is in
//     such a wait. The check must never report a wait that something else
//     can end, so it counts as "could still wake" (and says nothing):
//       - a deadline: a timer armed (the carrier's poll then has a timeout
//         and the check is not even called), or a wait with a deadline;
//       - an fd, a child (pidfd), a hooked sleep/poll/pause/sigwait: their
//         wait reasons (read, write, sleep, wait, ...) are not internal;
//         internal ones are the primitives' own (channel, mutex, condvar,
//         event, semaphore, wait_group, group, join, future, select,
//         wait_any/wait_all), with no deadline and no signal able to end
//         them (internal_wait() in deadlock.hpp);
//       - a signal receiver (signal_channel, on_signal) anywhere in the
//         process: another process's kill() feeds it; likewise a handler
//         the program installed for an asynchronous signal (a timer's
//         SIGALRM, a sem_post under the hooks);
//       - an offload job queued or running (its thread may set any event);
//       - a plain thread: any thread of the process but this run's run()
//         thread and the runtime's own threads (os_thread.hpp counts those)
//         might hold a reference to a primitive a fiber waits on and set
//         it later. A mark on primitives touched by a plain thread cannot
//         see this: a std::thread that sleeps 200 ms and then sets an
//         event has touched nothing when the check runs. So the check
//         counts the process's threads (/proc/self/stat), and reports only
//         when it finds no thread it does not know. Another weft::run in
//         the process has a run() thread of its own, so it counts as one;
//         so does the program's main thread blocked in joining this run's
//         thread. That makes the check conservative (no report in a
//         process with unrelated threads: a test runner's watchdog, a
//         library's pool, TSan's background thread), never wrong;
//       - work in flight between carriers: a remote wake-up, a posted
//         cancel, a fiber in a spawn queue (not started yet).
//     A waiter that is a plain thread or a foreign (Boost.Fiber) fiber is
//     not a fiber of the run; a carrier hosting Boost fibers has its host
//     ready or parked in a non-internal wait, so it never looks stuck.
//  2. Cost. Nothing on the park/wake path: the check runs only where a
//     carrier is about to block with no deadline. It walks the carrier's
//     fibers and stops at the first one that is not in an internal wait;
//     that fiber is kept (with a reference) as the carrier's "blocker", and
//     while it stays parked in such a wait the next check rejects in O(1)
//     (a server's listener in its accept wait). Only when the walk passes
//     on every carrier are the process-wide facts (offload, signals,
//     handlers, the thread count: one open/read/close) looked at. Rejected:
//     a count of internal parks kept around park() in fiber_block, which
//     cost 60 instructions (10%) per channel round trip (callgrind,
//     weft_micro channel_round_trip, 588 -> 649): it kept fiber_block from
//     being inlined into block().
//  3. Several carriers. Each carrier that finds itself stuck (note 1, its
//     own fibers) enters a shared word, (generation << 16) | count, with
//     one atomic add, and leaves it after its poll returns, adding
//     (1 << 16) - 1: count - 1 and a new generation, in one step. The
//     carrier whose entry makes the count equal to the number of carriers
//     checks that none has cross-thread work pending and the process-wide
//     facts, then re-reads the word: unchanged means no carrier left its
//     poll in between, so they were all stuck at once and still are (a
//     stuck carrier's state changes only through its remote queue or
//     mailbox, which were seen empty, and nothing is left to push there).
//     Every access to the word is a read-modify-write or a seq_cst load,
//     so each carrier's own check happens-before the reporter reads its
//     fiber list for the dump.
//  4. Report once per run, on the log (log.hpp): the Go-like line, then the
//     dump of every carrier. `report` keeps waiting (a debugger, or a
//     WEFT_DUMP_SIGNAL, may still look); `abort` calls std::abort().
#include "deadlock.hpp"

#include "log.hpp"
#include "offload_pool.hpp"
#include "os_thread.hpp"
#include "raw_syscall.hpp"
#include "sched_registry.hpp"
#include "scheduler.hpp"
#include "signal_notify.hpp"
#include "workers.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/syscall.h>

#include <cstdlib>
#include <sstream>
#include <string>

namespace weft::detail {

// write_fibers() writes one line per live fiber of s (dump.cpp).
void write_fibers(std::ostream& os, const scheduler& s, ns_t now);

namespace {

// This carrier's part: counted in its group's word, and the single-carrier
// run's "reported" flag.
struct carrier_state {
  bool counted = false;
  bool reported = false;
  fiber_ctl* blocker = nullptr;  // note 2; holds a reference
};
__attribute__((tls_model("initial-exec"))) constinit thread_local carrier_state tl_state{};

constexpr std::uint64_t leave_step = (std::uint64_t(1) << 16) - 1;  // count - 1, generation + 1

// stuck_fiber() is true for a fiber parked in an internal wait (note 1).
bool stuck_fiber(const fiber_ctl* f) noexcept {
  return f->state == fiber_state::parked &&
         internal_wait(f->reason, f->timer_index == UINT32_MAX ? no_deadline : f->deadline, f->sig, f->wait_sigmask);
}

// carrier_stuck() is note 1 for s's own fibers: each live one parked in an
// internal wait, no cross-thread work pending. Scheduler thread of s.
bool carrier_stuck(const scheduler& s) noexcept {
  if (s.remote_pending()) return false;
  carrier_state& st = tl_state;
  if (fiber_ctl* b = st.blocker) {  // note 2
    if (!b->orphaned && b->state == fiber_state::parked && !stuck_fiber(b)) return false;
    st.blocker = nullptr;
    release_ref(b);
  }
  fiber_ctl* blocker = nullptr;
  s.for_each_fiber([&](const fiber_ctl* f) {
    if (!blocker && !stuck_fiber(f)) blocker = const_cast<fiber_ctl*>(f);
  });
  if (!blocker) return true;
  if (blocker->state == fiber_state::parked) {  // worth keeping
    blocker->refs.fetch_add(1, std::memory_order_relaxed);
    st.blocker = blocker;
  }
  return false;
}

// process_threads() is the thread count of this process, or -1.
int process_threads() noexcept {
  int fd = int(sys(SYS_openat, AT_FDCWD, "/proc/self/stat", O_RDONLY | O_CLOEXEC));
  if (fd < 0) return -1;
  char buf[1024];
  long n = sys(SYS_read, fd, buf, sizeof buf - 1);
  sys(SYS_close, fd);
  if (n <= 0) return -1;
  buf[n] = 0;
  const char* p = nullptr;
  for (const char* q = buf; *q; ++q)
    if (*q == ')') p = q;  // the command name may hold anything; it ends at the last ')'
  if (!p) return -1;
  // Fields after the name: state is the 3rd; num_threads the 20th.
  for (int field = 2; field < 20 && *p; ++p)
    if (*p == ' ') ++field;
  int t = 0;
  bool any = false;
  for (; *p >= '0' && *p <= '9'; ++p) t = t * 10 + (*p - '0'), any = true;
  return any ? t : -1;
}

// handler_installed() is true if some asynchronous signal has a handler
// (the program's, or the hooks' trampoline for one): a timer signal
// (alarm, setitimer) or another process may run it, and it may wake a
// fiber (a sem_post under the hooks). The runtime's own handlers are not
// counted: fault signals (overflow), the dump signal, the monitor's;
// nor glibc's (32, 33).
bool handler_installed(int dump_signal) noexcept {
  struct kernel_sigaction {
    void* handler;
    unsigned long flags;
    void* restorer;
    unsigned long mask;
  };
  for (int sig = 1; sig < NSIG; ++sig) {
    switch (sig) {
      case SIGKILL: case SIGSTOP: case SIGSEGV: case SIGBUS: case SIGILL: case SIGFPE: case SIGTRAP: case SIGSYS:
        continue;
      default:
        break;
    }
    if (sig == dump_signal || sig == SIGRTMIN + 4) continue;  // monitor.cpp's report signal
    if (sig >= 32 && sig < SIGRTMIN) continue;               // glibc's own (thread cancellation, setxid)
    kernel_sigaction ks{};
    if (sys(SYS_rt_sigaction, sig, nullptr, &ks, sizeof(unsigned long)) != 0) continue;
    if (ks.handler != reinterpret_cast<void*>(SIG_DFL) && ks.handler != reinterpret_cast<void*>(SIG_IGN)) return true;
  }
  return false;
}

// outside_quiet() is note 1's process-wide part: nothing outside the run
// can wake a fiber. Any carrier.
bool outside_quiet(const scheduler& s) noexcept {
  if (offload_busy() || signal_receivers_active() || handler_installed(s.settings().dump_signal)) return false;
  int all = process_threads();
  // This run's run() thread is the one thread that is not the runtime's.
  return all > 0 && all - runtime_threads() <= 1;
}

// report() prints note 4's report of the carriers `scheds` (n of them)
// and acts per the mode.
void report(scheduler* const* scheds, std::size_t n, deadlock_action mode) noexcept {
  std::string text;
  try {
    std::ostringstream os;
    ns_t now = now_ns();
    os << "weft: all fibers are asleep - deadlock!\n";
    for (std::size_t i = 0; i < n; ++i) {
      const scheduler& s = *scheds[i];
      os << "weft: ";
      if (n > 1) os << "carrier " << i << ": ";
      os << s.live() << " fiber(s), poller " << const_cast<scheduler&>(s).io().name() << "\n";
      write_fibers(os, s, now);
    }
    text = os.str();
  } catch (...) {
    text = "weft: all fibers are asleep - deadlock!\n";
  }
  log_printf("%s", text.c_str());
  if (mode == deadlock_action::abort) std::abort();
}

}  // namespace

void deadlock_attach(scheduler&) noexcept { tl_state = carrier_state{}; }

void deadlock_detach(scheduler&) noexcept {
  if (fiber_ctl* b = tl_state.blocker) release_ref(b);
  tl_state = carrier_state{};
}

void deadlock_before_block(scheduler& s) noexcept {
  deadlock_action mode = s.settings().on_deadlock;
  if (mode == deadlock_action::ignore) return;
  worker_group* g = s.group();
  if (!g) {
    if (tl_state.reported || s.live() == 0 || !carrier_stuck(s) || !outside_quiet(s)) return;
    tl_state.reported = true;
    scheduler* one = &s;
    report(&one, 1, mode);
    return;
  }
  deadlock_group& d = g->deadlock;
  if (d.reported.load(std::memory_order_relaxed) || !carrier_stuck(s)) return;
  tl_state.counted = true;
  std::uint64_t w = d.word.fetch_add(1, std::memory_order_seq_cst) + 1;
  std::size_t n = g->size();
  if ((w & 0xffff) != n) return;
  std::size_t live = 0;
  for (std::size_t i = 0; i < n; ++i) {
    scheduler* c = g->at(i);
    if (c->remote_pending()) return;
    live += c->live();
  }
  if (live == 0 || !outside_quiet(s)) return;
  if (d.word.load(std::memory_order_seq_cst) != w) return;  // a carrier woke meanwhile
  if (d.reported.exchange(true, std::memory_order_seq_cst)) return;
  constexpr std::size_t cap = max_schedulers;
  scheduler* all[cap];
  for (std::size_t i = 0; i < n && i < cap; ++i) all[i] = g->at(i);
  report(all, n < cap ? n : cap, mode);
}

void deadlock_after_block(scheduler& s) noexcept {
  if (!tl_state.counted) return;
  tl_state.counted = false;
  s.group()->deadlock.word.fetch_add(leave_step, std::memory_order_seq_cst);
}

}  // namespace weft::detail
