// hooks/threads/common.cpp — mode flag, caller identity, real-function
// lookup and time conversion shared by the pthread hooks.
#include "common.hpp"

#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>

namespace weft::hooks::threads {
namespace {

__attribute__((tls_model("initial-exec"))) constinit thread_local int tl_tid = 0;

// raw_err() writes to weft's report log (stderr unless WEFT_LOG says).
void raw_err(const char* s) noexcept { rt::log(s); }

}  // namespace

bool fibers_mode() noexcept {
  static const bool on = [] {
    const char* v = std::getenv("WEFT_THREADS");
    if (v && std::strcmp(v, "fibers") == 0) {
      // A fork()ed child has new tids, and only the forking thread.
      pthread_atfork(nullptr, nullptr, [] {
        tl_tid = 0;
        threads_after_fork_child();
      });
      return true;
    }
    return false;
  }();
  return on;
}

int owner_id() noexcept {
  if (rt::fiber* f = current_fiber()) return -static_cast<int>(rt::id(f) % 0x7fffffffu) - 1;
  if (__builtin_expect(tl_tid == 0, 0)) tl_tid = static_cast<int>(::syscall(SYS_gettid));
  return tl_tid;
}

ns_t deadline_from(clockid_t clock, const timespec* abstime) noexcept {
  if (!abstime || abstime->tv_nsec < 0 || abstime->tv_nsec >= 1000000000) return -1;
  timespec now;
  clock_gettime(clock, &now);
  ns_t left = (static_cast<ns_t>(abstime->tv_sec) - now.tv_sec) * 1000000000 + (abstime->tv_nsec - now.tv_nsec);
  ns_t mono = detail::now_ns();
  if (left <= 0) return mono;
  if (left >= detail::no_deadline - mono) return detail::no_deadline;
  return mono + left;
}

void warn_once(std::atomic<bool>& flag, const char* msg) noexcept {
  if (flag.exchange(true, std::memory_order_relaxed)) return;
  raw_err("weft-run: ");
  raw_err(msg);
  raw_err("\n");
}

}  // namespace weft::hooks::threads
