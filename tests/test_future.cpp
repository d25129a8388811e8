// tests/test_future.cpp — weft::promise / weft::future / spawn_future: from
// fibers, plain threads, across two carriers, under cancel and timeout, and
// their misuse errors.
#include "helpers.hpp"

#include <weft/future.hpp>

#include <atomic>
#include <memory>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

using namespace weft_test;

// A fiber waits for a value another fiber sets later.
TEST(Future, FiberToFiber) {
  weft::run([] {
    weft::promise<std::string> p;
    auto f = p.get_future();
    EXPECT_TRUE(f.valid());
    EXPECT_FALSE(f.ready());
    auto setter = weft::spawn([&] {
      weft::this_fiber::sleep_for(5ms);
      p.set_value("hello");
    });
    EXPECT_EQ(f.get(), "hello");
    EXPECT_FALSE(f.valid());
    setter.join();
  });
}

// set_value before get: get returns at once; void futures work too.
TEST(Future, ReadyBeforeGetAndVoid) {
  weft::run([] {
    weft::promise<int> p;
    auto f = p.get_future();
    p.set_value(7);
    EXPECT_TRUE(f.ready());
    EXPECT_TRUE(f.wait_for(0ms));
    EXPECT_EQ(f.get(), 7);
    weft::promise<> pv;
    auto fv = pv.get_future();
    pv.set_value();
    fv.get();
  });
}

// set_exception: get rethrows the exception.
TEST(Future, Exception) {
  weft::run([] {
    weft::promise<int> p;
    auto f = p.get_future();
    p.set_exception(std::make_exception_ptr(std::runtime_error("boom")));
    try {
      f.get();
      ADD_FAILURE() << "get did not throw";
    } catch (const std::runtime_error& e) {
      EXPECT_STREQ(e.what(), "boom");
    }
  });
}

// A promise destroyed unsatisfied makes get() throw broken_promise, also
// waking a getter already parked.
TEST(Future, BrokenPromise) {
  weft::run([] {
    weft::future<int> f;
    {
      weft::promise<int> p;
      f = p.get_future();
    }
    EXPECT_THROW(f.get(), weft::broken_promise);
    auto p = std::make_unique<weft::promise<int>>();
    auto f2 = p->get_future();
    auto getter = weft::spawn([&] { EXPECT_THROW(f2.get(), weft::broken_promise); });
    settle();
    p.reset();
    getter.join();
  });
}

// Misuse: get twice, set twice, get_future twice, get on a default future.
TEST(Future, MisuseIsUsageError) {
  weft::run([] {
    weft::promise<int> p;
    auto f = p.get_future();
    EXPECT_THROW(p.get_future(), weft::usage_error);
    p.set_value(1);
    EXPECT_THROW(p.set_value(2), weft::usage_error);
    EXPECT_THROW(p.set_exception(std::make_exception_ptr(1)), weft::usage_error);
    EXPECT_EQ(f.get(), 1);
    EXPECT_THROW(f.get(), weft::usage_error);
    EXPECT_THROW(f.wait(), weft::usage_error);
    weft::future<int> none;
    EXPECT_THROW(none.get(), weft::usage_error);
    EXPECT_THROW(p.set_exception(nullptr), weft::usage_error);
  });
}

// wait_for times out while pending; a weft::timeout scope makes get() throw
// timed_out, and the future stays usable afterwards.
TEST(Future, WaitForAndTimeoutScope) {
  weft::run([] {
    weft::promise<int> p;
    auto f = p.get_future();
    auto t0 = steady::now();
    EXPECT_FALSE(f.wait_for(20ms));
    EXPECT_GE(elapsed_ms(t0), 20.0);
    {
      weft::timeout t(10ms);
      EXPECT_THROW(f.get(), weft::timed_out);
    }
    EXPECT_TRUE(f.valid());
    p.set_value(3);
    EXPECT_EQ(f.get(), 3);
  });
}

// A getter cancelled while parked throws cancelled.
TEST(Future, CancelledGetter) {
  weft::run([] {
    weft::promise<int> p;
    auto f = p.get_future();
    auto getter = weft::spawn([&] { return f.get(); });
    settle();
    getter.cancel();
    EXPECT_THROW(getter.join(), weft::cancelled);
    p.set_value(1);  // nobody waits any more: no effect, no crash
  });
}

// Plain threads on both sides: a thread sets for a fiber, a fiber sets for
// a thread, a thread waits for a thread. Repeated to shake out races.
TEST(Future, PlainThreads) {
  weft::run([] {
    for (int i = 0; i < 200; ++i) {
      weft::promise<int> p;
      auto f = p.get_future();
      std::thread t([&] { p.set_value(i); });
      EXPECT_EQ(f.get(), i);
      t.join();
    }
    for (int i = 0; i < 200; ++i) {
      weft::promise<int> p;
      auto f = p.get_future();
      int got = -1;
      std::thread t([&] { got = f.get(); });
      if (i % 2) weft::this_fiber::yield();
      p.set_value(i);
      t.join();
      EXPECT_EQ(got, i);
    }
  });
  weft::promise<int> p;
  auto f = p.get_future();
  std::thread t([&] { p.set_value(9); });
  EXPECT_EQ(f.get(), 9);
  t.join();
  weft::promise<int> q;
  auto g = q.get_future();
  EXPECT_FALSE(g.wait_for(5ms));  // a plain thread's timed wait
}

// Across two carriers: many pairs hand values over.
TEST(Future, AcrossCarriers) {
  weft::run(two_workers(), [] {
    constexpr int n = 300;
    std::vector<weft::promise<int>> ps(n);
    std::vector<weft::future<int>> fs;
    for (auto& p : ps) fs.push_back(p.get_future());
    std::vector<weft::fiber<int>> getters;
    for (int i = 0; i < n; ++i) getters.push_back(weft::spawn([&, i] { return fs[i].get(); }));
    std::vector<weft::fiber<>> setters;
    for (int i = 0; i < n; ++i) setters.push_back(weft::spawn([&, i] { ps[i].set_value(i * 2); }));
    for (auto& s : setters) s.join();
    for (int i = 0; i < n; ++i) EXPECT_EQ(getters[i].join(), i * 2);
  });
}

// spawn_future: result, exception, and cancellation by shutdown.
TEST(Future, SpawnFuture) {
  weft::run(two_workers(), [] {
    auto a = weft::spawn_future([] {
      weft::this_fiber::sleep_for(2ms);
      return 40 + 2;
    });
    auto b = weft::spawn_future([]() -> int { throw std::logic_error("bad"); });
    auto c = weft::spawn_future([] {});
    EXPECT_EQ(a.get(), 42);
    EXPECT_THROW(b.get(), std::logic_error);
    c.get();
  });
  weft::future<int> left;
  weft::run([&] {
    left = weft::spawn_future([] {
      weft::this_fiber::sleep_for(1h);
      return 1;
    });
  });
  // run() cancelled the fiber at shutdown; the future says so.
  EXPECT_THROW(left.get(), weft::cancelled);
}
