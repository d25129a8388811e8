// tests/test_spawn_after.cpp — weft::spawn_after / spawn_at: fn runs after
// the delay; cancel before the delay means fn never runs; across two
// carriers; a caller's timeout scope does not reach the delayed fiber;
// plain threads get a usage_error.
#include "helpers.hpp"

#include <weft/spawn_after.hpp>

#include <atomic>
#include <thread>
#include <vector>

using namespace weft_test;

// fn runs no earlier than the delay and its result comes out of join().
TEST(SpawnAfter, RunsAfterDelay) {
  weft::run([] {
    auto t0 = steady::now();
    auto f = weft::spawn_after(20ms, [&] { return elapsed_ms(t0); });
    EXPECT_FALSE(f.done());
    double at = f.join();
    EXPECT_GE(at, 20.0);
    EXPECT_LT(at, 2000.0);
    auto t1 = steady::now();
    weft::spawn_at(steady::now() + 10ms, [&] { EXPECT_GE(elapsed_ms(t1), 10.0); }).join();
    weft::spawn_after(weft::spawn_options{.name = "later"}, 0ms,
                      [] { EXPECT_EQ(weft::this_fiber::name(), "later"); })
        .join();
  });
}

// Cancelled before the delay: fn never runs, join throws cancelled. Both
// before the fiber first ran and while it sleeps. Repeated.
TEST(SpawnAfter, CancelBeforeDelay) {
  weft::run([] {
    std::atomic<int> ran{0};
    for (int i = 0; i < 50; ++i) {
      auto f = weft::spawn_after(50ms, [&] { ran.fetch_add(1); });
      if (i % 2) settle();  // sleeping, or not yet started
      f.cancel();
      EXPECT_THROW(f.join(), weft::cancelled);
    }
    EXPECT_EQ(ran.load(), 0);
  });
}

// Delayed calls fire in deadline order, not spawn order.
TEST(SpawnAfter, Order) {
  weft::run([] {
    std::vector<int> order;
    auto c = weft::spawn_after(30ms, [&] { order.push_back(3); });
    auto a = weft::spawn_after(10ms, [&] { order.push_back(1); });
    auto b = weft::spawn_after(20ms, [&] { order.push_back(2); });
    c.join();
    a.join();
    b.join();
    EXPECT_EQ(order, (std::vector<int>{1, 2, 3}));
  });
}

// A caller's weft::timeout does not cut the delayed fiber's sleep.
TEST(SpawnAfter, CallerTimeoutScopeDoesNotApply) {
  weft::run([] {
    weft::fiber<int> f;
    {
      weft::timeout t(5ms);
      f = weft::spawn_after(30ms, [] { return 5; });
    }
    EXPECT_EQ(f.join(), 5);
  });
}

// Two carriers: many delayed fibers, half cancelled from a plain thread
// (cancel is callable from any thread), the rest run exactly once.
TEST(SpawnAfter, AcrossCarriersAndThreadCancel) {
  weft::config c;
  c.workers = 2;
  weft::run(c, [] {
    std::atomic<int> ran{0};
    std::vector<weft::fiber<>> fs;
    for (int i = 0; i < 100; ++i) fs.push_back(weft::spawn_after(std::chrono::milliseconds(20 + i % 5), [&] { ran++; }));
    std::thread t([&] {
      for (int i = 0; i < 100; i += 2) fs[i].cancel();
    });
    t.join();
    int cancelled = 0;
    for (auto& f : fs) {
      try {
        f.join();
      } catch (const weft::cancelled&) {
        ++cancelled;
      }
    }
    EXPECT_EQ(cancelled, 50);
    EXPECT_EQ(ran.load(), 50);
  });
}

// Outside weft::run there is no scheduler: usage_error.
TEST(SpawnAfter, PlainThreadIsUsageError) {
  EXPECT_THROW((void)weft::spawn_after(1ms, [] {}), weft::usage_error);
}
