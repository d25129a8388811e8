// tests/test_group.cpp — weft::group: concurrency limit, wait() and its
// first error, cancel(), and the destructor that cancels and waits.
#include "helpers.hpp"

#include <algorithm>
#include <atomic>
#include <functional>
#include <stdexcept>
#include <string>

using namespace weft_test;

// With limit 3, never more than 3 members run at once, and 3 do.
TEST(Group, LimitRespected) {
  weft::run([] {
    weft::group g(3);
    int running = 0, max_running = 0, finished = 0;
    for (int i = 0; i < 20; ++i) {
      g.spawn([&] {
        ++running;
        max_running = std::max(max_running, running);
        for (int k = 0; k < 3; ++k) weft::this_fiber::yield();
        weft::this_fiber::sleep_for(1ms);
        --running;
        ++finished;
      });
      EXPECT_LE(g.size(), 3u);
    }
    g.wait();
    EXPECT_EQ(max_running, 3);
    EXPECT_EQ(finished, 20);
    EXPECT_EQ(g.size(), 0u);
  });
}

// spawn() into a full group waits (parks the spawner) until a slot frees.
TEST(Group, SpawnWaitsForSlot) {
  weft::run([] {
    weft::group g(2);
    weft::event go;
    bool third_spawned = false;
    auto spawner = weft::spawn([&] {
      for (int i = 0; i < 3; ++i) g.spawn([&] { go.wait(); });
      third_spawned = true;
    });
    settle();
    EXPECT_FALSE(third_spawned);
    EXPECT_EQ(g.size(), 2u);
    go.set();
    spawner.join();
    EXPECT_TRUE(third_spawned);
    g.wait();
    EXPECT_EQ(g.size(), 0u);
  });
}

// limit 0 = unlimited; size() counts running members.
TEST(Group, UnlimitedAndSize) {
  weft::run([] {
    weft::group g;
    weft::event go;
    EXPECT_EQ(g.size(), 0u);
    for (int i = 0; i < 100; ++i) g.spawn([&] { go.wait(); });
    settle();
    EXPECT_EQ(g.size(), 100u);
    go.set();
    g.wait();
    EXPECT_EQ(g.size(), 0u);
  });
}

// wait() with no members returns at once; a group can be reused after wait.
TEST(Group, EmptyWaitAndReuse) {
  weft::run([] {
    weft::group g(2);
    auto t0 = steady::now();
    g.wait();
    EXPECT_LT(elapsed_ms(t0), 1000.0);
    int n = 0;
    for (int round = 0; round < 3; ++round) {
      for (int i = 0; i < 4; ++i) g.spawn([&] { ++n; });
      g.wait();
      EXPECT_EQ(n, 4 * (round + 1));
    }
  });
}

// wait() returns only after every member ended, then rethrows the first
// error (by time), not a later one.
TEST(Group, WaitRethrowsFirstError) {
  weft::run([] {
    weft::group g;
    std::atomic<int> ended{0};
    g.spawn([&] {
      count_on_destroy c{&ended};
      weft::this_fiber::sleep_for(10ms);
      throw std::runtime_error("first");
    });
    g.spawn([&] {
      count_on_destroy c{&ended};
      weft::this_fiber::sleep_for(30ms);
      throw std::logic_error("second");
    });
    g.spawn([&] {
      count_on_destroy c{&ended};
      weft::this_fiber::sleep_for(50ms);
    });
    try {
      g.wait();
      ADD_FAILURE() << "wait() did not throw";
    } catch (const std::runtime_error& e) {
      EXPECT_STREQ(e.what(), "first");
    }
    EXPECT_EQ(ended.load(), 3);
    EXPECT_EQ(g.size(), 0u);
  });
}

// Any exception type is rethrown as is.
TEST(Group, WaitRethrowsNonStdError) {
  weft::run([] {
    weft::group g;
    g.spawn([] { throw 7; });
    try {
      g.wait();
      ADD_FAILURE() << "wait() did not throw";
    } catch (int v) {
      EXPECT_EQ(v, 7);
    }
  });
}

// cancel() cancels every running member; cancellations are not errors, so
// wait() returns normally; members' destructors ran.
TEST(Group, CancelStopsMembers) {
  weft::run([] {
    weft::group g;
    std::atomic<int> ended{0}, saw_cancel{0};
    for (int i = 0; i < 5; ++i)
      g.spawn([&] {
        count_on_destroy c{&ended};
        try {
          weft::this_fiber::sleep_for(1h);
        } catch (const weft::cancelled&) {
          ++saw_cancel;
          throw;
        }
      });
    settle();
    auto t0 = steady::now();
    g.cancel();
    EXPECT_NO_THROW(g.wait());
    EXPECT_LT(elapsed_ms(t0), 2000.0);
    EXPECT_EQ(ended.load(), 5);
    EXPECT_EQ(saw_cancel.load(), 5);
  });
}

// The destructor cancels what still runs and waits for it: members never
// outlive the group.
TEST(Group, DestructorCancelsAndWaits) {
  weft::run([] {
    std::atomic<int> ended{0};
    auto t0 = steady::now();
    {
      weft::group g;
      for (int i = 0; i < 5; ++i)
        g.spawn([&] {
          count_on_destroy c{&ended};
          weft::this_fiber::sleep_for(1h);
        });
      settle();
      EXPECT_EQ(ended.load(), 0);
    }
    EXPECT_EQ(ended.load(), 5);
    EXPECT_LT(elapsed_ms(t0), 2000.0);
  });
}

// Members may spawn more members into the same group; wait() covers them.
TEST(Group, MembersSpawnMembers) {
  weft::run([] {
    weft::group g;
    int ran = 0;
    std::function<void(int)> grow = [&](int depth) {
      ++ran;
      weft::this_fiber::yield();
      if (depth == 0) return;
      g.spawn([&, depth] { grow(depth - 1); });
      g.spawn([&, depth] { grow(depth - 1); });
    };
    g.spawn([&] { grow(3); });
    g.wait();
    EXPECT_EQ(ran, 15);
  });
}

// spawn(options, fn) names the member fiber.
TEST(Group, SpawnWithOptions) {
  weft::run([] {
    weft::group g;
    std::string name;
    g.spawn(weft::spawn_options{.name = "pool-worker"}, [&] { name = weft::this_fiber::name(); });
    g.wait();
    EXPECT_EQ(name, "pool-worker");
  });
}

// The destructor also copes with members spawned but not yet started: it
// returns promptly and no member is still running afterwards. (Run in a
// child process: a runtime that misses unstarted members hangs here.)
TEST(Group, DestructorRightAfterSpawn) {
  WEFT_EXPECT_FINISHES_WITHIN(3, weft::run([] {
    std::atomic<int> started{0}, ended{0};
    auto t0 = steady::now();
    {
      weft::group g;
      for (int i = 0; i < 5; ++i)
        g.spawn([&] {
          ++started;
          count_on_destroy c{&ended};
          weft::this_fiber::sleep_for(1h);
        });
    }
    EXPECT_EQ(started.load(), ended.load());
    EXPECT_LT(elapsed_ms(t0), 2000.0);
    settle();
    EXPECT_EQ(started.load(), ended.load());  // nothing started afterwards
  }));
}

// cancel() right after spawn() also reaches members that have not started
// yet: wait() then returns promptly.
TEST(Group, CancelRightAfterSpawn) {
  WEFT_EXPECT_FINISHES_WITHIN(3, weft::run([] {
    weft::group g;
    int finished = 0;
    for (int i = 0; i < 5; ++i)
      g.spawn([&] {
        weft::this_fiber::sleep_for(1h);
        ++finished;
      });
    auto t0 = steady::now();
    g.cancel();
    g.wait();
    EXPECT_LT(elapsed_ms(t0), 2000.0);
    EXPECT_EQ(finished, 0);
  }));
}
