// runtime/monitor.cpp — the blocking monitor. See monitor.hpp.
#include "monitor.hpp"

#include "os_thread.hpp"
#include "scheduler.hpp"
#include "sigsafe.hpp"

#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <vector>

namespace weft::detail {
namespace {

// One watched carrier.
struct watched {
  scheduler* s;
  pthread_t thread;
  unsigned ms;
  std::uint64_t last = ~std::uint64_t(0);  // progress() at the last change
  ns_t since = 0;                          // when it last changed
  bool reported = false;                   // this episode was reported
};

// Shared with the watchdog thread; never destroyed (the detached thread may
// outlive static destruction at exit).
struct monitor_state {
  std::mutex mu;
  std::condition_variable cv;
  std::vector<watched> carriers;
  bool thread_started = false;
};
monitor_state& state() {
  static monitor_state* m = new monitor_state;
  return *m;
}

int report_signal() { return SIGRTMIN + 4; }

char g_tmpdir[256] = "/tmp";  // where backtraces go when reports go to stderr

// backtrace_file() opens the file a report's backtrace goes to when the
// reports themselves go to stderr: <tmpdir>/weft-monitor.<pid>.log, its
// name in `name`. Async-signal-safe.
int backtrace_file(sig_line& name) noexcept {
  name.put(g_tmpdir).put("/weft-monitor.").dec(static_cast<std::uint64_t>(getpid())).put(".log");
  char path[512];
  std::size_t n = name.copy(path, sizeof path - 1);
  path[n] = '\0';
  return static_cast<int>(syscall(SYS_open, path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600));
}

// on_report() runs on the held carrier: a short report naming the running
// fiber, and the carrier's backtrace in the log file (or in a file of its
// own when reports go to stderr). Async-signal-safe output only.
void on_report(int, siginfo_t* si, void*) {
  int saved = errno;
  sig_line out;
  scheduler* s = tl_sched;
  const fiber_ctl* f = s ? s->running() : nullptr;
  out.put("weft: monitor: ");
  if (!f) {
    out.put("a carrier that no longer runs weft was held\n").flush();
    errno = saved;
    return;
  }
  out.put("fiber ").dec(f->id).put(" \"").put(f->name.c_str()).put("\" held its carrier ")
      .dec(static_cast<unsigned>(si->si_value.sival_int)).put(" ms without switching (threshold ")
      .dec(s->settings().monitor_ms).put(" ms), spawned at ").put(f->spawn_file).put(":").dec(f->spawn_line);
  // Its fibers that have not started are not held with it: idle carriers steal them.
  if (s->group())
    if (std::uint32_t n = s->unstarted()) out.put("; ").dec(n).put(" fiber(s) spawned there and not started yet are left to the other carriers");
  if (log_path()) {
    out.put("; backtrace follows\n").flush();
    sig_backtrace();
  } else {
    sig_line name;
    int fd = backtrace_file(name);
    if (fd >= 0) {
      sig_line head;
      head.put(out).put("\n").flush_to(fd);
      sig_backtrace(fd);
      syscall(SYS_close, fd);
      out.put("; backtrace in ").put(name);
    }
    out.put("\n").flush();
  }
  errno = saved;
}

// check() samples one carrier; returns the held time to report, or 0.
unsigned check(watched& w, ns_t now) {
  std::uint64_t p = w.s->progress();
  if (p != w.last || w.s->idle()) {
    w.last = p;
    w.since = now;
    w.reported = false;
    return 0;
  }
  ns_t held = now - w.since;
  if (w.reported || held < ns_t(w.ms) * 1000000) return 0;
  w.reported = true;
  return static_cast<unsigned>(held / 1000000);
}

void watchdog_loop() {
  monitor_state& m = state();
  std::unique_lock lk(m.mu);
  for (;;) {
    if (m.carriers.empty()) {
      m.cv.wait(lk);
      continue;
    }
    unsigned period = ~0u;
    for (const watched& w : m.carriers) period = std::min(period, std::max(1u, w.ms / 4));
    m.cv.wait_for(lk, std::chrono::milliseconds(period));
    ns_t now = now_ns();
    for (watched& w : m.carriers)
      if (unsigned held = check(w, now)) {
        sigval v;
        v.sival_int = static_cast<int>(held);
        pthread_sigqueue(w.thread, report_signal(), v);  // under mu: the carrier cannot detach meanwhile
      }
  }
}

void install_report_handler() {
  warm_backtrace();
  if (const char* t = std::getenv("TMPDIR"); t && *t && std::strlen(t) < sizeof g_tmpdir)
    std::strcpy(g_tmpdir, t);
  struct sigaction sa {};
  sa.sa_sigaction = &on_report;
  sa.sa_flags = SA_SIGINFO | SA_ONSTACK | SA_RESTART;
  sigemptyset(&sa.sa_mask);
  runtime_sigaction(report_signal(), &sa, nullptr);
}

}  // namespace

void monitor_attach(scheduler& s, unsigned ms) {
  static std::once_flag once;
  std::call_once(once, install_report_handler);
  monitor_state& m = state();
  std::lock_guard lk(m.mu);
  m.carriers.push_back(watched{&s, pthread_self(), ms});
  if (!m.thread_started) {
    // A runtime thread like the carriers: real pthread_create (never a
    // fiber under weft-run), async signals blocked, so that a
    // process-directed signal the program blocks on its own threads (for
    // sigwait) cannot land here and kill the process. Never joined.
    (void)start_os_thread([](void*) -> void* { watchdog_loop(); return nullptr; }, nullptr);
    m.thread_started = true;
  }
  m.cv.notify_all();
}

void monitor_detach(scheduler& s) noexcept {
  monitor_state& m = state();
  std::lock_guard lk(m.mu);
  std::erase_if(m.carriers, [&](const watched& w) { return w.s == &s; });
}

}  // namespace weft::detail
