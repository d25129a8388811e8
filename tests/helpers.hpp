// tests/helpers.hpp — small helpers shared by the core tests (and the watchdog).
#pragma once
#include "watchdog.hpp"

#include <weft/weft.hpp>

#include <gtest/gtest.h>

#include <dirent.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <memory>
#include <stdexcept>
#include <string>
#include <type_traits>

namespace weft_test {

using namespace std::chrono_literals;

// os_threads() counts the threads of this process (/proc/self/task).
inline int os_threads() {
  int n = 0;
  if (DIR* d = opendir("/proc/self/task")) {
    while (dirent* e = readdir(d)) n += e->d_name[0] != '.';
    closedir(d);
  }
  return n;
}

// two_workers() is a config with two carriers (cross-carrier cases).
inline weft::config two_workers() {
  weft::config c;
  c.workers = 2;
  return c;
}
using steady = std::chrono::steady_clock;

// carrier_tid() is the kernel id of the calling thread. Callable anywhere.
inline pid_t carrier_tid() { return static_cast<pid_t>(::syscall(SYS_gettid)); }

// spawn_elsewhere(fn) spawns fn on a carrier other than the calling fiber's
// (a run with workers >= 2). Stealing decides where a fiber runs, so each try
// spawns a candidate and keeps this carrier busy for 2 ms, long enough for an
// idle carrier to steal it; a candidate that starts here returns at once (a
// default value) and the next try begins. Throws std::runtime_error after
// 100 tries. Fiber only.
template <class F>
auto spawn_elsewhere(F fn) -> weft::fiber<std::invoke_result_t<F&>> {
  using R = std::invoke_result_t<F&>;
  pid_t me = carrier_tid();
  for (int tries = 0; tries < 100; ++tries) {
    auto where = std::make_shared<std::atomic<int>>(0);  // 1: started here, 2: elsewhere
    auto f = weft::spawn([where, me, fn]() mutable -> R {
      if (carrier_tid() == me) {
        where->store(1);
        if constexpr (!std::is_void_v<R>) return R{};
        else return;
      }
      where->store(2);
      return fn();
    });
    for (auto t0 = steady::now(); where->load() == 0 && steady::now() - t0 < std::chrono::milliseconds(2);) {
    }
    while (where->load() == 0) weft::this_fiber::sleep_for(std::chrono::milliseconds(1));
    if (where->load() == 2) return f;
    f.join();
  }
  throw std::runtime_error("spawn_elsewhere: no other carrier took a fiber in 100 tries");
}

// elapsed_ms(t0) is the time since t0 in milliseconds; callable anywhere.
inline double elapsed_ms(steady::time_point t0) {
  return std::chrono::duration<double, std::milli>(steady::now() - t0).count();
}

// settle(n) yields n times so that every ready fiber of this scheduler runs
// until it parks. Fiber only.
inline void settle(int n = 10) {
  for (int i = 0; i < n; ++i) weft::this_fiber::yield();
}

// eventually(pred, limit) polls pred() every millisecond (sleeping with
// weft, so it works from fibers and plain threads) until it is true or limit
// passes; returns pred()'s last value.
template <class Pred>
bool eventually(Pred pred, std::chrono::milliseconds limit = std::chrono::milliseconds(5000)) {
  auto t0 = steady::now();
  while (!pred()) {
    if (steady::now() - t0 > limit) return pred();
    weft::this_fiber::sleep_for(std::chrono::milliseconds(1));
  }
  return true;
}

// what_of(e) is the what() of a std::exception inside e, "<null>" for a null
// pointer and "<other>" for anything else. Callable anywhere.
inline std::string what_of(std::exception_ptr e) {
  if (!e) return "<null>";
  try {
    std::rethrow_exception(e);
  } catch (const std::exception& x) {
    return x.what();
  } catch (...) {
    return "<other>";
  }
}

// count_on_destroy bumps *n when destroyed: proves RAII cleanup ran in a
// fiber that was cancelled or unwound. Any thread.
struct count_on_destroy {
  std::atomic<int>* n;
  ~count_on_destroy() { n->fetch_add(1); }
};

// burn_stack(depth) recurses depth frames of a bit over 1 KiB each, writing
// to both ends of every frame; returns a checksum so nothing is elided.
__attribute__((noinline)) inline int burn_stack(int depth) {
  volatile char buf[1024];
  buf[0] = static_cast<char>(depth);
  buf[sizeof buf - 1] = 1;
  if (depth <= 0) return buf[sizeof buf - 1];
  return burn_stack(depth - 1) + buf[sizeof buf - 1];
}

}  // namespace weft_test

// WEFT_EXPECT_FINISHES_WITHIN(secs, stmt) runs stmt in a child process (the
// gtest death-test machinery, "threadsafe" style) that must finish within
// secs seconds with no failed expectation. A hang there fails this one test
// (the child dies of SIGALRM) instead of the watchdog ending the process.
#define WEFT_EXPECT_FINISHES_WITHIN(secs, stmt)                                      \
  do {                                                                               \
    GTEST_FLAG_SET(death_test_style, "threadsafe");                                  \
    EXPECT_EXIT(                                                                     \
        {                                                                            \
          ::alarm(secs);                                                             \
          stmt;                                                                      \
          std::fflush(nullptr);                                                      \
          std::_Exit(::testing::Test::HasFailure() ? 1 : 0);                         \
        },                                                                           \
        ::testing::ExitedWithCode(0), "")                                            \
        << "the statement failed, or hung for " << (secs) << " s (killed by SIGALRM)"; \
  } while (0)
