// tests/test_fiber_local.cpp — weft::fiber_local<T>: one value per fiber,
// destroyed when the fiber ends (normally, by exception, by cancel, by a
// weft::timeout); one per plain thread; across two carriers.
#include "helpers.hpp"

#include <weft/fiber_local.hpp>

#include <atomic>
#include <memory>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

using namespace weft_test;

namespace {

// tracked counts live instances and destructions.
std::atomic<int> live{0}, destroyed{0};
struct tracked {
  int v = 0;
  tracked() { live.fetch_add(1); }
  explicit tracked(int x) : v(x) { live.fetch_add(1); }
  tracked(const tracked& o) : v(o.v) { live.fetch_add(1); }
  ~tracked() {
    live.fetch_sub(1);
    destroyed.fetch_add(1);
  }
};
}  // namespace

// Each fiber sees its own value across switches; values die with fibers.
TEST(FiberLocal, PerFiberAndDestroyedAtEnd) {
  destroyed = 0;
  weft::run([] {
    weft::fiber_local<tracked> loc;
    std::vector<weft::fiber<int>> fs;
    for (int i = 0; i < 20; ++i)
      fs.push_back(weft::spawn([&, i] {
        EXPECT_FALSE(loc.has_value());
        loc->v = i;
        for (int k = 0; k < 5; ++k) {
          weft::this_fiber::yield();
          EXPECT_EQ(loc->v, i);
        }
        return loc->v;
      }));
    for (int i = 0; i < 20; ++i) EXPECT_EQ(fs[i].join(), i);
    EXPECT_EQ(destroyed.load(), 20);  // each ended fiber's value is gone
    EXPECT_FALSE(loc.has_value());     // the root fiber never touched it
    loc->v = 99;
    EXPECT_EQ(loc->v, 99);
  });
  EXPECT_EQ(live.load(), 0);
}

// The initializer makes each fiber's first value; reset and set work.
TEST(FiberLocal, InitResetSet) {
  weft::run([] {
    int made = 0;
    weft::fiber_local<std::string> name([&] {
      ++made;
      return std::string("fresh");
    });
    EXPECT_EQ(*name, "fresh");
    name.get() += "!";
    EXPECT_EQ(*name, "fresh!");
    name.reset();
    EXPECT_FALSE(name.has_value());
    EXPECT_EQ(*name, "fresh");
    name.set(std::string("mine"));
    EXPECT_EQ(*name, "mine");
    weft::spawn([&] { EXPECT_EQ(*name, "fresh"); }).join();
    EXPECT_EQ(made, 3);
  });
}

// A fiber ended by an exception, by cancel, or by a timeout scope still
// destroys its values.
TEST(FiberLocal, DestroyedOnCancelTimeoutAndThrow) {
  destroyed = 0;
  weft::run([] {
    weft::fiber_local<tracked> loc;
    auto a = weft::spawn([&] {
      loc.get();
      weft::this_fiber::sleep_for(1h);
    });
    auto b = weft::spawn([&] {
      loc.get();
      weft::timeout t(5ms);
      weft::this_fiber::sleep_for(1h);
    });
    auto c = weft::spawn([&] {
      loc.get();
      throw std::runtime_error("x");
    });
    settle();
    a.cancel();
    EXPECT_THROW(a.join(), weft::cancelled);
    EXPECT_THROW(b.join(), weft::timed_out);
    EXPECT_THROW(c.join(), std::runtime_error);
    EXPECT_EQ(destroyed.load(), 3);
  });
  EXPECT_EQ(live.load(), 0);
}

// A fiber still running at the end of run() is cancelled and its value
// destroyed; so is a value whose fiber_local object died first.
TEST(FiberLocal, OutlivesItsObjectAndShutdown) {
  destroyed = 0;
  weft::run([] {
    auto loc = std::make_unique<weft::fiber_local<tracked>>();
    weft::event go;
    auto f = weft::spawn([&] {
      loc->get();
      go.wait();
    });
    settle();
    loc.reset();  // the value lives on with the fiber
    EXPECT_EQ(live.load(), 1);
    go.set();
    f.join();
    EXPECT_EQ(live.load(), 0);
    weft::fiber_local<tracked> other;
    weft::spawn([&] {
      other.get();
      weft::this_fiber::sleep_for(1h);
    }).detach();
    settle();
    EXPECT_EQ(live.load(), 1);
  });
  EXPECT_EQ(live.load(), 0);
}

// Plain threads: one value per thread, destroyed at thread exit; fibers
// and threads do not see each other's values.
TEST(FiberLocal, PlainThreads) {
  destroyed = 0;
  weft::fiber_local<tracked> loc;
  loc->v = -1;
  std::vector<std::thread> ts;
  std::atomic<int> ok{0};
  for (int i = 0; i < 4; ++i)
    ts.emplace_back([&, i] {
      EXPECT_FALSE(loc.has_value());
      loc->v = i;
      std::this_thread::yield();
      if (loc->v == i) ok.fetch_add(1);
    });
  for (auto& t : ts) t.join();
  EXPECT_EQ(ok.load(), 4);
  EXPECT_EQ(destroyed.load(), 4);
  EXPECT_EQ(loc->v, -1);
  weft::run([&] { EXPECT_FALSE(loc.has_value()); });
  EXPECT_EQ(loc->v, -1);  // this thread's value is untouched by the run
  loc.reset();
  EXPECT_EQ(live.load(), 0);
}

// Two carriers: many fibers, each keeps its own value, all destroyed.
TEST(FiberLocal, AcrossCarriers) {
  destroyed = 0;
  weft::run(two_workers(), [] {
    weft::fiber_local<tracked> loc([] { return tracked(7); });
    std::vector<weft::fiber<bool>> fs;
    for (int i = 0; i < 200; ++i)
      fs.push_back(weft::spawn([&, i] {
        bool good = loc->v == 7;
        loc->v = i;
        weft::this_fiber::sleep_for(1ms);
        return good && loc->v == i;
      }));
    for (auto& f : fs) EXPECT_TRUE(f.join());
    EXPECT_EQ(destroyed.load(), 200);
  });
  EXPECT_EQ(live.load(), 0);
}
