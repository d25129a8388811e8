// weft/run.hpp — weft::run, the entry into the fiber world.
//
// run(root) binds a scheduler to the calling thread, runs root() as the
// first fiber ("main"), and returns its result (or rethrows its exception)
// once it has finished and every other fiber still alive has been cancelled
// and unwound. Several threads may each call run() at once; each gets its own
// scheduler. Nesting run() on one thread is a usage_error.
#pragma once
#include <weft/detail/export.hpp>
#include <weft/fiber.hpp>

#include <cstddef>
#include <string>

namespace weft {

// What a run does when every one of its fibers waits for something only
// another fiber of the run could provide, so that none can ever wake (Go's
// "all goroutines are asleep - deadlock!", gevent's LoopExit): see
// config::on_deadlock and docs/api.md, "Deadlock reports".
enum class deadlock_action : unsigned char {
  report,  // print "weft: all fibers are asleep - deadlock!" and the fiber dump once; keep waiting
  abort,   // print the same, then std::abort() (a core dump to inspect)
  ignore,  // say nothing, keep waiting
};

// Scheduler settings. Zero/empty fields take the default (but workers = 0
// is "one per CPU"); the environment (WEFT_STACK_SIZE, WEFT_WORKERS: a
// number or "auto", WEFT_BACKEND, WEFT_MONITOR_MS, WEFT_ON_DEADLOCK) overrides what is set
// here. WEFT_DUMP_SIGNAL=SIGQUIT (a name or number) makes that signal print
// weft::dump with backtraces to stderr.
struct config {
  std::size_t stack_size = 0;  // default stack per fiber, bytes (default 64 KiB)
  // carrier threads, 1..64 (default 1); new fibers are spread over them.
  // 0 = one per CPU the process may use: its affinity mask and its cgroup
  // v2 CPU quota (rounded up), at least 1, at most 64.
  unsigned workers = 1;
  std::string backend{};       // poller backend: "epoll" (default), "uring" (io_uring; usage_error if refused), "auto" (= epoll)
  unsigned monitor_ms = 0;     // report a fiber holding its carrier this long without switching (0 = off)
  // weft::offload's pool (weft/offload.hpp), shared by the process: thread
  // limit, 1..1024 (default 10; WEFT_OFFLOAD_THREADS), and how long an idle
  // pool thread lives (default 5,000 ms; WEFT_OFFLOAD_IDLE_MS).
  unsigned offload_threads = 0;
  unsigned offload_idle_ms = 0;
  // What to do on a deadlock of the run's fibers (deadlock_action above);
  // WEFT_ON_DEADLOCK=report|abort|ignore overrides it.
  deadlock_action on_deadlock = deadlock_action::report;
};

namespace detail {
// Binds a scheduler to the calling thread for its lifetime; the destructor
// cancels and unwinds the fibers still alive, then frees the scheduler.
class WEFT_API run_scope {
 public:
  explicit run_scope(const config& c);
  ~run_scope();
  run_scope(const run_scope&) = delete;
  run_scope& operator=(const run_scope&) = delete;
};
}  // namespace detail

// run(c, root) runs root as the root fiber; see the file comment.
template <class F>
auto run(const config& c, F&& root) -> std::invoke_result_t<std::decay_t<F>&> {
  detail::run_scope scope(c);
  auto f = weft::spawn(spawn_options{.name = "main"}, std::forward<F>(root));
  return f.join();
}

// run(root) is run(config{}, root).
template <class F>
auto run(F&& root) -> std::invoke_result_t<std::decay_t<F>&> {
  return run(config{}, std::forward<F>(root));
}

}  // namespace weft
