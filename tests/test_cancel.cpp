// tests/test_cancel.cpp — fiber::cancel(): every kind of wait is a
// cancellation point (mutex::lock is not), cancellation is sticky, works
// from other threads, is a no-op on finished fibers, and does not interrupt
// waits made while unwinding.
#include "helpers.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <functional>
#include <future>
#include <mutex>
#include <thread>

using namespace weft_test;

namespace {
// expect_wait_cancelled(what, wait): runs wait() in a fiber, cancels it
// while it is parked there, and checks that weft::cancelled came out of
// wait() and out of join(). Fiber only.
void expect_wait_cancelled(const char* what, const std::function<void()>& wait) {
  bool reached = false, returned = false, caught = false;
  auto f = weft::spawn([&] {
    reached = true;
    try {
      wait();
      returned = true;
    } catch (const weft::cancelled&) {
      caught = true;
      throw;
    }
  });
  settle();
  EXPECT_TRUE(reached) << what;
  EXPECT_FALSE(f.done()) << what << ": did not block";
  f.cancel();
  EXPECT_THROW(f.join(), weft::cancelled) << what;
  EXPECT_TRUE(caught) << what;
  EXPECT_FALSE(returned) << what;
}
}  // namespace

// Sleeps, channel ends, events, semaphores, wait groups, cvs, yield loops,
// groups and fd waits all throw cancelled when the fiber is cancelled.
TEST(Cancel, EveryWaitKind) {
  weft::run([] {
    expect_wait_cancelled("sleep_for", [] { weft::this_fiber::sleep_for(1h); });
    expect_wait_cancelled("sleep_until", [] { weft::this_fiber::sleep_until(steady::now() + 1h); });

    weft::channel<int> rv;
    expect_wait_cancelled("channel recv", [&] { (void)rv.recv(); });
    expect_wait_cancelled("channel rendezvous send", [&] { rv.send(1); });
    EXPECT_EQ(rv.try_recv(), std::nullopt);  // the cancelled send delivered nothing
    weft::channel<int> full(1);
    full.send(0);
    expect_wait_cancelled("channel send (full)", [&] { full.send(1); });
    EXPECT_EQ(full.size(), 1u);

    weft::event ev;
    expect_wait_cancelled("event wait", [&] { ev.wait(); });
    expect_wait_cancelled("event wait_for", [&] { (void)ev.wait_for(1h); });

    weft::semaphore sem(0);
    expect_wait_cancelled("semaphore acquire", [&] { sem.acquire(); });
    expect_wait_cancelled("semaphore try_acquire_for", [&] { (void)sem.try_acquire_for(1h); });
    EXPECT_EQ(sem.available(), 0);

    weft::wait_group wg;
    wg.add();
    expect_wait_cancelled("wait_group wait", [&] { wg.wait(); });
    expect_wait_cancelled("wait_group wait_for", [&] { (void)wg.wait_for(1h); });
    wg.done();

    weft::mutex m;
    weft::condition_variable cv;
    expect_wait_cancelled("cv wait", [&] {
      std::unique_lock lk(m);
      cv.wait(lk);
    });
    expect_wait_cancelled("cv wait_for", [&] {
      std::unique_lock lk(m);
      (void)cv.wait_for(lk, 1h);
    });
    expect_wait_cancelled("cv wait with predicate", [&] {
      std::unique_lock lk(m);
      cv.wait(lk, [] { return false; });
    });
    EXPECT_TRUE(m.try_lock());  // every cancelled waiter released the mutex
    m.unlock();

    expect_wait_cancelled("yield loop", [] {
      for (;;) weft::this_fiber::yield();
    });

    {
      auto sleeper = weft::spawn([] { weft::this_fiber::sleep_for(1h); });
      expect_wait_cancelled("join", [&] { sleeper.join(); });
      EXPECT_TRUE(sleeper.joinable());  // the target is unaffected
      EXPECT_FALSE(sleeper.done());
      sleeper.cancel();
      EXPECT_THROW(sleeper.join(), weft::cancelled);
    }

    int p[2];
    ASSERT_EQ(pipe2(p, O_NONBLOCK | O_CLOEXEC), 0);
    expect_wait_cancelled("wait_io", [&] { weft::wait_io(p[0], weft::io_event::readable); });
    expect_wait_cancelled("wait_io_for",
                          [&] { (void)weft::wait_io_for(p[0], weft::io_event::readable, 1h); });
    weft::close_fd(p[0]);
    weft::close_fd(p[1]);

    {
      weft::group g(1);
      weft::event hold;
      g.spawn([&] { hold.wait(); });
      expect_wait_cancelled("group wait", [&] { g.wait(); });
      expect_wait_cancelled("group spawn (no free slot)", [&] { g.spawn([] {}); });
      hold.set();
      g.wait();
    }
  });
}

// mutex::lock is not a cancellation point: a cancelled fiber still gets the
// mutex, and throws at its next interruptible wait.
TEST(Cancel, MutexLockIsNotInterrupted) {
  weft::run([] {
    weft::mutex m;
    m.lock();
    bool locked = false, after_yield = false;
    auto f = weft::spawn([&] {
      m.lock();
      locked = true;
      m.unlock();
      weft::this_fiber::yield();
      after_yield = true;
    });
    settle();
    f.cancel();
    settle();
    EXPECT_FALSE(locked);
    EXPECT_FALSE(f.done());
    m.unlock();
    EXPECT_THROW(f.join(), weft::cancelled);
    EXPECT_TRUE(locked);
    EXPECT_FALSE(after_yield);
  });
}

// A cancelled cv waiter re-acquires the mutex before the exception leaves
// wait(): it cannot finish while someone else holds the mutex.
TEST(Cancel, CondVarReacquiresMutexBeforeThrowing) {
  weft::run([] {
    weft::mutex m;
    weft::condition_variable cv;
    bool owned_in_catch = false;
    auto f = weft::spawn([&] {
      std::unique_lock lk(m);
      try {
        cv.wait(lk);
      } catch (const weft::cancelled&) {
        owned_in_catch = lk.owns_lock();
        throw;
      }
    });
    settle();
    m.lock();  // f waits on cv, so the mutex is free
    f.cancel();
    settle();
    EXPECT_FALSE(f.done());  // needs the mutex to leave wait()
    m.unlock();
    EXPECT_THROW(f.join(), weft::cancelled);
    EXPECT_TRUE(owned_in_catch);
    EXPECT_TRUE(m.try_lock());
    m.unlock();
  });
}

// Cancellation is sticky: every later wait throws again, and
// cancel_requested() reports it.
TEST(Cancel, Sticky) {
  weft::run([] {
    EXPECT_FALSE(weft::this_fiber::cancel_requested());
    auto f = weft::spawn([] {
      int n = 0;
      EXPECT_FALSE(weft::this_fiber::cancel_requested());
      for (int i = 0; i < 3; ++i) {
        try {
          weft::this_fiber::sleep_for(1h);
        } catch (const weft::cancelled&) {
          ++n;
        }
      }
      EXPECT_TRUE(weft::this_fiber::cancel_requested());
      try {
        weft::this_fiber::yield();
      } catch (const weft::cancelled&) {
        ++n;
      }
      try {
        weft::channel<int> c(1);
        (void)c.recv();
      } catch (const weft::cancelled&) {
        ++n;
      }
      try {
        weft::event ev;
        ev.wait();
      } catch (const weft::cancelled&) {
        ++n;
      }
      return n;
    });
    settle();
    f.cancel();
    EXPECT_EQ(f.join(), 6);  // the fiber swallowed them all and returned
  });
  EXPECT_FALSE(weft::this_fiber::cancel_requested());
}

// A fiber that handles cancellation and returns normally is joined normally.
TEST(Cancel, HandledCancellationJoinsNormally) {
  weft::run([] {
    auto f = weft::spawn([] {
      try {
        weft::this_fiber::sleep_for(1h);
      } catch (const weft::cancelled&) {
        return -1;
      }
      return 1;
    });
    settle();
    f.cancel();
    EXPECT_EQ(f.join(), -1);
  });
}

// A fiber that converts cancellation into another exception is joined
// with that exception.
TEST(Cancel, CancellationTurnedIntoOtherError) {
  weft::run([] {
    auto f = weft::spawn([] {
      try {
        weft::this_fiber::sleep_for(1h);
      } catch (const weft::cancelled&) {
        throw std::runtime_error("converted");
      }
    });
    settle();
    f.cancel();
    EXPECT_THROW(f.join(), std::runtime_error);
  });
}

// Cancelling right after spawn: the fiber never gets past its first wait.
TEST(Cancel, CancelBeforeFirstRun) {
  weft::run([] {
    bool after = false;
    auto f = weft::spawn([&] {
      weft::this_fiber::sleep_for(1h);
      after = true;
    });
    f.cancel();
    auto t0 = steady::now();
    EXPECT_THROW(f.join(), weft::cancelled);
    EXPECT_FALSE(after);
    EXPECT_LT(elapsed_ms(t0), 2000.0);
  });
}

// cancel() before the fiber ever ran: the documented contract (fiber.hpp,
// docs/design.md) is that its body never runs, like a gevent greenlet killed
// before it started, and join() reports the cancellation.
TEST(Cancel, CancelBeforeStartNeverRunsBody) {
  weft::run([] {
    bool started = false;
    auto f = weft::spawn([&] {
      started = true;
      weft::this_fiber::sleep_for(1h);
    });
    f.cancel();
    EXPECT_THROW(f.join(), weft::cancelled);
    EXPECT_FALSE(started);
    auto g = weft::spawn([] { return 5; });
    g.cancel();
    EXPECT_THROW(g.join(), weft::cancelled);
    // Once it has started, the body runs until its next blocking point.
    bool reached = false;
    auto h = weft::spawn([&] {
      reached = true;
      weft::this_fiber::sleep_for(1h);
    });
    weft::this_fiber::yield();
    EXPECT_TRUE(reached);
    h.cancel();
    EXPECT_THROW(h.join(), weft::cancelled);
  });
}

// A fiber busy without waiting is cancelled at its next yield.
TEST(Cancel, BusyFiberStopsAtNextYield) {
  weft::run([] {
    long spins = 0;
    auto f = weft::spawn([&] {
      for (;;) {
        ++spins;
        weft::this_fiber::yield();
      }
    });
    settle(3);
    f.cancel();
    EXPECT_THROW(f.join(), weft::cancelled);
    EXPECT_GE(spins, 1);
  });
}

// cancel() may be called from another OS thread; it wakes the fiber.
TEST(Cancel, FromAnotherThread) {
  weft::run([] {
    auto f = weft::spawn([] { weft::this_fiber::sleep_for(1h); });
    std::thread t([&] {
      std::this_thread::sleep_for(20ms);
      f.cancel();
    });
    auto t0 = steady::now();
    EXPECT_THROW(f.join(), weft::cancelled);
    EXPECT_LT(elapsed_ms(t0), 2000.0);
    t.join();
  });
}

// cancel() from another thread wakes a fiber parked on a channel while its
// scheduler has nothing else to do.
TEST(Cancel, FromAnotherThreadWhileSchedulerIdle) {
  weft::channel<int> ch;
  std::promise<weft::fiber<>> handed;
  weft::event release;
  std::thread runner([&] {
    weft::run([&] {
      handed.set_value(weft::spawn([&] { (void)ch.recv(); }));
      release.wait();
    });
  });
  auto f = handed.get_future().get();
  std::this_thread::sleep_for(20ms);
  f.cancel();
  EXPECT_THROW(f.join(), weft::cancelled);
  release.set();
  runner.join();
}

// Cancelling a finished fiber is a no-op: its result is still there.
TEST(Cancel, DoneFiberIsNoOp) {
  weft::run([] {
    auto f = weft::spawn([] { return 5; });
    settle();
    ASSERT_TRUE(f.done());
    f.cancel();
    f.cancel();
    EXPECT_EQ(f.join(), 5);
  });
}

// Cancelling twice is the same as once.
TEST(Cancel, Twice) {
  weft::run([] {
    auto f = weft::spawn([] { weft::this_fiber::sleep_for(1h); });
    settle();
    f.cancel();
    f.cancel();
    EXPECT_THROW(f.join(), weft::cancelled);
  });
}

// While a cancelled fiber unwinds (std::uncaught_exceptions() > 0), its
// waits are not interrupted: cleanup can sleep and receive.
TEST(Cancel, WaitsNotInterruptedWhileUnwinding) {
  weft::run([] {
    weft::channel<int> ch;
    int got = 0;
    double slept = 0;
    auto f = weft::spawn([&] {
      struct cleanup {
        weft::channel<int>& ch;
        int& got;
        double& slept;
        ~cleanup() {
          auto t0 = steady::now();
          weft::this_fiber::sleep_for(30ms);
          slept = elapsed_ms(t0);
          auto v = ch.recv();
          got = v ? *v : -1;
        }
      } c{ch, got, slept};
      weft::this_fiber::sleep_for(1h);
    });
    settle();
    f.cancel();
    settle();
    EXPECT_FALSE(f.done());  // sleeping in cleanup
    weft::this_fiber::sleep_for(50ms);
    EXPECT_FALSE(f.done());  // now waiting in recv
    EXPECT_TRUE(ch.send(7));
    EXPECT_THROW(f.join(), weft::cancelled);
    EXPECT_GE(slept, 30.0);
    EXPECT_EQ(got, 7);
  });
}

// Cancelling a fiber that waits in join() leaves the joined fiber running;
// once the joiner is gone its handle is dropped, detaching the target,
// which completes.
TEST(Cancel, JoinerCancelledTargetCompletes) {
  weft::run([] {
    weft::event target_done;
    auto target = weft::spawn([&] {
      weft::this_fiber::sleep_for(30ms);
      target_done.set();
    });
    auto joiner = weft::spawn([t = std::move(target)]() mutable { t.join(); });
    settle();
    joiner.cancel();
    EXPECT_THROW(joiner.join(), weft::cancelled);
    EXPECT_TRUE(target_done.wait_for(5s));
  });
}
