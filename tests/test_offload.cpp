// tests/test_offload.cpp — weft::offload: fn runs on a pool thread while the
// fiber parks (other fibers keep running); results, exceptions, cancel and
// timeout during the call, a bounded pool under 10,000 queued jobs, run()
// shutting down while jobs run, plain-thread callers, idle threads exiting.
#include "helpers.hpp"

#include <weft/offload.hpp>

#include <dirent.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <memory>
#include <string>
#include <stdexcept>
#include <stop_token>
#include <thread>
#include <vector>

using namespace weft_test;

namespace {

pid_t tid() { return static_cast<pid_t>(syscall(SYS_gettid)); }

// pool_threads() counts this process's threads named "weft-offload".
int pool_threads() {
  int n = 0;
  if (DIR* d = opendir("/proc/self/task")) {
    while (dirent* e = readdir(d)) {
      if (e->d_name[0] == '.') continue;
      char name[64] = {};
      std::string p = std::string("/proc/self/task/") + e->d_name + "/comm";
      if (FILE* f = std::fopen(p.c_str(), "r")) {
        if (std::fgets(name, sizeof name, f)) n += std::string(name) == "weft-offload\n";
        std::fclose(f);
      }
    }
    closedir(d);
  }
  return n;
}

// pool_of(n, idle_ms) is a one-carrier config whose offload pool has n
// threads that retire after idle_ms.
weft::config pool_of(unsigned n, unsigned idle_ms = 5000) {
  weft::config c;
  c.offload_threads = n;
  c.offload_idle_ms = idle_ms;
  return c;
}

// wait_until() spins (plain thread) until pred() or 10 s pass.
template <class P>
bool wait_until(P pred) {
  auto t0 = steady::now();
  while (!pred()) {
    if (steady::now() - t0 > 10s) return false;
    std::this_thread::sleep_for(1ms);
  }
  return true;
}

}  // namespace

// fn runs on another OS thread and returns its value; the carrier's other
// fibers run meanwhile.
TEST(Offload, ResultWhileOthersRun) {
  weft::run(pool_of(2), [] {
    std::atomic<int> ticks{0};
    bool stop = false;
    auto ticker = weft::spawn([&] {
      while (!stop) {
        weft::this_fiber::sleep_for(1ms);
        ticks.fetch_add(1, std::memory_order_relaxed);
      }
    });
    pid_t me = tid();
    int ticks_during = 0;
    auto [v, where] = weft::offload([&] {
      std::this_thread::sleep_for(100ms);  // blocks the pool thread, not the carrier
      ticks_during = ticks.load(std::memory_order_relaxed);
      return std::make_pair(42, tid());
    });
    stop = true;
    ticker.join();
    EXPECT_EQ(v, 42);
    EXPECT_NE(where, me);
    EXPECT_GE(ticks_during, 20);  // 100 ms of 1 ms ticks; generous for a loaded machine
  });
}

// void and reference results, move-only callables.
TEST(Offload, VoidReferenceAndMoveOnly) {
  weft::run([] {
    int x = 0;
    weft::offload([&] { x = 7; });
    EXPECT_EQ(x, 7);
    int& r = weft::offload([&]() -> int& { return x; });
    EXPECT_EQ(&r, &x);
    auto p = std::make_unique<int>(5);
    EXPECT_EQ(weft::offload([p = std::move(p)] { return *p + 1; }), 6);
  });
}

// fn's exception reaches the caller with its type.
TEST(Offload, ExceptionIsRethrown) {
  weft::run([] {
    EXPECT_THROW(weft::offload([]() -> int { throw std::out_of_range("nope"); }), std::out_of_range);
    try {
      weft::offload([] { throw std::runtime_error("from the pool"); });
      ADD_FAILURE() << "no exception";
    } catch (const std::runtime_error& e) {
      EXPECT_STREQ(e.what(), "from the pool");
    }
  });
}

// A cancel during the call stops the wait at once; fn runs to completion.
TEST(Offload, CancelDuringTheCall) {
  std::atomic<bool> fn_done{false};
  weft::run([&] {
    std::atomic<bool> started{false};
    auto f = weft::spawn([&] {
      return weft::offload([&] {
        started = true;
        std::this_thread::sleep_for(300ms);
        fn_done = true;
        return 1;
      });
    });
    ASSERT_TRUE(eventually([&] { return started.load(); }));
    auto t0 = steady::now();
    f.cancel();
    EXPECT_THROW(f.join(), weft::cancelled);
    EXPECT_LT(elapsed_ms(t0), 150.0);
    EXPECT_FALSE(fn_done.load());
  });
  EXPECT_TRUE(wait_until([&] { return fn_done.load(); }));
}

// An enclosing weft::timeout ends the wait with timed_out.
TEST(Offload, TimeoutDuringTheCall) {
  std::atomic<bool> fn_done{false};
  weft::run([&] {
    auto t0 = steady::now();
    try {
      weft::timeout t(30ms);
      weft::offload([&] {
        std::this_thread::sleep_for(300ms);
        fn_done = true;
      });
      ADD_FAILURE() << "no timeout";
    } catch (const weft::timed_out&) {
    }
    double ms = elapsed_ms(t0);
    EXPECT_GE(ms, 25.0);
    EXPECT_LT(ms, 200.0);
    EXPECT_FALSE(fn_done.load());
  });
  EXPECT_TRUE(wait_until([&] { return fn_done.load(); }));
}

// A fn that takes a stop token sees stop requested when its caller leaves.
TEST(Offload, StopTokenSeesTheCancel) {
  std::atomic<bool> saw_stop{false};
  weft::run([&] {
    std::atomic<bool> started{false};
    auto f = weft::spawn([&] {
      weft::offload([&](std::stop_token st) {
        started = true;
        auto t0 = steady::now();
        while (!st.stop_requested() && steady::now() - t0 < 10s) std::this_thread::sleep_for(1ms);
        saw_stop = st.stop_requested();
      });
    });
    ASSERT_TRUE(eventually([&] { return started.load(); }));
    f.cancel();
    EXPECT_THROW(f.join(), weft::cancelled);
  });
  EXPECT_TRUE(wait_until([&] { return saw_stop.load(); }));
}

// A fiber cancelled before the call throws without running fn.
TEST(Offload, AlreadyCancelledNeverRuns) {
  std::atomic<int> runs{0};
  weft::run([&] {
    auto f = weft::spawn([&] {
      weft::this_fiber::sleep_for(10s);  // cancelled here; the handler offloads
    });
    auto g = weft::spawn([&] {
      try {
        weft::this_fiber::sleep_for(10s);
      } catch (const weft::cancelled&) {
        weft::offload([&] { ++runs; });  // inside a handler, not unwinding: throws again
      }
    });
    settle();
    f.cancel();
    g.cancel();
    EXPECT_THROW(f.join(), weft::cancelled);
    EXPECT_THROW(g.join(), weft::cancelled);
  });
  EXPECT_EQ(runs.load(), 0);
}

// 10,000 jobs queued at once on a pool of 4: each runs exactly once, never
// more than 4 at a time, on at most 4 threads.
// (Under TSan 4,000: it counts each live fiber as a thread, 8,128 at most.)
TEST(Offload, TenThousandJobsOnFourThreads) {
#if defined(__SANITIZE_THREAD__)
  constexpr int kJobs = 4000;
#else
  constexpr int kJobs = 10000;
#endif
  std::vector<std::atomic<int>> ran(kJobs);
  std::atomic<int> inflight{0}, peak{0};
  std::vector<pid_t> tids(kJobs);
  weft::run(pool_of(4), [&] {
    std::vector<weft::fiber<int>> fs;
    fs.reserve(kJobs);
    for (int i = 0; i < kJobs; ++i)
      fs.push_back(weft::spawn(weft::spawn_options{.stack_size = 16 * 1024}, [&, i] {
        return weft::offload([&, i] {
          int now = inflight.fetch_add(1) + 1;
          for (int p = peak.load(); now > p && !peak.compare_exchange_weak(p, now);) {
          }
          ran[i].fetch_add(1);
          tids[i] = tid();
          inflight.fetch_sub(1);
          return i;
        });
      }));
    long sum = 0;
    for (auto& f : fs) sum += f.join();
    EXPECT_EQ(sum, long{kJobs} * (kJobs - 1) / 2);
  });
  for (int i = 0; i < kJobs; ++i) ASSERT_EQ(ran[i].load(), 1) << "job " << i;
  EXPECT_LE(peak.load(), 4);
  std::sort(tids.begin(), tids.end());
  EXPECT_LE(std::unique(tids.begin(), tids.end()) - tids.begin(), 4);
}

// run() ends while jobs run: their callers are cancelled at once, the jobs
// finish on their own, and the pool is usable afterwards.
TEST(Offload, ShutdownWhileJobsRun) {
  constexpr int kJobs = 6;
  std::atomic<int> finished{0}, started{0};
  auto t0 = steady::now();
  weft::run(pool_of(kJobs), [&] {
    for (int i = 0; i < kJobs; ++i)
      weft::spawn([&] {
        weft::offload([&] {
          ++started;
          std::this_thread::sleep_for(300ms);
          ++finished;
        });
      }).detach();
    eventually([&] { return started.load() == kJobs; });
  });
  EXPECT_LT(elapsed_ms(t0), 250.0);
  EXPECT_EQ(started.load(), kJobs);
  EXPECT_LT(finished.load(), kJobs);
  EXPECT_TRUE(wait_until([&] { return finished.load() == kJobs; }));
  EXPECT_EQ(weft::run([] { return weft::offload([] { return 3; }); }), 3);
}

// Off a fiber offload is a plain call, on the calling thread; a pool thread
// is such a caller too.
TEST(Offload, PlainThreadCallsDirectly) {
  pid_t here = 0, ran_on = 0;
  std::thread t([&] {
    here = tid();
    ran_on = weft::offload([] { return tid(); });
  });
  t.join();
  EXPECT_EQ(here, ran_on);
  weft::run([] {
    auto [outer, inner] = weft::offload([] { return std::make_pair(tid(), weft::offload([] { return tid(); })); });
    EXPECT_EQ(outer, inner);
    EXPECT_NE(outer, tid());
  });
}

// Threads idle for offload_idle_ms exit; the pool starts new ones later.
TEST(Offload, IdleThreadsExit) {
  int during = 0;
  weft::run(pool_of(3, 50), [&] {
    EXPECT_TRUE(eventually([] { return pool_threads() == 0; }));  // earlier tests' threads, woken to retire
    std::vector<weft::fiber<void>> fs;
    std::atomic<int> in{0};
    for (int i = 0; i < 3; ++i)
      fs.push_back(weft::spawn([&] {
        weft::offload([&] {
          ++in;
          while (in.load() < 3) std::this_thread::sleep_for(1ms);  // all three at once
        });
      }));
    for (auto& f : fs) f.join();
    during = pool_threads();
  });
  EXPECT_EQ(during, 3);
  EXPECT_TRUE(wait_until([&] { return pool_threads() == 0; }));
  EXPECT_EQ(weft::run(pool_of(3, 50), [] { return weft::offload([] { return 9; }); }), 9);
}

// Several carriers offload at once; every result comes back to its fiber.
TEST(Offload, ManyCarriers) {
  weft::config c = pool_of(3);
  c.workers = 2;
  long sum = weft::run(c, [] {
    std::vector<weft::fiber<long>> fs;
    for (int i = 0; i < 200; ++i)
      fs.push_back(weft::spawn([i] {
        long s = 0;
        for (int k = 0; k < 10; ++k) s += weft::offload([=] { return long{i} * 10 + k; });
        return s;
      }));
    long s = 0;
    for (auto& f : fs) s += f.join();
    return s;
  });
  EXPECT_EQ(sum, 2000L * 1999 / 2);
}
