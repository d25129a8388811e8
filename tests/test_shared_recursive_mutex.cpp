// tests/test_shared_recursive_mutex.cpp — weft::shared_mutex (with
// std::shared_lock / std::unique_lock) and weft::recursive_mutex: from
// fibers, plain threads, two carriers, timed waits under cancel and
// weft::timeout, and misuse errors.
#include "helpers.hpp"

#include <weft/recursive_mutex.hpp>
#include <weft/shared_mutex.hpp>

#include <atomic>
#include <mutex>
#include <shared_mutex>
#include <thread>
#include <vector>

using namespace weft_test;

// Readers share; a writer excludes readers and other writers.
TEST(SharedMutex, ReadersShareWriterExcludes) {
  weft::run([] {
    weft::shared_mutex m;
    int inside = 0, max_inside = 0;
    std::vector<weft::fiber<>> rs;
    for (int i = 0; i < 5; ++i)
      rs.push_back(weft::spawn([&] {
        std::shared_lock l(m);
        ++inside;
        max_inside = std::max(max_inside, inside);
        weft::this_fiber::sleep_for(5ms);
        --inside;
      }));
    settle();
    EXPECT_EQ(inside, 5);
    EXPECT_FALSE(m.try_lock());
    EXPECT_TRUE(m.try_lock_shared());
    m.unlock_shared();
    {
      std::unique_lock w(m);  // waits for every reader
      EXPECT_EQ(inside, 0);
      EXPECT_FALSE(m.try_lock_shared());
    }
    for (auto& r : rs) r.join();
    EXPECT_EQ(max_inside, 5);
  });
}

// A waiting writer holds back later readers (no writer starvation), and an
// unlock hands over in FIFO order: writer first, then the readers together.
TEST(SharedMutex, WriterPreferenceAndHandOff) {
  weft::run([] {
    weft::shared_mutex m;
    std::vector<int> order;
    m.lock_shared();
    auto w = weft::spawn([&] {
      std::unique_lock l(m);
      order.push_back(0);
    });
    settle();
    auto r1 = weft::spawn([&] {
      std::shared_lock l(m);
      order.push_back(1);
      settle();
      order.push_back(11);
    });
    auto r2 = weft::spawn([&] {
      std::shared_lock l(m);
      order.push_back(2);
      settle();
      order.push_back(12);
    });
    settle();
    EXPECT_TRUE(order.empty());
    EXPECT_FALSE(m.try_lock_shared());  // a writer waits
    m.unlock_shared();
    w.join();
    r1.join();
    r2.join();
    ASSERT_EQ(order.size(), 5u);
    EXPECT_EQ(order[0], 0);
    EXPECT_EQ(order[1], 1);
    EXPECT_EQ(order[2], 2);  // both readers inside at once
  });
}

// Timed waits time out, obey cancel and weft::timeout; a writer that gives
// up lets the readers queued behind it in.
TEST(SharedMutex, TimedCancelTimeout) {
  weft::run([] {
    weft::shared_mutex m;
    m.lock_shared();
    auto t0 = steady::now();
    EXPECT_FALSE(m.try_lock_for(10ms));
    EXPECT_GE(elapsed_ms(t0), 10.0);
    auto w = weft::spawn([&] { return m.try_lock_for(20ms); });
    settle();
    auto r = weft::spawn([&] {
      std::shared_lock l(m);  // queued behind the writer
      return true;
    });
    EXPECT_FALSE(w.join());
    EXPECT_TRUE(r.join());  // the writer's leaving let the reader in
    auto c = weft::spawn([&] { (void)m.try_lock_for(1h); });
    settle();
    c.cancel();
    EXPECT_THROW(c.join(), weft::cancelled);
    {
      weft::timeout t(5ms);
      EXPECT_THROW((void)m.try_lock_until(steady::now() + 1h), weft::timed_out);
    }
    m.unlock_shared();
    EXPECT_TRUE(m.try_lock_for(1ms));
    m.unlock();
  });
}

// Misuse is a usage_error.
TEST(SharedMutex, Misuse) {
  weft::run([] {
    weft::shared_mutex m;
    EXPECT_THROW(m.unlock(), weft::usage_error);
    EXPECT_THROW(m.unlock_shared(), weft::usage_error);
    m.lock();
    EXPECT_THROW(m.lock(), weft::usage_error);
    EXPECT_THROW(m.lock_shared(), weft::usage_error);
    weft::spawn([&] { EXPECT_THROW(m.unlock(), weft::usage_error); }).join();
    m.unlock();
  });
}

// Plain threads and fibers on two carriers hammer one shared_mutex; a
// counter under the exclusive lock stays exact and readers never see a
// half-done update.
TEST(SharedMutex, ThreadsAndCarriers) {
  weft::shared_mutex m;
  long a = 0, b = 0;
  std::atomic<int> torn{0};
  auto writer = [&](int n) {
    for (int i = 0; i < n; ++i) {
      std::unique_lock l(m);
      ++a;
      if (i % 7 == 0) std::this_thread::yield();
      ++b;
    }
  };
  auto reader = [&](int n) {
    for (int i = 0; i < n; ++i) {
      std::shared_lock l(m);
      if (a != b) torn.fetch_add(1);
    }
  };
  std::thread t1([&] { writer(2000); });
  std::thread t2([&] { reader(2000); });
  weft::run(two_workers(), [&] {
    std::vector<weft::fiber<>> fs;
    for (int i = 0; i < 4; ++i) fs.push_back(weft::spawn([&] { writer(500); }));
    for (int i = 0; i < 4; ++i) fs.push_back(weft::spawn([&] { reader(500); }));
    for (auto& f : fs) f.join();
  });
  t1.join();
  t2.join();
  EXPECT_EQ(a, 4000);
  EXPECT_EQ(b, 4000);
  EXPECT_EQ(torn.load(), 0);
}

// The owner may relock; others wait until the last unlock.
TEST(RecursiveMutex, RelockAndHandOff) {
  weft::run([] {
    weft::recursive_mutex m;
    m.lock();
    m.lock();
    EXPECT_EQ(m.depth(), 2u);
    EXPECT_TRUE(m.try_lock());
    EXPECT_EQ(m.depth(), 3u);
    m.unlock();
    bool got = false;
    auto f = weft::spawn([&] {
      EXPECT_EQ(m.depth(), 0u);
      EXPECT_FALSE(m.try_lock());
      std::lock_guard g(m);
      got = true;
      EXPECT_EQ(m.depth(), 1u);
    });
    settle();
    m.unlock();
    settle();
    EXPECT_FALSE(got);  // still held once
    m.unlock();
    f.join();
    EXPECT_TRUE(got);
    EXPECT_EQ(m.depth(), 0u);
  });
}

// Misuse, timed waits under cancel and timeout.
TEST(RecursiveMutex, MisuseTimedCancel) {
  weft::run([] {
    weft::recursive_mutex m;
    EXPECT_THROW(m.unlock(), weft::usage_error);
    m.lock();
    weft::spawn([&] {
      EXPECT_THROW(m.unlock(), weft::usage_error);
      EXPECT_FALSE(m.try_lock_for(5ms));
      weft::timeout t(5ms);
      EXPECT_THROW((void)m.try_lock_for(1h), weft::timed_out);
    }).join();
    auto c = weft::spawn([&] { (void)m.try_lock_for(1h); });
    settle();
    c.cancel();
    EXPECT_THROW(c.join(), weft::cancelled);
    auto w = weft::spawn([&] { return m.try_lock_for(10s); });
    settle();
    m.unlock();
    EXPECT_TRUE(w.join());  // the fiber ended holding it
    EXPECT_FALSE(m.try_lock());
  });
}

// Plain threads and two carriers: recursion depth 3 each time, exact count.
TEST(RecursiveMutex, ThreadsAndCarriers) {
  weft::recursive_mutex m;
  long n = 0;
  auto work = [&](int k) {
    for (int i = 0; i < k; ++i) {
      std::lock_guard a(m);
      std::lock_guard b(m);
      std::lock_guard c(m);
      ++n;
    }
  };
  std::thread t([&] { work(3000); });
  weft::run(two_workers(), [&] {
    std::vector<weft::fiber<>> fs;
    for (int i = 0; i < 6; ++i) fs.push_back(weft::spawn([&] { work(500); }));
    for (auto& f : fs) f.join();
  });
  t.join();
  EXPECT_EQ(n, 6000);
}
