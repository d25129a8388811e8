// tests/test_mutex_cv.cpp — weft::mutex and weft::condition_variable, on
// fibers, plain threads and a mix of both.
#include "helpers.hpp"

#include <atomic>
#include <mutex>
#include <thread>
#include <vector>

using namespace weft_test;

// Many fibers, each yielding inside the critical section: never two inside,
// no lost update.
TEST(Mutex, MutualExclusionWithYieldsInside) {
  weft::run([] {
    constexpr int kFibers = 50, kIters = 100;
    weft::mutex m;
    long counter = 0;
    int inside = 0;
    std::vector<weft::fiber<>> fs;
    for (int i = 0; i < kFibers; ++i)
      fs.push_back(weft::spawn([&] {
        for (int k = 0; k < kIters; ++k) {
          std::lock_guard g(m);
          EXPECT_EQ(++inside, 1);
          long c = counter;
          weft::this_fiber::yield();
          counter = c + 1;
          --inside;
        }
      }));
    for (auto& f : fs) f.join();
    EXPECT_EQ(counter, kFibers * kIters);
  });
}

// Unlock hands ownership to the first waiter: waiters get the mutex in
// arrival order and a try_lock right after unlock cannot barge in.
TEST(Mutex, FifoHandoff) {
  weft::run([] {
    weft::mutex m;
    std::vector<int> order;
    m.lock();
    std::vector<weft::fiber<>> fs;
    for (int i = 0; i < 3; ++i)
      fs.push_back(weft::spawn([&, i] {
        m.lock();
        order.push_back(i);
        m.unlock();
      }));
    settle();
    EXPECT_TRUE(order.empty());
    m.unlock();
    EXPECT_FALSE(m.try_lock());  // already handed to fiber 0
    for (auto& f : fs) f.join();
    EXPECT_EQ(order, (std::vector<int>{0, 1, 2}));
    EXPECT_TRUE(m.try_lock());
    m.unlock();
  });
}

// try_lock succeeds on a free mutex and fails on one held by another fiber.
TEST(Mutex, TryLock) {
  weft::run([] {
    weft::mutex m;
    EXPECT_TRUE(m.try_lock());
    auto f = weft::spawn([&] { return m.try_lock(); });
    EXPECT_FALSE(f.join());
    m.unlock();
    auto g = weft::spawn([&] {
      bool ok = m.try_lock();
      if (ok) m.unlock();
      return ok;
    });
    EXPECT_TRUE(g.join());
  });
}

// Locking twice from the owner and unlocking from a non-owner (or unlocking
// a free mutex) are usage errors; the mutex stays usable.
TEST(Mutex, UsageErrors) {
  weft::run([] {
    weft::mutex m;
    m.lock();
    EXPECT_THROW(m.lock(), weft::usage_error);
    auto f = weft::spawn([&] { EXPECT_THROW(m.unlock(), weft::usage_error); });
    f.join();
    m.unlock();
    EXPECT_THROW(m.unlock(), weft::usage_error);
    EXPECT_TRUE(m.try_lock());
    m.unlock();
  });
  // the same rules on plain threads
  weft::mutex m;
  m.lock();
  EXPECT_THROW(m.lock(), weft::usage_error);
  std::thread t([&] { EXPECT_THROW(m.unlock(), weft::usage_error); });
  t.join();
  m.unlock();
}

// A fiber blocks on a mutex held by a plain thread — parking, so other
// fibers keep running — and gets it after the thread unlocks.
TEST(Mutex, FiberWaitsForThreadOwner) {
  weft::mutex m;
  std::atomic<bool> held{false};
  std::thread owner([&] {
    m.lock();
    held = true;
    std::this_thread::sleep_for(60ms);
    m.unlock();
  });
  weft::run([&] {
    ASSERT_TRUE(eventually([&] { return held.load(); }));
    EXPECT_FALSE(m.try_lock());
    bool stop = false;
    int ticks = 0;
    auto ticker = weft::spawn([&] {
      while (!stop) {
        ++ticks;
        weft::this_fiber::sleep_for(1ms);
      }
    });
    {
      std::lock_guard g(m);  // parks until the thread unlocks
      EXPECT_GT(ticks, 1);
    }
    stop = true;
    ticker.join();
  });
  owner.join();
}

// Plain threads and fibers on two schedulers share one mutex.
TEST(Mutex, MixedThreadsAndFibers) {
  weft::mutex m;
  long counter = 0;
  constexpr int kThreadIters = 20000, kRunThreads = 2, kFibers = 10, kFiberIters = 2000;
  std::vector<std::thread> ts;
  for (int t = 0; t < 2; ++t)
    ts.emplace_back([&] {
      for (int i = 0; i < kThreadIters; ++i) {
        std::lock_guard g(m);
        ++counter;
      }
    });
  for (int t = 0; t < kRunThreads; ++t)
    ts.emplace_back([&] {
      weft::run([&] {
        std::vector<weft::fiber<>> fs;
        for (int f = 0; f < kFibers; ++f)
          fs.push_back(weft::spawn([&] {
            for (int i = 0; i < kFiberIters; ++i) {
              std::lock_guard g(m);
              long c = counter;
              if (i % 16 == 0) weft::this_fiber::yield();
              counter = c + 1;
            }
          }));
        for (auto& f : fs) f.join();
      });
    });
  for (auto& t : ts) t.join();
  EXPECT_EQ(counter, 2L * kThreadIters + long{kRunThreads} * kFibers * kFiberIters);
}

// notify_one wakes one waiter, notify_all the rest.
TEST(CondVar, NotifyOneAndAll) {
  weft::run([] {
    weft::mutex m;
    weft::condition_variable cv;
    bool go = false;
    int woken = 0;
    std::vector<weft::fiber<>> fs;
    for (int i = 0; i < 3; ++i)
      fs.push_back(weft::spawn([&] {
        std::unique_lock lk(m);
        cv.wait(lk, [&] { return go; });
        EXPECT_TRUE(lk.owns_lock());
        ++woken;
      }));
    settle();
    EXPECT_EQ(woken, 0);
    {
      std::lock_guard g(m);
      go = true;
    }
    cv.notify_one();
    settle();
    EXPECT_EQ(woken, 1);
    cv.notify_all();
    for (auto& f : fs) f.join();
    EXPECT_EQ(woken, 3);
  });
}

// notify with no waiter is lost (a later wait still blocks).
TEST(CondVar, NotifyWithoutWaiterIsNoOp) {
  weft::run([] {
    weft::mutex m;
    weft::condition_variable cv;
    cv.notify_one();
    cv.notify_all();
    std::unique_lock lk(m);
    EXPECT_EQ(cv.wait_for(lk, 20ms), std::cv_status::timeout);
  });
}

// wait_for times out after the duration and returns holding the mutex.
TEST(CondVar, WaitForTimesOut) {
  weft::run([] {
    weft::mutex m;
    weft::condition_variable cv;
    std::unique_lock lk(m);
    auto t0 = steady::now();
    EXPECT_EQ(cv.wait_for(lk, 50ms), std::cv_status::timeout);
    double ms = elapsed_ms(t0);
    EXPECT_GE(ms, 50.0);
    EXPECT_LT(ms, 2000.0);
    EXPECT_TRUE(lk.owns_lock());
    auto other = weft::spawn([&] { return m.try_lock(); });
    EXPECT_FALSE(other.join());  // really held

    t0 = steady::now();
    EXPECT_EQ(cv.wait_until(lk, steady::now() + 30ms), std::cv_status::timeout);
    EXPECT_GE(elapsed_ms(t0), 30.0);
    t0 = steady::now();
    EXPECT_EQ(cv.wait_until(lk, std::chrono::system_clock::now() + 30ms), std::cv_status::timeout);
    EXPECT_GE(elapsed_ms(t0), 29.0);
  });
}

// Predicate forms: false after the timeout, true at once if already true,
// true when notified in time.
TEST(CondVar, PredicateForms) {
  weft::run([] {
    weft::mutex m;
    weft::condition_variable cv;
    bool flag = false;
    std::unique_lock lk(m);
    auto t0 = steady::now();
    EXPECT_FALSE(cv.wait_for(lk, 30ms, [&] { return flag; }));
    EXPECT_GE(elapsed_ms(t0), 30.0);
    EXPECT_FALSE(cv.wait_until(lk, steady::now() + 20ms, [&] { return flag; }));

    flag = true;
    t0 = steady::now();
    EXPECT_TRUE(cv.wait_for(lk, 10s, [&] { return flag; }));
    EXPECT_TRUE(cv.wait_until(lk, steady::now() + 10s, [&] { return flag; }));
    EXPECT_LT(elapsed_ms(t0), 1000.0);

    flag = false;
    auto notifier = weft::spawn([&] {
      weft::this_fiber::sleep_for(10ms);
      std::lock_guard g(m);
      flag = true;
      cv.notify_one();
    });
    t0 = steady::now();
    EXPECT_TRUE(cv.wait_for(lk, 10s, [&] { return flag; }));
    EXPECT_LT(elapsed_ms(t0), 2000.0);
    lk.unlock();
    notifier.join();
  });
}

// wait_for returns no_timeout when notified before the deadline.
TEST(CondVar, WaitForNotifiedInTime) {
  weft::run([] {
    weft::mutex m;
    weft::condition_variable cv;
    auto notifier = weft::spawn([&] {
      weft::this_fiber::sleep_for(10ms);
      cv.notify_all();
    });
    std::unique_lock lk(m);
    auto t0 = steady::now();
    EXPECT_EQ(cv.wait_for(lk, 10s), std::cv_status::no_timeout);
    EXPECT_LT(elapsed_ms(t0), 2000.0);
    lk.unlock();
    notifier.join();
  });
}

// A plain thread waits on the cv and a fiber notifies, and the reverse.
TEST(CondVar, MixedThreadAndFiber) {
  weft::mutex m;
  weft::condition_variable cv;
  bool ready = false, seen_by_thread = false;
  std::thread waiter([&] {
    std::unique_lock lk(m);
    cv.wait(lk, [&] { return ready; });
    seen_by_thread = true;
  });
  bool reply = false;
  weft::run([&] {
    weft::this_fiber::sleep_for(20ms);
    {
      std::lock_guard g(m);
      ready = true;
    }
    cv.notify_all();
    std::thread notifier([&] {
      weft::this_fiber::sleep_for(20ms);
      std::lock_guard g(m);
      reply = true;
      cv.notify_all();
    });
    {
      std::unique_lock lk(m);
      EXPECT_TRUE(cv.wait_for(lk, 10s, [&] { return reply; }));
    }
    notifier.join();
  });
  waiter.join();
  EXPECT_TRUE(seen_by_thread);
  EXPECT_TRUE(reply);
}

// A fiber and a plain thread take turns 1000 times through one cv.
TEST(CondVar, PingPongThreadAndFiber) {
  constexpr int kRounds = 1000;
  weft::mutex m;
  weft::condition_variable cv;
  int turn = 0;  // even: fiber's turn, odd: thread's turn
  std::thread t([&] {
    for (int i = 0; i < kRounds; ++i) {
      std::unique_lock lk(m);
      cv.wait(lk, [&] { return turn % 2 == 1; });
      ++turn;
      cv.notify_all();
    }
  });
  weft::run([&] {
    for (int i = 0; i < kRounds; ++i) {
      std::unique_lock lk(m);
      cv.wait(lk, [&] { return turn % 2 == 0; });
      ++turn;
      cv.notify_all();
    }
  });
  t.join();
  EXPECT_EQ(turn, 2 * kRounds);
}
