// tests/test_workers.cpp — several carriers per weft::run (config::workers):
// fibers spread over the carriers, never migrate, synchronise across them,
// close() wakes waiters on other carriers, and run() shuts all of it down.
#include "helpers.hpp"

#include <weft/io.hpp>

#include <dirent.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <atomic>
#include <memory>
#include <set>
#include <system_error>
#include <vector>

using namespace weft_test;

namespace {

pid_t tid() { return static_cast<pid_t>(syscall(SYS_gettid)); }

}  // namespace

// Fibers that compute are stolen by the idle carrier while the spawning
// one runs them, so they run on both carriers, and each stays on the
// carrier where it first ran across sleeps and yields.
TEST(Workers, FibersSpreadAndNeverMigrate) {
  std::set<pid_t> carriers;
  int moved = 0;
  weft::run(two_workers(), [&] {
    std::vector<weft::fiber<std::pair<pid_t, bool>>> fs;
    for (int i = 0; i < 40; ++i)
      fs.push_back(weft::spawn([] {
        pid_t first = tid();
        for (auto t0 = steady::now(); steady::now() - t0 < 1ms;) {  // 40 ms on one carrier
        }
        bool same = true;
        for (int k = 0; k < 20; ++k) {
          if (k % 5 == 0) weft::this_fiber::sleep_for(1ms);
          else weft::this_fiber::yield();
          same = same && tid() == first;
        }
        return std::make_pair(first, same);
      }));
    for (auto& f : fs) {
      auto [t, same] = f.join();
      carriers.insert(t);
      moved += !same;
    }
  });
  EXPECT_EQ(carriers.size(), 2u);
  EXPECT_EQ(moved, 0);
}

// A run with N workers holds exactly N-1 more OS threads, and none after.
TEST(Workers, OneOsThreadPerWorker) {
  int before = os_threads();
  weft::config c;
  c.workers = 3;
  int during = weft::run(c, [] { return os_threads(); });
  EXPECT_EQ(during, before + 2);
  EXPECT_EQ(os_threads(), before);
}

// A weft::mutex and a channel work across carriers: 8 fibers add 2,000
// each under the mutex, then report through one channel.
TEST(Workers, MutexAndChannelAcrossCarriers) {
  long total = 0;
  weft::run(two_workers(), [&] {
    weft::mutex mu;
    long counter = 0;
    weft::channel<int> done(0);
    for (int i = 0; i < 8; ++i)
      weft::spawn([&] {
        for (int k = 0; k < 2000; ++k) {
          std::lock_guard g(mu);
          ++counter;
          if (k % 100 == 0) weft::this_fiber::yield();
        }
        done.send(1);
      }).detach();
    for (int i = 0; i < 8; ++i) total += done.recv().value();
    total = total * 1000000 + counter;
  });
  EXPECT_EQ(total, 8 * 1000000L + 16000);
}

// close_fd() on one carrier wakes a fiber of the other carrier that waits
// on the fd, with EBADF, before the fd is closed.
TEST(Workers, CloseWakesWaiterOnOtherCarrier) {
  int err = 0;
  bool other_carrier = false;
  weft::run(two_workers(), [&] {
    int p[2];
    ASSERT_EQ(pipe(p), 0);
    pid_t me = tid();
    weft::event waiting;
    auto f = spawn_elsewhere([&] {
      other_carrier = tid() != me;
      waiting.set();
      try {
        weft::wait_io(p[0], weft::io_event::readable);
      } catch (const std::system_error& e) {
        return e.code().value();
      }
      return -1;
    });
    waiting.wait();
    weft::this_fiber::sleep_for(20ms);  // let it park in the other poller
    EXPECT_EQ(weft::close_fd(p[0]), 0);
    err = f.join();
    close(p[1]);
  });
  EXPECT_TRUE(other_carrier);
  EXPECT_EQ(err, EBADF);
}

// run() returns promptly when the root ends while fibers on other carriers
// sleep or wait for I/O forever; they are cancelled and unwound.
TEST(Workers, ShutdownCancelsFibersOnAllCarriers) {
  auto unwound = std::make_shared<std::atomic<int>>(0);
  auto t0 = steady::now();
  weft::run(two_workers(), [&] {
    int p[2];
    ASSERT_EQ(pipe(p), 0);
    for (int i = 0; i < 20; ++i)
      weft::spawn([unwound, fd = p[0], i] {
        struct guard {
          std::shared_ptr<std::atomic<int>> n;
          ~guard() { ++*n; }
        } g{unwound};
        if (i % 2) weft::this_fiber::sleep_for(1h);
        else weft::wait_io(fd, weft::io_event::readable);
      }).detach();
    weft::this_fiber::sleep_for(20ms);
  });
  EXPECT_EQ(unwound->load(), 20);
  EXPECT_LT(steady::now() - t0, 5s);
}

// Fibers that keep spawning while the run shuts down do not hang it.
TEST(Workers, SpawnDuringShutdown) {
  std::atomic<int> spawned{0};
  weft::run(two_workers(), [&] {
    for (int i = 0; i < 4; ++i)
      weft::spawn([&] {
        struct respawn {
          std::atomic<int>& n;
          ~respawn() {
            ++n;
            try {
              weft::spawn([] { weft::this_fiber::sleep_for(1h); }).detach();
            } catch (...) {
            }
          }
        } r{spawned};
        weft::this_fiber::sleep_for(1h);
      }).detach();
    weft::this_fiber::sleep_for(10ms);
  });
  EXPECT_EQ(spawned.load(), 4);
}

// workers outside [1, 64] is a usage error; WEFT_WORKERS sets the count.
TEST(Workers, ConfigBounds) {
  weft::config c;
  c.workers = 65;
  EXPECT_THROW(weft::run(c, [] {}), weft::usage_error);
  ::setenv("WEFT_WORKERS", "2", 1);
  int before = os_threads();
  int during = weft::run([] { return os_threads(); });
  ::unsetenv("WEFT_WORKERS");
  EXPECT_EQ(during, before + 1);
}

// A number closed on one carrier and reused at once works on the other
// carrier, whose registration of the old file is dropped either by the
// forget it was posted or by its own incarnation check, whichever is first.
TEST(Workers, ReusedNumberWorksOnTheOtherCarrier) {
  int reads_ok = 0, ebadf = 0;
  weft::run(two_workers(), [&] {
    pid_t me = tid();
    for (int round = 0; round < 20; ++round) {
      int p[2];
      ASSERT_EQ(pipe(p), 0);
      // One fiber on the other carrier waits on the pipe.
      auto f = spawn_elsewhere([&, fd = p[0]] {
        if (tid() == me) return 0;
        try {
          weft::wait_io(fd, weft::io_event::readable);
        } catch (const std::system_error& e) {
          return e.code().value();
        }
        return -1;
      });
      weft::this_fiber::sleep_for(2ms);
      weft::close_fd(p[0]);
      ebadf += f.join() == EBADF;
      close(p[1]);
      int q[2];
      ASSERT_EQ(pipe(q), 0);  // takes the numbers just freed
      auto g = spawn_elsewhere([&, fd = q[0]] {
        if (tid() == me) return 0;
        weft::wait_io(fd, weft::io_event::readable);
        char c;
        return static_cast<int>(read(fd, &c, 1));
      });
      weft::this_fiber::sleep_for(1ms);
      ASSERT_EQ(write(q[1], "x", 1), 1);
      reads_ok += g.join() == 1;
      close(q[0]);
      close(q[1]);
    }
  });
  EXPECT_EQ(ebadf, 20);
  EXPECT_EQ(reads_ok, 20);
}
