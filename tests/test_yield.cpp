// tests/test_yield.cpp — this_fiber::yield(): round-robin FIFO order.
#include "helpers.hpp"

#include <string>
#include <thread>
#include <vector>

using namespace weft_test;

// logger() is a fiber body that logs tag0..tag2, yielding after each.
auto logger(std::vector<std::string>& log, std::string tag) {
  return [&log, tag] {
    for (int k = 0; k < 3; ++k) {
      log.push_back(tag + std::to_string(k));
      weft::this_fiber::yield();
    }
  };
}

// Three fibers that log and yield interleave round-robin in spawn order.
TEST(Yield, RoundRobinFifo) {
  std::vector<std::string> log;
  weft::run([&] {
    auto worker = [&](std::string tag) { return logger(log, tag); };
    auto a = weft::spawn(worker("A"));
    auto b = weft::spawn(worker("B"));
    auto c = weft::spawn(worker("C"));
    a.join();
    b.join();
    c.join();
  });
  EXPECT_EQ(log, (std::vector<std::string>{"A0", "B0", "C0", "A1", "B1", "C1", "A2", "B2", "C2"}));
}

// The yielding root takes its turn in the same rotation.
TEST(Yield, RootTakesItsTurn) {
  std::vector<std::string> log;
  weft::run([&] {
    auto worker = [&](std::string tag) { return logger(log, tag); };
    auto a = weft::spawn(worker("A"));
    auto b = weft::spawn(worker("B"));
    for (int k = 0; k < 3; ++k) {
      log.push_back(std::string("R").append(std::to_string(k)));
      weft::this_fiber::yield();
    }
    a.join();
    b.join();
  });
  EXPECT_EQ(log, (std::vector<std::string>{"R0", "A0", "B0", "R1", "A1", "B1", "R2", "A2", "B2"}));
}

// One yield lets every other ready fiber run exactly once.
TEST(Yield, EachOtherFiberRunsOncePerYield) {
  weft::run([] {
    int a = 0, b = 0;
    bool stop = false;
    auto spin = [&stop](int& n) {
      return [&stop, &n] {
        while (!stop) {
          ++n;
          weft::this_fiber::yield();
        }
      };
    };
    auto fa = weft::spawn(spin(a));
    auto fb = weft::spawn(spin(b));
    for (int i = 1; i <= 5; ++i) {
      weft::this_fiber::yield();
      EXPECT_EQ(a, i);
      EXPECT_EQ(b, i);
    }
    stop = true;
    fa.join();
    fb.join();
  });
}

// Yield with no other fiber returns; many yields complete.
TEST(Yield, AloneAndMany) {
  long n = weft::run([] {
    long i = 0;
    for (; i < 200000; ++i) weft::this_fiber::yield();
    return i;
  });
  EXPECT_EQ(n, 200000);
}

// On a plain thread yield() is std::this_thread::yield(): it just returns.
TEST(Yield, OnPlainThread) {
  EXPECT_NO_THROW(weft::this_fiber::yield());
  std::thread t([] {
    for (int i = 0; i < 10; ++i) weft::this_fiber::yield();
  });
  t.join();
}
