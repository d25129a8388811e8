// tests/test_loop.cpp — loop watchers (weft/loop.hpp, runtime/loop.cpp).
#include "helpers.hpp"
#include "stderr_capture.hpp"

#include <weft/loop.hpp>
#include <weft/weft.hpp>

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <thread>
#include <vector>

using namespace std::chrono_literals;
using weft_test::elapsed_ms;
using weft_test::steady;

namespace {

// A pipe closed at scope end.
struct pipe_pair {
  int r = -1, w = -1;
  pipe_pair() {
    int p[2];
    EXPECT_EQ(::pipe2(p, O_CLOEXEC | O_NONBLOCK), 0);
    r = p[0];
    w = p[1];
  }
  ~pipe_pair() {
    ::close(r);
    ::close(w);
  }
  void put() const { EXPECT_EQ(::write(w, "x", 1), 1); }
  int drain() const {
    char buf[256];
    int n = 0;
    for (ssize_t k; (k = ::read(r, buf, sizeof buf)) > 0;) n += int(k);
    return n;
  }
};

// wait_until(pred) sleeps in 1 ms steps until pred() or 5 s passed.
template <class P>
bool wait_until(P pred) {
  auto t0 = steady::now();
  while (!pred()) {
    if (elapsed_ms(t0) > 5000) return false;
    weft::this_fiber::sleep_for(1ms);
  }
  return true;
}

}  // namespace

TEST(Loop, OutsideASchedulerIsUsageError) {
  EXPECT_THROW((void)weft::loop::timer(1ms, 0ms, [] {}), weft::usage_error);
  EXPECT_THROW((void)weft::loop::async([] {}), weft::usage_error);
  EXPECT_THROW((void)weft::loop::idle([] {}), weft::usage_error);
  EXPECT_THROW((void)weft::loop::io(0, weft::loop::readable, [](unsigned) {}), weft::usage_error);
}

TEST(Loop, BadArgumentsAreUsageErrors) {
  weft::run([] {
    EXPECT_THROW((void)weft::loop::io(0, 0, [](unsigned) {}), weft::usage_error);
    EXPECT_THROW((void)weft::loop::timer(1ms, 0ms, nullptr), weft::usage_error);
    EXPECT_THROW((void)weft::loop::signal(SIGKILL, [](int) {}), weft::usage_error);
    EXPECT_THROW((void)weft::loop::io(-1, weft::loop::readable, [](unsigned) {}), std::system_error);
  });
}

TEST(Loop, TimerOnceAndRepeat) {
  weft::run([] {
    int once = 0, rep = 0;
    auto t0 = steady::now();
    double fired_at = 0;
    auto a = weft::loop::timer(20ms, 0ms, [&] {
      ++once;
      fired_at = elapsed_ms(t0);
    });
    auto b = weft::loop::timer(5ms, 5ms, [&] { ++rep; });
    ASSERT_TRUE(wait_until([&] { return rep >= 6 && once == 1; }));
    EXPECT_GE(fired_at, 19.0);
    b.stop();
    int at_stop = rep;
    weft::this_fiber::sleep_for(30ms);
    EXPECT_EQ(rep, at_stop);
    EXPECT_EQ(once, 1);
  });
}

TEST(Loop, IoIsLevelTriggeredAndStopsFromDestructor) {
  weft::run([] {
    pipe_pair p;
    int calls = 0;
    {
      auto w = weft::loop::io(p.r, weft::loop::readable, [&](unsigned ev) {
        EXPECT_EQ(ev, weft::loop::readable);
        ++calls;  // does not read: level-triggered, so it comes again
      });
      p.put();
      ASSERT_TRUE(wait_until([&] { return calls >= 3; }));
    }
    int at_end = calls;
    p.put();
    weft::this_fiber::sleep_for(20ms);
    EXPECT_EQ(calls, at_end);
  });
}

TEST(Loop, IoFromFibersEachEventOnce) {
  weft::run([] {
    pipe_pair p;
    int bytes = 0, calls = 0;
    auto w = weft::loop::io(p.r, weft::loop::readable, [&](unsigned) {
      ++calls;
      bytes += p.drain();
    });
    for (int i = 0; i < 100; ++i) {
      p.put();
      ASSERT_TRUE(wait_until([&] { return bytes == i + 1; }));
    }
    EXPECT_EQ(calls, 100);
  });
}

TEST(Loop, TimerAddedWhileTheLoopWaitsOnAnFd) {
  weft::run([] {
    pipe_pair p;
    auto w = weft::loop::io(p.r, weft::loop::readable, [&](unsigned) { p.drain(); });
    weft::this_fiber::sleep_for(5ms);  // the dispatcher parks, no deadline
    int fired = 0;
    auto t0 = steady::now();
    auto t = weft::loop::timer(2ms, 0ms, [&] { ++fired; });
    ASSERT_TRUE(wait_until([&] { return fired == 1; }));
    EXPECT_LT(elapsed_ms(t0), 500.0);
    auto i = weft::loop::idle([&] { ++fired; });  // likewise for idle passes
    ASSERT_TRUE(wait_until([&] { return fired > 5; }));
  });
}

TEST(Loop, SecondIoWatcherOnOneFdIsRefused) {
  weft::run([] {
    pipe_pair p;
    auto a = weft::loop::io(p.r, weft::loop::readable, [](unsigned) {});
    EXPECT_THROW((void)weft::loop::io(p.r, weft::loop::writable, [](unsigned) {}), std::system_error);
  });
}

TEST(Loop, NonInterruptibleWaitInACallbackIsLogged) {
  weft_test::stderr_capture cap;
  weft::run([] {
    weft::mutex m;
    m.lock();
    bool locked = false;
    auto a = weft::loop::async([&] {
      std::lock_guard g(m);  // parks the dispatcher until the fiber unlocks
      locked = true;
    });
    a.send();
    weft::this_fiber::sleep_for(5ms);
    m.unlock();
    ASSERT_TRUE(wait_until([&] { return locked; }));
  });
  EXPECT_NE(cap.text().find("cannot be refused"), std::string::npos);
}

TEST(Loop, StopInsideTheCallback) {
  weft::run([] {
    pipe_pair p;
    int calls = 0;
    weft::loop::watcher w;
    w = weft::loop::io(p.r, weft::loop::readable, [&](unsigned) {
      ++calls;
      w.stop();  // the fd stays readable: no second call
    });
    p.put();
    ASSERT_TRUE(wait_until([&] { return calls == 1; }));
    weft::this_fiber::sleep_for(20ms);
    EXPECT_EQ(calls, 1);
    int ticks = 0;
    weft::loop::watcher t;
    t = weft::loop::timer(1ms, 1ms, [&] {
      if (++ticks == 3) t.stop();
    });
    weft::this_fiber::sleep_for(30ms);
    EXPECT_EQ(ticks, 3);
  });
}

TEST(Loop, AsyncFromPlainThreadPingPong) {
  // Each send waits for the callback it caused: 10,000 sends, 10,000 calls.
  weft::run([] {
    std::atomic<int> calls{0};
    auto a = weft::loop::async([&] { calls.fetch_add(1); });
    std::thread t([&] {
      for (int i = 0; i < 10000; ++i) {
        a.send();
        while (calls.load() == i) std::this_thread::yield();
      }
    });
    ASSERT_TRUE(wait_until([&] { return calls.load() == 10000; }));
    t.join();
    EXPECT_EQ(calls.load(), 10000);
  });
}

TEST(Loop, AsyncBurstCoalescesWithoutLoss) {
  // 10,000 sends in a burst: sends before a call coalesce, but the last
  // send is always followed by a call that sees everything sent before it.
  weft::run([] {
    std::atomic<int> sent{0};
    int calls = 0, last_seen = 0;
    auto a = weft::loop::async([&] {
      ++calls;
      last_seen = sent.load();
    });
    std::thread t([&] {
      for (int i = 0; i < 10000; ++i) {
        sent.fetch_add(1);
        a.send();
      }
    });
    t.join();
    ASSERT_TRUE(wait_until([&] { return last_seen == 10000; }));
    EXPECT_GE(calls, 1);
    EXPECT_LE(calls, 10000);
  });
}

TEST(Loop, StopFromAnotherThread) {
  weft::run([] {
    std::atomic<int> calls{0};
    auto w = weft::loop::timer(1ms, 1ms, [&] { calls.fetch_add(1); });
    ASSERT_TRUE(wait_until([&] { return calls.load() >= 2; }));
    std::thread([&] { w.stop(); }).join();
    weft::this_fiber::sleep_for(5ms);  // a pass that may have begun finishes
    int at = calls.load();
    weft::this_fiber::sleep_for(20ms);
    EXPECT_EQ(calls.load(), at);
  });
}

TEST(Loop, TwoWorkersCallbacksOnTheirCarrier) {
  weft::run(weft_test::two_workers(), [] {
    std::vector<weft::fiber<>> fs;
    std::atomic<int> wrong{0}, done{0};
    for (int i = 0; i < 4; ++i)
      fs.push_back(weft::spawn([&] {
        auto me = std::this_thread::get_id();
        pipe_pair p;
        int ticks = 0, reads = 0;
        auto t = weft::loop::timer(1ms, 1ms, [&] {
          if (std::this_thread::get_id() != me) wrong.fetch_add(1);
          ++ticks;
        });
        auto w = weft::loop::io(p.r, weft::loop::readable, [&](unsigned) {
          if (std::this_thread::get_id() != me) wrong.fetch_add(1);
          reads += p.drain();
        });
        for (int k = 0; k < 20; ++k) {
          p.put();
          ASSERT_TRUE(wait_until([&] { return reads == k + 1; }));
        }
        ASSERT_TRUE(wait_until([&] { return ticks >= 5; }));
        done.fetch_add(1);
      }));
    for (auto& f : fs) f.join();
    EXPECT_EQ(done.load(), 4);
    EXPECT_EQ(wrong.load(), 0);
  });
}

TEST(Loop, BlockingInACallbackIsUsageError) {
  weft::run([] {
    int refused = 0, calls = 0;
    weft::channel<int> empty(1), roomy(4);
    weft::event never;
    auto a = weft::loop::async([&] {
      ++calls;
      try {
        weft::this_fiber::sleep_for(1ms);
      } catch (const weft::usage_error&) {
        ++refused;
      }
      try {
        (void)empty.recv();
      } catch (const weft::usage_error&) {
        ++refused;
      }
      try {
        never.wait();
      } catch (const weft::usage_error&) {
        ++refused;
      }
      // What does not wait is fine.
      EXPECT_FALSE(empty.try_recv().has_value());
      EXPECT_TRUE(roomy.send(1));
    });
    a.send();
    ASSERT_TRUE(wait_until([&] { return calls == 1; }));
    EXPECT_EQ(refused, 3);
    EXPECT_EQ(*roomy.recv(), 1);
    // The same waits on an ordinary fiber still work.
    weft::this_fiber::sleep_for(1ms);
  });
}

TEST(Loop, EscapingExceptionStopsTheWatcher) {
  weft_test::stderr_capture cap;
  weft::run([] {
    int calls = 0;
    auto t = weft::loop::timer(1ms, 1ms, [&] {
      ++calls;
      throw std::runtime_error("boom");
    });
    weft::this_fiber::sleep_for(30ms);
    EXPECT_EQ(calls, 1);
  });
  EXPECT_NE(cap.text().find("boom (watcher stopped)"), std::string::npos);
}

TEST(Loop, SignalWatcher) {
  weft::run([] {
    std::atomic<int> got{0};
    auto s = weft::loop::signal(SIGUSR2, [&](int sig) { got.store(sig); });
    ::kill(::getpid(), SIGUSR2);
    ASSERT_TRUE(wait_until([&] { return got.load() != 0; }));
    EXPECT_EQ(got.load(), SIGUSR2);
  });
}

TEST(Loop, ChildWatcher) {
  weft::run([] {
    pid_t pid = ::fork();
    if (pid == 0) {
      ::usleep(20000);
      ::_exit(7);
    }
    pid_t seen = 0;
    int status = -1;
    auto c = weft::loop::child(pid, [&](pid_t p, int st) {
      seen = p;
      status = st;
    });
    ASSERT_TRUE(wait_until([&] { return seen != 0; }));
    EXPECT_EQ(seen, pid);
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 7);
    EXPECT_EQ(::waitpid(pid, nullptr, WNOHANG), -1);  // reaped
  });
}

TEST(Loop, IdleRunsBesideFibers) {
  weft::run([] {
    int idles = 0;
    auto i = weft::loop::idle([&] { ++idles; });
    weft::this_fiber::sleep_for(10ms);
    EXPECT_GT(idles, 10);
    i.stop();
    int at = idles;
    weft::this_fiber::sleep_for(10ms);
    EXPECT_EQ(idles, at);
  });
}

TEST(Loop, RunEndsWithWatchersAliveAndHandlesOutliveIt) {
  weft::loop::watcher kept;
  weft::loop::async_watcher a;
  weft::run([&] {
    kept = weft::loop::timer(1h, 0ms, [] {});
    a = weft::loop::async([] {});
    auto local = weft::loop::timer(1ms, 1ms, [] {});
    weft::this_fiber::sleep_for(5ms);
  });
  a.send();  // after the run: nothing runs, nothing breaks
  kept.stop();
  a.stop();
  weft::run([] {  // a new run on the same thread gets a new loop
    int n = 0;
    auto t = weft::loop::timer(1ms, 0ms, [&] { ++n; });
    ASSERT_TRUE(wait_until([&] { return n == 1; }));
  });
}

TEST(Loop, IdleDispatcherStillLetsADeadlockBeSeen) {
  // With no watcher left the dispatcher waits on an event, a wait only the
  // run can end (weft/loop.hpp), and the dump says so.
  weft::run([] {
    {
      auto t = weft::loop::timer(1ms, 0ms, [] {});
      weft::this_fiber::sleep_for(5ms);
    }
    weft::this_fiber::sleep_for(5ms);
    std::ostringstream os;
    weft::dump(os);
    auto at = os.str().find("\"weft::loop\" parked, event");
    EXPECT_NE(at, std::string::npos) << os.str();
  });
}
