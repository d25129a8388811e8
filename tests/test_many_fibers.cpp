// tests/test_many_fibers.cpp — scale and stacks: 100k live fibers, stack
// reuse, custom stack sizes, deep recursion, and the guard page.
#include "helpers.hpp"

#include <memory>
#include <vector>

using namespace weft_test;

// 100k fibers alive at once, each yielding and sleeping, then all joined.
TEST(ManyFibers, HundredThousandSleepAndYield) {
  constexpr int kN = 100000;
  long sum = weft::run([] {
    std::vector<weft::fiber<int>> fs;
    fs.reserve(kN);
    for (int i = 0; i < kN; ++i)
      fs.push_back(weft::spawn([i] {
        weft::this_fiber::yield();
        weft::this_fiber::sleep_for(1ms);
        weft::this_fiber::yield();
        return i;
      }));
    long s = 0;
    for (auto& f : fs) s += f.join();
    return s;
  });
  EXPECT_EQ(sum, long{kN} * (kN - 1) / 2);
}

// 100k detached fibers parked on one event are all released by set().
TEST(ManyFibers, HundredThousandOnOneEvent) {
  constexpr int kN = 100000;
  int woken = weft::run([] {
    weft::event go;
    weft::wait_group wg;
    int n = 0;
    wg.add(kN);
    for (int i = 0; i < kN; ++i)
      weft::spawn([&] {
        go.wait();
        ++n;
        wg.done();
      }).detach();
    settle(2);
    go.set();
    wg.wait();
    return n;
  });
  EXPECT_EQ(woken, kN);
}

// Spawning and joining one fiber at a time reuses stacks: many rounds work.
TEST(ManyFibers, SequentialSpawnJoinReusesStacks) {
  long s = weft::run([] {
    long sum = 0;
    for (int i = 0; i < 50000; ++i) sum += weft::spawn([i] { return burn_stack(8) + i; }).join();
    return sum;
  });
  EXPECT_EQ(s, 50000L * 9 + 50000L * 49999 / 2);
}

// A chain of 10k fibers passing a token through rendezvous channels.
TEST(ManyFibers, DaisyChain) {
  constexpr int kN = 10000;
  int out = weft::run([] {
    std::vector<std::unique_ptr<weft::channel<int>>> chans;
    for (int i = 0; i <= kN; ++i) chans.push_back(std::make_unique<weft::channel<int>>());
    std::vector<weft::fiber<>> fs;
    for (int i = 0; i < kN; ++i)
      fs.push_back(weft::spawn([&, i] { chans[i + 1]->send(*chans[i]->recv() + 1); }));
    chans[0]->send(0);
    int v = *chans[kN]->recv();
    for (auto& f : fs) f.join();
    return v;
  });
  EXPECT_EQ(out, kN);
}

// The default stack (64 KiB) holds a recursion of ~40 KiB.
TEST(ManyFibers, DefaultStackHoldsModerateRecursion) {
  int r = weft::run([] { return weft::spawn([] { return burn_stack(32); }).join(); });
  EXPECT_EQ(r, 33);
}

// spawn_options::stack_size gives a fiber a bigger stack: ~600 KiB deep
// recursion in a 1 MiB fiber, many such fibers alive at once.
TEST(ManyFibers, CustomStackSizeDeepRecursion) {
  int r = weft::run([] {
    std::vector<weft::fiber<int>> fs;
    for (int i = 0; i < 8; ++i)
      fs.push_back(weft::spawn(weft::spawn_options{.name = "deep", .stack_size = 1 << 20}, [] {
        int a = burn_stack(300);
        weft::this_fiber::yield();
        return a + burn_stack(300);
      }));
    int s = 0;
    for (auto& f : fs) s += f.join();
    return s;
  });
  EXPECT_EQ(r, 8 * 2 * 301);
}

// config::stack_size sets the default for every fiber of that run(); a
// stack size that is not a multiple of the page size is rounded up.
TEST(ManyFibers, ConfigStackSize) {
  int r = weft::run(weft::config{.stack_size = 512 * 1024, .workers = 1, .backend = {}}, [] {
    auto f = weft::spawn([] { return burn_stack(300); });
    auto g = weft::spawn(weft::spawn_options{.name = {}, .stack_size = 100 * 1024 + 1},
                         [] { return burn_stack(64); });
    return f.join() + g.join() + burn_stack(300);  // the root too
  });
  EXPECT_EQ(r, 301 + 65 + 301);
}

// Overflowing a fiber's stack hits the guard page and kills the process
// (rather than silently corrupting a neighbouring stack).
TEST(ManyFibersDeathTest, StackOverflowHitsGuardPage) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_DEATH(
      {
        weft::run([] {
          // ~84 KiB of frames in a 64 KiB stack
          auto f = weft::spawn(weft::spawn_options{.name = {}, .stack_size = 64 * 1024},
                               [] { return burn_stack(80); });
          auto keep = weft::spawn([] { weft::this_fiber::sleep_for(1h); });
          (void)f.join();
        });
      },
      "");
}
