// runtime/run.cpp — weft::run's scope: config resolution, scheduler setup
// and the orderly shutdown (cancel and unwind every fiber still alive).
#include "sched_registry.hpp"
#include "cpu_count.hpp"
#include "offload_pool.hpp"
#include "dump_signal.hpp"
#include "os_thread.hpp"
#include "scheduler.hpp"
#include "workers.hpp"

#include <weft/run.hpp>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>

namespace weft::detail {
namespace {

constexpr std::size_t default_stack = 64 * 1024;
constexpr std::size_t min_stack = 16 * 1024;
constexpr std::size_t max_stack = std::size_t(1) << 30;

// env_size() parses WEFT_<name> as bytes with an optional K/M/G suffix.
bool env_size(const char* var, std::size_t* out) {
  const char* v = std::getenv(var);
  if (!v || !*v) return false;
  char* end;
  errno = 0;
  unsigned long long n = std::strtoull(v, &end, 10);
  std::size_t mul = 1;
  if (*end == 'k' || *end == 'K') mul = 1024, ++end;
  else if (*end == 'm' || *end == 'M') mul = 1024 * 1024, ++end;
  else if (*end == 'g' || *end == 'G') mul = 1024 * 1024 * 1024, ++end;
  if (errno || end == v || *end || n == 0) throw usage_error(std::string(var) + "=\"" + v + "\": expected a positive number, optionally with K, M or G");
  *out = static_cast<std::size_t>(n) * mul;
  return true;
}

// The thread's scheduler while run() is active. A raw pointer on purpose: if
// the program calls exit() from a fiber, thread-local destructors run while
// fibers are alive, and the scheduler must then be left alone, not freed.
scheduler*& thread_sched() {
  thread_local scheduler* s = nullptr;
  return s;
}

}  // namespace

resolved_config resolve_config(const config& c) {
  resolved_config r{c.stack_size ? c.stack_size : default_stack, c.workers, c.backend, c.monitor_ms, 0};
  env_size("WEFT_STACK_SIZE", &r.stack_size);
  if (const char* w = std::getenv("WEFT_WORKERS"); w && *w) {
    std::size_t n;
    if (std::strcmp(w, "auto") == 0 || std::strcmp(w, "0") == 0) r.workers = 0;
    else if (env_size("WEFT_WORKERS", &n)) r.workers = n > max_schedulers ? max_schedulers + 1 : static_cast<unsigned>(n);
  }
  if (r.workers == 0) {  // one carrier per CPU the process may use (cpu_count.hpp)
    unsigned cpus = usable_cpus();
    r.workers = cpus < max_schedulers ? cpus : max_schedulers;
  }
  if (const char* b = std::getenv("WEFT_BACKEND"); b && *b) r.backend = b;
  std::size_t ms;
  if (env_size("WEFT_MONITOR_MS", &ms)) r.monitor_ms = static_cast<unsigned>(ms < 1u << 30 ? ms : 1u << 30);
  if (const char* d = std::getenv("WEFT_DUMP_SIGNAL"); d && *d) r.dump_signal = parse_signal(d, "WEFT_DUMP_SIGNAL");
  r.offload_threads = c.offload_threads ? c.offload_threads : default_offload_threads;
  r.offload_idle_ms = c.offload_idle_ms ? c.offload_idle_ms : default_offload_idle_ms;
  std::size_t n;
  if (env_size("WEFT_OFFLOAD_THREADS", &n)) r.offload_threads = n > max_offload_threads ? max_offload_threads + 1 : static_cast<unsigned>(n);
  if (env_size("WEFT_OFFLOAD_IDLE_MS", &n)) r.offload_idle_ms = static_cast<unsigned>(n < 1u << 30 ? n : 1u << 30);
  r.on_deadlock = c.on_deadlock;
  if (const char* d = std::getenv("WEFT_ON_DEADLOCK"); d && *d) {
    if (std::strcmp(d, "report") == 0) r.on_deadlock = deadlock_action::report;
    else if (std::strcmp(d, "abort") == 0) r.on_deadlock = deadlock_action::abort;
    else if (std::strcmp(d, "ignore") == 0) r.on_deadlock = deadlock_action::ignore;
    else throw usage_error(std::string("WEFT_ON_DEADLOCK=\"") + d + "\": expected report, abort or ignore");
  }
  if (r.offload_threads > max_offload_threads)
    throw usage_error("weft::config: offload_threads = " + std::to_string(r.offload_threads) + " is outside [1, " +
                      std::to_string(max_offload_threads) + "]");
  if (r.stack_size < min_stack || r.stack_size > max_stack)
    throw usage_error("weft::config: stack_size " + std::to_string(r.stack_size) + " is outside [16 KiB, 1 GiB]");
  if (r.workers < 1 || r.workers > max_schedulers)
    throw usage_error("weft::config: workers = " + std::to_string(r.workers) + " is outside [1, " +
                      std::to_string(max_schedulers) + "]");
  return r;
}

run_scope::run_scope(const config& c) {
  if (scheduler::current())
    throw usage_error("weft::run: this thread already runs a weft scheduler (nested run)");
  resolved_config rc = resolve_config(c);
  configure_offload(rc.offload_threads, rc.offload_idle_ms);
  note_program_sigmask();  // what programs started from worker carriers inherit (process.hpp)
  auto s = std::make_unique<scheduler>(rc);
  s->bind();
  if (rc.workers > 1) {
    try {
      new worker_group(rc, s.get());  // sets itself as every carrier's group
    } catch (...) {
      s->unbind();
      throw;
    }
  }
  thread_sched() = s.release();
}

run_scope::~run_scope() {
  scheduler* s = thread_sched();
  worker_group* g = s->group();
  if (g) g->request_stop();  // the other carriers cancel their fibers meanwhile
  s->shutdown();
  if (g) {
    g->join();
    delete g;
  }
  s->unbind();
  thread_sched() = nullptr;
  delete s;
}

}  // namespace weft::detail
