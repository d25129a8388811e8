// tests/test_sleep.cpp — sleep_for / sleep_until on fibers and plain threads.
#include "helpers.hpp"

#include <algorithm>
#include <numeric>
#include <random>
#include <thread>
#include <vector>

using namespace weft_test;

// sleep_for(50ms) in a fiber takes at least 50 ms (and not absurdly long).
TEST(Sleep, SleepForInFiber) {
  weft::run([] {
    auto t0 = steady::now();
    weft::this_fiber::sleep_for(50ms);
    double ms = elapsed_ms(t0);
    EXPECT_GE(ms, 50.0);
    EXPECT_LT(ms, 2000.0);
  });
}

// Other duration types work too (seconds as double, microseconds).
TEST(Sleep, SleepForOtherDurations) {
  weft::run([] {
    auto t0 = steady::now();
    weft::this_fiber::sleep_for(std::chrono::duration<double>(0.03));
    EXPECT_GE(elapsed_ms(t0), 30.0);
    t0 = steady::now();
    weft::this_fiber::sleep_for(std::chrono::microseconds(20500));
    double ms = elapsed_ms(t0);
    EXPECT_GE(ms, 20.5);
    EXPECT_LT(ms, 2000.0);
  });
}

// sleep_until a steady or a system clock time point.
TEST(Sleep, SleepUntil) {
  weft::run([] {
    auto t0 = steady::now();
    weft::this_fiber::sleep_until(t0 + 40ms);
    EXPECT_GE(steady::now(), t0 + 40ms);
    EXPECT_LT(elapsed_ms(t0), 2000.0);

    auto s0 = steady::now();
    weft::this_fiber::sleep_until(std::chrono::system_clock::now() + 40ms);
    double ms = elapsed_ms(s0);
    EXPECT_GE(ms, 39.0);  // system->steady conversion may lose a tick
    EXPECT_LT(ms, 2000.0);
  });
}

// Zero, negative and past deadlines return promptly.
TEST(Sleep, ZeroAndPastReturnPromptly) {
  weft::run([] {
    auto t0 = steady::now();
    weft::this_fiber::sleep_for(0ms);
    weft::this_fiber::sleep_for(-5s);
    weft::this_fiber::sleep_until(steady::now() - 1h);
    weft::this_fiber::sleep_until(steady::time_point{});
    EXPECT_LT(elapsed_ms(t0), 1000.0);
  });
}

// A sleeping fiber does not block the others: twenty 100 ms sleeps overlap.
TEST(Sleep, SleepersOverlap) {
  weft::run([] {
    auto t0 = steady::now();
    std::vector<weft::fiber<>> fs;
    for (int i = 0; i < 20; ++i) fs.push_back(weft::spawn([] { weft::this_fiber::sleep_for(100ms); }));
    int spins = 0;
    auto spinner = weft::spawn([&] {
      while (elapsed_ms(t0) < 50.0) {
        ++spins;
        weft::this_fiber::yield();
      }
    });
    for (auto& f : fs) f.join();
    spinner.join();
    double ms = elapsed_ms(t0);
    EXPECT_GE(ms, 100.0);
    EXPECT_LT(ms, 1900.0);  // sequential sleeps would take >= 2000 ms
    EXPECT_GT(spins, 1);
  });
}

// Many sleepers, started in shuffled order, wake in deadline order.
TEST(Sleep, ManySleepersWakeInDeadlineOrder) {
  constexpr int kN = 100;
  std::vector<int> woke;
  weft::run([&] {
    std::vector<int> ks(kN);
    std::iota(ks.begin(), ks.end(), 0);
    std::mt19937 rng(12345);
    std::shuffle(ks.begin(), ks.end(), rng);
    auto base = steady::now() + 100ms;
    std::vector<weft::fiber<>> fs;
    for (int k : ks)
      fs.push_back(weft::spawn([&, k] {
        weft::this_fiber::sleep_until(base + k * 1ms);
        EXPECT_GE(steady::now(), base + k * 1ms);
        woke.push_back(k);
      }));
    for (auto& f : fs) f.join();
  });
  std::vector<int> sorted(kN);
  std::iota(sorted.begin(), sorted.end(), 0);
  EXPECT_EQ(woke, sorted);
}

// A huge duration saturates instead of overflowing into the past: the fiber
// really sleeps (until cancelled).
TEST(Sleep, HugeDurationSaturates) {
  weft::run([] {
    bool returned = false;
    auto f = weft::spawn([&] {
      weft::this_fiber::sleep_for(std::chrono::hours::max());
      returned = true;
    });
    auto g = weft::spawn([&] {
      weft::this_fiber::sleep_for(std::chrono::nanoseconds::max());
      returned = true;
    });
    weft::this_fiber::sleep_for(30ms);
    EXPECT_FALSE(f.done());
    EXPECT_FALSE(g.done());
    f.cancel();
    g.cancel();
    EXPECT_THROW(f.join(), weft::cancelled);
    EXPECT_THROW(g.join(), weft::cancelled);
    EXPECT_FALSE(returned);
  });
}

// On a plain thread sleep_for/sleep_until block the thread for the time.
TEST(Sleep, OnPlainThread) {
  auto t0 = steady::now();
  weft::this_fiber::sleep_for(30ms);
  EXPECT_GE(elapsed_ms(t0), 30.0);
  double in_thread = 0;
  std::thread t([&] {
    auto t1 = steady::now();
    weft::this_fiber::sleep_until(t1 + 40ms);
    in_thread = elapsed_ms(t1);
  });
  t.join();
  EXPECT_GE(in_thread, 40.0);
  EXPECT_LT(in_thread, 2000.0);
}

// Sleeps on two schedulers at once do not disturb each other.
TEST(Sleep, TwoSchedulersSleepIndependently) {
  double a = 0, b = 0;
  std::thread ta([&] {
    weft::run([&] {
      auto t0 = steady::now();
      weft::this_fiber::sleep_for(60ms);
      a = elapsed_ms(t0);
    });
  });
  std::thread tb([&] {
    weft::run([&] {
      auto t0 = steady::now();
      weft::this_fiber::sleep_for(20ms);
      b = elapsed_ms(t0);
    });
  });
  ta.join();
  tb.join();
  EXPECT_GE(a, 60.0);
  EXPECT_GE(b, 20.0);
  EXPECT_LT(a, 2000.0);
  EXPECT_LT(b, 2000.0);
}
