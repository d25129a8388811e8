// tests/test_run.cpp — weft::run: results, exceptions, nesting, several
// threads at once, and the shutdown that cancels and unwinds leftover fibers.
#include "helpers.hpp"

#include <cstdlib>
#include <latch>
#include <memory>
#include <mutex>
#include <set>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

using namespace weft_test;

// run() returns the root's value.
TEST(Run, ReturnsRootValue) {
  EXPECT_EQ(weft::run([] { return 42; }), 42);
  EXPECT_EQ(weft::run([] { return std::string("hello"); }), "hello");
  EXPECT_EQ(weft::run(weft::config{}, [] { return 5; }), 5);
}

// A move-only result is moved out of the root.
TEST(Run, ReturnsMoveOnlyValue) {
  auto p = weft::run([] { return std::make_unique<int>(7); });
  ASSERT_TRUE(p);
  EXPECT_EQ(*p, 7);
}

// A void root runs exactly once.
TEST(Run, VoidRootRunsOnce) {
  int runs = 0;
  weft::run([&] { ++runs; });
  EXPECT_EQ(runs, 1);
}

// An exception escaping the root is rethrown by run(), with its type.
TEST(Run, RethrowsRootException) {
  try {
    weft::run([]() -> int { throw std::runtime_error("boom"); });
    FAIL() << "run() did not throw";
  } catch (const std::runtime_error& e) {
    EXPECT_STREQ(e.what(), "boom");
  }
  try {
    weft::run([] { throw 17; });
    FAIL() << "run() did not throw";
  } catch (int v) {
    EXPECT_EQ(v, 17);
  }
}

// The root is a fiber named "main"; outside run() nothing is a fiber.
TEST(Run, RootIsAFiberNamedMain) {
  EXPECT_FALSE(weft::in_fiber());
  EXPECT_EQ(weft::this_fiber::id(), 0u);
  EXPECT_EQ(weft::this_fiber::name(), "");
  weft::fiber_id root_id = weft::run([] {
    EXPECT_TRUE(weft::in_fiber());
    EXPECT_EQ(weft::this_fiber::name(), "main");
    EXPECT_FALSE(weft::this_fiber::cancel_requested());
    return weft::this_fiber::id();
  });
  EXPECT_NE(root_id, 0u);
  EXPECT_FALSE(weft::in_fiber());
  EXPECT_EQ(weft::this_fiber::id(), 0u);
}

// run() inside run() (from the root or any fiber) is a usage_error and does
// not run its root; the outer run goes on normally.
TEST(Run, NestedRunIsUsageError) {
  bool inner_ran = false;
  int r = weft::run([&] {
    EXPECT_THROW(weft::run([&] { inner_ran = true; }), weft::usage_error);
    auto f = weft::spawn([&] {
      EXPECT_THROW(weft::run([&] {
                     inner_ran = true;
                     return 1;
                   }),
                   weft::usage_error);
      return 3;
    });
    return f.join();
  });
  EXPECT_EQ(r, 3);
  EXPECT_FALSE(inner_ran);
  EXPECT_EQ(weft::run([] { return 1; }), 1);  // the thread is usable again
}

// run() can be called again and again on one thread, also after a throw.
TEST(Run, SequentialRunsOnOneThread) {
  for (int i = 0; i < 20; ++i) {
    int v = weft::run([i] {
      auto f = weft::spawn([i] {
        weft::this_fiber::sleep_for(1ms);
        return i * 2;
      });
      return f.join();
    });
    EXPECT_EQ(v, i * 2);
  }
  EXPECT_THROW(weft::run([] { throw std::logic_error("x"); }), std::logic_error);
  EXPECT_EQ(weft::run([] { return 9; }), 9);
}

// Bad config values are usage errors.
TEST(Run, BadConfigIsUsageError) {
  // the environment overrides config: keep it out of this test
  for (const char* v : {"WEFT_STACK_SIZE", "WEFT_WORKERS", "WEFT_BACKEND"}) ::unsetenv(v);
  bool ran = false;
  weft::config too_many_workers{.stack_size = 0, .workers = 65, .backend = {}};
  weft::config bad_backend{.stack_size = 0, .workers = 1, .backend = "no-such-backend"};
  EXPECT_THROW(weft::run(too_many_workers, [&] { ran = true; }), weft::usage_error);
  EXPECT_THROW(weft::run(bad_backend, [&] { ran = true; }), weft::usage_error);
  EXPECT_FALSE(ran);
  EXPECT_EQ(weft::run(weft::config{.stack_size = 0, .workers = 1, .backend = "epoll"}, [] { return 1; }), 1);
}

// Several threads run their own schedulers at the same time; fiber ids are
// unique across all of them.
TEST(Run, SeveralThreadsRunAtOnce) {
  constexpr int kThreads = 4, kFibers = 50, kRounds = 20;
  std::latch all_inside(kThreads);
  std::mutex ids_mu;
  std::set<weft::fiber_id> ids;
  std::vector<long> results(kThreads, -1);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      results[t] = weft::run([&] {
        all_inside.arrive_and_wait();  // every thread is inside run() now
        std::vector<weft::fiber<long>> fs;
        for (int i = 0; i < kFibers; ++i) {
          fs.push_back(weft::spawn([&, i] {
            {
              std::lock_guard lk(ids_mu);
              ids.insert(weft::this_fiber::id());
            }
            long s = 0;
            for (int k = 0; k < kRounds; ++k) {
              s += i;
              weft::this_fiber::yield();
            }
            return s;
          }));
        }
        long sum = 0;
        for (auto& f : fs) sum += f.join();
        return sum;
      });
    });
  }
  for (auto& th : threads) th.join();
  const long expect = static_cast<long>(kRounds) * (kFibers * (kFibers - 1) / 2);
  for (int t = 0; t < kThreads; ++t) EXPECT_EQ(results[t], expect) << "thread " << t;
  EXPECT_EQ(ids.size(), static_cast<std::size_t>(kThreads * kFibers));
  EXPECT_EQ(ids.count(0), 0u);
}

// When the root returns, every fiber still alive — parked in any wait, ready
// in a yield loop, detached or with a dropped handle — is cancelled and
// unwound (its destructors run) before run() returns.
TEST(Run, ShutdownCancelsAndUnwindsLiveFibers) {
  std::atomic<int> destroyed{0}, saw_cancel{0}, returned{0};
  weft::channel<int> ch;  // outlive run(): the fibers wait on them
  weft::event never;
  weft::mutex m;
  weft::condition_variable cv;
  auto t0 = steady::now();
  weft::run([&] {
    auto body = [&](auto wait) {
      return [&, wait] {
        count_on_destroy g{&destroyed};
        try {
          wait();
        } catch (const weft::cancelled&) {
          ++saw_cancel;
          throw;
        }
        ++returned;
      };
    };
    weft::spawn(body([] { weft::this_fiber::sleep_for(1h); })).detach();
    weft::spawn(body([&] { (void)ch.recv(); })).detach();
    weft::spawn(body([&] { never.wait(); })).detach();
    weft::spawn(body([&] {
      std::unique_lock lk(m);
      cv.wait(lk);
    })).detach();
    weft::spawn(body([] {
      for (;;) weft::this_fiber::yield();
    })).detach();
    {
      auto dropped = weft::spawn(body([] { weft::this_fiber::sleep_for(1h); }));
    }
    settle();
    EXPECT_EQ(destroyed.load(), 0);
  });
  EXPECT_EQ(destroyed.load(), 6);
  EXPECT_EQ(saw_cancel.load(), 6);
  EXPECT_EQ(returned.load(), 0);
  EXPECT_LT(elapsed_ms(t0), 2000.0);
}

// A fiber spawned just before the root returns (never run yet) is also
// cleaned up: its function object is destroyed when run() returns.
TEST(Run, ShutdownReleasesFibersThatNeverRan) {
  auto token = std::make_shared<int>(1);
  std::weak_ptr<int> watch = token;
  weft::run([token = std::move(token)]() mutable {
    weft::spawn([t = std::move(token)] { weft::this_fiber::sleep_for(1h); }).detach();
  });
  EXPECT_TRUE(watch.expired());
}

// A root that throws still gets its leftover fibers unwound.
TEST(Run, RootExceptionStillUnwindsChildren) {
  std::atomic<int> destroyed{0};
  EXPECT_THROW(weft::run([&] {
                 weft::spawn([&] {
                   count_on_destroy g{&destroyed};
                   weft::this_fiber::sleep_for(1h);
                 }).detach();
                 settle();
                 throw std::runtime_error("root failed");
               }),
               std::runtime_error);
  EXPECT_EQ(destroyed.load(), 1);
}

// Fibers whose cleanup (while being cancelled at shutdown) spawns or waits
// briefly still finish; run() returns after them.
TEST(Run, ShutdownWaitsForSlowCleanup) {
  std::atomic<int> cleaned{0};
  weft::run([&] {
    weft::spawn([&] {
      struct slow_cleanup {
        std::atomic<int>& n;
        ~slow_cleanup() {
          weft::this_fiber::sleep_for(20ms);  // not interrupted while unwinding
          ++n;
        }
      } c{cleaned};
      weft::this_fiber::sleep_for(1h);
    }).detach();
    settle();
  });
  EXPECT_EQ(cleaned.load(), 1);
}

// A handle may outlive its scheduler: run() can return it. A fiber that
// finished before shutdown keeps its result; one still waiting was
// cancelled by the shutdown, and joining it throws cancelled.
TEST(Run, HandleOutlivesScheduler) {
  auto finished = weft::run([] {
    auto f = weft::spawn([] { return 5; });
    settle();
    return f;
  });
  EXPECT_TRUE(finished.done());
  EXPECT_EQ(finished.join(), 5);

  auto leftover = weft::run([] { return weft::spawn([] { weft::this_fiber::sleep_for(1h); }); });
  EXPECT_TRUE(leftover.done());
  EXPECT_THROW(leftover.join(), weft::cancelled);
}

// A plain thread joining a fiber when its run() shuts down gets cancelled.
TEST(Run, ThreadJoinSeesShutdownCancellation) {
  std::atomic<int> outcome{0};  // 1: cancelled, 2: returned, 3: other
  std::thread joiner;
  weft::run([&] {
    auto f = weft::spawn([] { weft::this_fiber::sleep_for(1h); });
    joiner = std::thread([&outcome, f = std::move(f)]() mutable {
      try {
        f.join();
        outcome = 2;
      } catch (const weft::cancelled&) {
        outcome = 1;
      } catch (...) {
        outcome = 3;
      }
    });
    weft::this_fiber::sleep_for(20ms);  // the thread is blocked in join by now (most likely)
  });
  joiner.join();
  EXPECT_EQ(outcome.load(), 1);
}

// A fiber cancelled at shutdown may, while unwinding, spawn a helper and
// join it; run() waits for both.
TEST(Run, ShutdownCleanupMaySpawnAndJoin) {
  std::atomic<int> helper_ran{0}, cleaned{0};
  weft::run([&] {
    weft::spawn([&] {
      struct cleanup {
        std::atomic<int>& helper_ran;
        std::atomic<int>& cleaned;
        ~cleanup() {
          auto h = weft::spawn([this] {
            weft::this_fiber::sleep_for(5ms);
            ++helper_ran;
          });
          h.join();
          ++cleaned;
        }
      } c{helper_ran, cleaned};
      weft::this_fiber::sleep_for(1h);
    }).detach();
    settle();
  });
  EXPECT_EQ(helper_ran.load(), 1);
  EXPECT_EQ(cleaned.load(), 1);
}

