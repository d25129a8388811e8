// tests/test_event_sem_wg.cpp — weft::event, weft::semaphore, weft::wait_group.
#include "helpers.hpp"

#include <atomic>
#include <thread>
#include <vector>

using namespace weft_test;

// set/clear/is_set; wait on a set event returns at once.
TEST(Event, SetClearIsSet) {
  weft::run([] {
    weft::event ev;
    EXPECT_FALSE(ev.is_set());
    ev.set();
    EXPECT_TRUE(ev.is_set());
    ev.set();  // idempotent
    auto t0 = steady::now();
    ev.wait();
    EXPECT_TRUE(ev.wait_for(10s));
    EXPECT_TRUE(ev.wait_until(steady::now() + 10s));
    EXPECT_LT(elapsed_ms(t0), 1000.0);
    ev.clear();
    EXPECT_FALSE(ev.is_set());
    t0 = steady::now();
    EXPECT_FALSE(ev.wait_for(30ms));
    EXPECT_GE(elapsed_ms(t0), 30.0);
    t0 = steady::now();
    EXPECT_FALSE(ev.wait_until(steady::now() + 20ms));
    EXPECT_GE(elapsed_ms(t0), 20.0);
    EXPECT_LT(elapsed_ms(t0), 2000.0);
  });
}

// set() wakes every waiter, including timed ones.
TEST(Event, SetWakesAllWaiters) {
  weft::run([] {
    weft::event ev;
    int woken = 0;
    std::vector<weft::fiber<>> fs;
    for (int i = 0; i < 5; ++i)
      fs.push_back(weft::spawn([&] {
        ev.wait();
        ++woken;
      }));
    for (int i = 0; i < 3; ++i)
      fs.push_back(weft::spawn([&] {
        EXPECT_TRUE(ev.wait_for(10s));
        ++woken;
      }));
    settle();
    EXPECT_EQ(woken, 0);
    ev.set();
    for (auto& f : fs) f.join();
    EXPECT_EQ(woken, 8);
  });
}

// set() then clear() before the waiters run still releases them (they were
// woken by set), and later waits block again.
TEST(Event, SetThenClearReleasesParkedWaiters) {
  weft::run([] {
    weft::event ev;
    int woken = 0;
    auto f = weft::spawn([&] {
      ev.wait();
      ++woken;
    });
    settle();
    ev.set();
    ev.clear();
    f.join();
    EXPECT_EQ(woken, 1);
    EXPECT_FALSE(ev.wait_for(10ms));
  });
}

// An event set by a plain thread wakes a fiber; one set by a fiber wakes a
// plain thread.
TEST(Event, CrossThread) {
  weft::event to_fiber, to_thread;
  bool thread_woke = false;
  std::thread t([&] {
    to_thread.wait();
    thread_woke = true;
  });
  weft::run([&] {
    std::thread setter([&] {
      weft::this_fiber::sleep_for(20ms);
      to_fiber.set();
    });
    EXPECT_TRUE(to_fiber.wait_for(10s));
    EXPECT_TRUE(to_fiber.is_set());
    setter.join();
    to_thread.set();
  });
  t.join();
  EXPECT_TRUE(thread_woke);
}

// Initial count, try_acquire, available.
TEST(Semaphore, CountAndTryAcquire) {
  weft::semaphore s(3);
  EXPECT_EQ(s.available(), 3);
  EXPECT_TRUE(s.try_acquire());
  EXPECT_TRUE(s.try_acquire());
  EXPECT_TRUE(s.try_acquire());
  EXPECT_FALSE(s.try_acquire());
  EXPECT_EQ(s.available(), 0);
  s.release(2);
  EXPECT_EQ(s.available(), 2);
  s.release();
  EXPECT_EQ(s.available(), 3);
  s.release(0);
  EXPECT_EQ(s.available(), 3);
  EXPECT_THROW(s.release(-1), weft::usage_error);
  EXPECT_EQ(s.available(), 3);
  weft::semaphore zero;
  EXPECT_EQ(zero.available(), 0);
  EXPECT_FALSE(zero.try_acquire());
}

// release() hands a unit straight to the first parked waiter (no barging),
// waiters are served in FIFO order, release(n) serves n of them.
TEST(Semaphore, FifoHandoff) {
  weft::run([] {
    weft::semaphore s(0);
    std::vector<int> order;
    std::vector<weft::fiber<>> fs;
    for (int i = 0; i < 3; ++i)
      fs.push_back(weft::spawn([&, i] {
        s.acquire();
        order.push_back(i);
      }));
    settle();
    EXPECT_TRUE(order.empty());
    s.release();
    EXPECT_EQ(s.available(), 0);
    EXPECT_FALSE(s.try_acquire());
    settle();
    EXPECT_EQ(order, (std::vector<int>{0}));
    s.release(2);
    EXPECT_EQ(s.available(), 0);
    for (auto& f : fs) f.join();
    EXPECT_EQ(order, (std::vector<int>{0, 1, 2}));
    s.release();
    EXPECT_EQ(s.available(), 1);
  });
}

// try_acquire_for: false after the time with no unit, true when one comes.
TEST(Semaphore, TryAcquireFor) {
  weft::run([] {
    weft::semaphore s(0);
    auto t0 = steady::now();
    EXPECT_FALSE(s.try_acquire_for(30ms));
    double ms = elapsed_ms(t0);
    EXPECT_GE(ms, 30.0);
    EXPECT_LT(ms, 2000.0);
    auto r = weft::spawn([&] {
      weft::this_fiber::sleep_for(10ms);
      s.release();
    });
    t0 = steady::now();
    EXPECT_TRUE(s.try_acquire_for(10s));
    EXPECT_LT(elapsed_ms(t0), 2000.0);
    EXPECT_EQ(s.available(), 0);
    r.join();
  });
}

// Units released by a plain thread are acquired by fibers, one for one.
TEST(Semaphore, ReleasedFromPlainThread) {
  constexpr int kN = 1000;
  weft::semaphore s(0);
  int acquired = 0;
  std::thread producer;
  weft::run([&] {
    producer = std::thread([&] {
      for (int i = 0; i < kN; ++i) s.release();
    });
    std::vector<weft::fiber<>> fs;
    for (int f = 0; f < 4; ++f)
      fs.push_back(weft::spawn([&] {
        for (int i = 0; i < kN / 4; ++i) {
          s.acquire();
          ++acquired;
        }
      }));
    for (auto& f : fs) f.join();
  });
  producer.join();
  EXPECT_EQ(acquired, kN);
  EXPECT_EQ(s.available(), 0);
}

// A plain thread blocks in acquire() until a fiber releases; its timed
// acquire gives up after the time.
TEST(Semaphore, PlainThreadWaiter) {
  weft::semaphore s(0);
  bool timed_out_first = false, got = false;
  std::thread t([&] {
    auto t0 = steady::now();
    timed_out_first = !s.try_acquire_for(20ms) && elapsed_ms(t0) >= 20.0;
    s.acquire();
    got = true;
  });
  weft::run([&] {
    weft::this_fiber::sleep_for(50ms);
    s.release();
  });
  t.join();
  EXPECT_TRUE(timed_out_first);
  EXPECT_TRUE(got);
  EXPECT_EQ(s.available(), 0);
}

// add/done/wait/count.
TEST(WaitGroup, WaitsForAll) {
  weft::run([] {
    weft::wait_group wg;
    EXPECT_EQ(wg.count(), 0);
    auto t0 = steady::now();
    wg.wait();  // zero: returns at once
    EXPECT_TRUE(wg.wait_for(10s));
    EXPECT_LT(elapsed_ms(t0), 1000.0);
    wg.add(3);
    EXPECT_EQ(wg.count(), 3);
    int finished = 0;
    for (int i = 1; i <= 3; ++i)
      weft::spawn([&, i] {
        weft::this_fiber::sleep_for(i * 10ms);
        ++finished;
        wg.done();
      }).detach();
    t0 = steady::now();
    wg.wait();
    EXPECT_GE(elapsed_ms(t0), 30.0);
    EXPECT_EQ(finished, 3);
    EXPECT_EQ(wg.count(), 0);
  });
}

// wait_for: false while work is outstanding at the deadline.
TEST(WaitGroup, WaitForTimesOut) {
  weft::run([] {
    weft::wait_group wg;
    wg.add();
    auto t0 = steady::now();
    EXPECT_FALSE(wg.wait_for(30ms));
    double ms = elapsed_ms(t0);
    EXPECT_GE(ms, 30.0);
    EXPECT_LT(ms, 2000.0);
    EXPECT_EQ(wg.count(), 1);
    wg.done();
    EXPECT_TRUE(wg.wait_for(10ms));
  });
}

// A negative count is a usage_error.
TEST(WaitGroup, NegativeCountIsUsageError) {
  weft::wait_group a;
  EXPECT_THROW(a.done(), weft::usage_error);
  weft::wait_group b;
  b.add(1);
  EXPECT_THROW(b.add(-2), weft::usage_error);
}

// Every waiter is released when the count reaches zero.
TEST(WaitGroup, ReleasesAllWaiters) {
  weft::run([] {
    weft::wait_group wg;
    wg.add(2);
    int released = 0;
    std::vector<weft::fiber<>> fs;
    for (int i = 0; i < 4; ++i)
      fs.push_back(weft::spawn([&] {
        wg.wait();
        ++released;
      }));
    settle();
    wg.done();
    settle();
    EXPECT_EQ(released, 0);
    wg.done();
    for (auto& f : fs) f.join();
    EXPECT_EQ(released, 4);
  });
}

// done() from plain threads wakes a fiber; done() from fibers wakes a plain
// thread.
TEST(WaitGroup, CrossThread) {
  weft::wait_group for_fiber, for_thread;
  constexpr int kThreads = 4;
  for_fiber.add(kThreads);
  for_thread.add(3);
  std::atomic<bool> thread_released{false};
  std::thread waiter([&] {
    for_thread.wait();
    thread_released = true;
  });
  std::vector<std::thread> ts;
  weft::run([&] {
    for (int i = 0; i < kThreads; ++i)
      ts.emplace_back([&] {
        weft::this_fiber::sleep_for(10ms);
        for_fiber.done();
      });
    for_fiber.wait();
    EXPECT_EQ(for_fiber.count(), 0);
    std::vector<weft::fiber<>> fs;
    for (int i = 0; i < 3; ++i) fs.push_back(weft::spawn([&] { for_thread.done(); }));
    for (auto& f : fs) f.join();
  });
  for (auto& t : ts) t.join();
  waiter.join();
  EXPECT_TRUE(thread_released.load());
}
