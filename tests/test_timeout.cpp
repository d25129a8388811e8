// tests/test_timeout.cpp — weft::timeout scopes: which waits throw
// timed_out, nesting, per-fiber scope, waits that need no blocking, and
// mutex::lock staying uninterrupted.
#include "helpers.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <functional>
#include <mutex>
#include <thread>

using namespace weft_test;

namespace {
// expect_times_out(wait): inside a 40 ms scope, wait() throws timed_out no
// earlier than the deadline and well before 2 s. Fiber or thread.
void expect_times_out(const char* what, const std::function<void()>& wait) {
  auto t0 = steady::now();
  bool thrown = false;
  {
    weft::timeout t(40ms);
    try {
      wait();
    } catch (const weft::timed_out&) {
      thrown = true;
    }
  }
  double ms = elapsed_ms(t0);
  EXPECT_TRUE(thrown) << what;
  EXPECT_GE(ms, 40.0) << what;
  EXPECT_LT(ms, 2000.0) << what;
}
}  // namespace

// timed_out is a runtime_error.
TEST(Timeout, TimedOutIsRuntimeError) {
  weft::run([] {
    weft::timeout t(10ms);
    EXPECT_THROW(weft::this_fiber::sleep_for(10s), std::runtime_error);
  });
}

// Every interruptible wait throws timed_out at the scope's deadline.
TEST(Timeout, EveryWaitKindThrows) {
  weft::run([] {
    expect_times_out("sleep_for", [] { weft::this_fiber::sleep_for(10s); });
    expect_times_out("sleep_until", [] { weft::this_fiber::sleep_until(steady::now() + 10s); });

    weft::channel<int> rv;
    expect_times_out("channel recv", [&] { (void)rv.recv(); });
    expect_times_out("channel rendezvous send", [&] { rv.send(1); });
    EXPECT_EQ(rv.try_recv(), std::nullopt);  // the timed-out send delivered nothing

    weft::channel<int> full(1);
    full.send(1);
    expect_times_out("channel send (full)", [&] { full.send(2); });
    EXPECT_EQ(full.size(), 1u);
    EXPECT_EQ(full.recv(), std::optional<int>(1));

    weft::event ev;
    expect_times_out("event wait", [&] { ev.wait(); });
    expect_times_out("event wait_for (longer than scope)", [&] { (void)ev.wait_for(10s); });

    weft::semaphore sem(0);
    expect_times_out("semaphore acquire", [&] { sem.acquire(); });
    expect_times_out("semaphore try_acquire_for", [&] { (void)sem.try_acquire_for(10s); });
    EXPECT_EQ(sem.available(), 0);

    weft::wait_group wg;
    wg.add();
    expect_times_out("wait_group wait", [&] { wg.wait(); });
    wg.done();

    weft::mutex m;
    weft::condition_variable cv;
    {
      std::unique_lock lk(m);
      expect_times_out("cv wait", [&] { cv.wait(lk); });
      EXPECT_TRUE(lk.owns_lock());
      expect_times_out("cv wait_for", [&] { (void)cv.wait_for(lk, 10s); });
      EXPECT_TRUE(lk.owns_lock());
      auto probe = weft::spawn([&] { return m.try_lock(); });
      EXPECT_FALSE(probe.join());  // the mutex really is held again
    }

    int p[2];
    ASSERT_EQ(pipe2(p, O_NONBLOCK | O_CLOEXEC), 0);
    expect_times_out("wait_io", [&] { weft::wait_io(p[0], weft::io_event::readable); });
    expect_times_out("wait_io_for", [&] { (void)weft::wait_io_for(p[0], weft::io_event::readable, 10s); });
    weft::close_fd(p[0]);
    weft::close_fd(p[1]);

    weft::group g;
    g.spawn([] { weft::this_fiber::sleep_for(100ms); });
    expect_times_out("group wait", [&] { g.wait(); });
    g.cancel();
    g.wait();
  });
}

// A timed-out join leaves the handle joinable; a later join gets the result.
TEST(Timeout, JoinTimesOutAndStaysJoinable) {
  weft::run([] {
    auto f = weft::spawn([] {
      weft::this_fiber::sleep_for(150ms);
      return 3;
    });
    expect_times_out("join", [&] { f.join(); });
    EXPECT_TRUE(f.joinable());
    EXPECT_FALSE(f.done());
    EXPECT_EQ(f.join(), 3);
  });
}

// A wait's own shorter deadline returns false; the scope's shorter deadline
// throws.
TEST(Timeout, OwnDeadlineVersusScopeDeadline) {
  weft::run([] {
    weft::event ev;
    weft::timeout t(5s);
    auto t0 = steady::now();
    EXPECT_FALSE(ev.wait_for(20ms));
    weft::semaphore s(0);
    EXPECT_FALSE(s.try_acquire_for(20ms));
    weft::mutex m;
    weft::condition_variable cv;
    std::unique_lock lk(m);
    EXPECT_EQ(cv.wait_for(lk, 20ms), std::cv_status::timeout);
    EXPECT_GE(elapsed_ms(t0), 60.0);
    EXPECT_LT(elapsed_ms(t0), 2000.0);
  });
}

// Nested scopes: the earliest deadline wins either way round; leaving the
// inner scope restores the outer one.
TEST(Timeout, NestedEarliestWins) {
  weft::run([] {
    {
      weft::timeout outer(40ms);
      weft::timeout inner(5s);
      auto t0 = steady::now();
      EXPECT_THROW(weft::this_fiber::sleep_for(10s), weft::timed_out);
      double ms = elapsed_ms(t0);
      EXPECT_LT(ms, 2000.0);
      EXPECT_TRUE(outer.expired());
      EXPECT_FALSE(inner.expired());
    }
    {
      weft::timeout outer(5s);
      auto t0 = steady::now();
      {
        weft::timeout inner(40ms);
        EXPECT_THROW(weft::this_fiber::sleep_for(10s), weft::timed_out);
        EXPECT_GE(elapsed_ms(t0), 40.0);
        EXPECT_TRUE(inner.expired());
      }
      EXPECT_FALSE(outer.expired());
      weft::this_fiber::sleep_for(20ms);  // outer (5 s) is in force again: no throw
      EXPECT_LT(elapsed_ms(t0), 2000.0);
    }
    weft::this_fiber::sleep_for(10ms);  // no scope at all
  });
}

// Waits that complete without blocking never throw, even in an expired scope.
TEST(Timeout, NoThrowWhenNoBlockingNeeded) {
  weft::run([] {
    auto finished = weft::spawn([] { return 4; });
    settle();
    ASSERT_TRUE(finished.done());
    weft::channel<int> ch(2);
    ch.send(1);
    weft::event ev;
    ev.set();
    weft::semaphore sem(1);
    weft::wait_group wg;
    weft::mutex m;

    weft::timeout t(0ms);
    EXPECT_TRUE(t.expired());
    EXPECT_NO_THROW(EXPECT_EQ(ch.recv(), std::optional<int>(1)));
    EXPECT_NO_THROW(EXPECT_TRUE(ch.send(2)));
    EXPECT_NO_THROW(ev.wait());
    EXPECT_NO_THROW(sem.acquire());
    EXPECT_NO_THROW(wg.wait());
    EXPECT_NO_THROW(EXPECT_EQ(finished.join(), 4));
    EXPECT_NO_THROW(m.lock());
    m.unlock();
    EXPECT_EQ(ch.try_recv(), std::optional<int>(2));
    // ...but one that must block throws at once.
    auto t0 = steady::now();
    EXPECT_THROW((void)ch.recv(), weft::timed_out);
    EXPECT_LT(elapsed_ms(t0), 1000.0);
  });
}

// mutex::lock is not interrupted by an expired scope; the next interruptible
// wait is.
TEST(Timeout, MutexLockNotInterrupted) {
  weft::run([] {
    weft::mutex m;
    auto t0 = steady::now();
    auto holder = weft::spawn([&] {
      std::lock_guard g(m);
      weft::this_fiber::sleep_for(100ms);
    });
    settle();
    {
      weft::timeout t(20ms);
      EXPECT_NO_THROW(m.lock());
      EXPECT_GE(elapsed_ms(t0), 100.0);
      m.unlock();
      EXPECT_THROW(weft::this_fiber::sleep_for(1s), weft::timed_out);
    }
    holder.join();
  });
}

// A scope belongs to its fiber: others, sleeping longer, are not affected,
// also when the scoped fiber switches away while its scope is open.
TEST(Timeout, ScopeIsPerFiber) {
  weft::run([] {
    bool a_timed_out = false, b_finished = false;
    auto a = weft::spawn([&] {
      weft::timeout t(30ms);
      weft::this_fiber::yield();
      try {
        weft::this_fiber::sleep_for(10s);
      } catch (const weft::timed_out&) {
        a_timed_out = true;
      }
    });
    auto b = weft::spawn([&] {
      weft::this_fiber::yield();
      weft::this_fiber::sleep_for(80ms);
      b_finished = true;
    });
    a.join();
    b.join();
    EXPECT_TRUE(a_timed_out);
    EXPECT_TRUE(b_finished);
    weft::this_fiber::sleep_for(10ms);  // the root has no scope either
  });
}

// A scope can be given a time point of any clock.
TEST(Timeout, TimePointScope) {
  weft::run([] {
    auto t0 = steady::now();
    {
      weft::timeout t(t0 + 30ms);
      EXPECT_THROW(weft::this_fiber::sleep_for(10s), weft::timed_out);
      EXPECT_GE(elapsed_ms(t0), 30.0);
    }
    t0 = steady::now();
    {
      weft::timeout t(std::chrono::system_clock::now() + 30ms);
      EXPECT_THROW(weft::this_fiber::sleep_for(10s), weft::timed_out);
      EXPECT_GE(elapsed_ms(t0), 29.0);
      EXPECT_LT(elapsed_ms(t0), 2000.0);
    }
  });
}

// expired() turns true once the deadline passes.
TEST(Timeout, Expired) {
  weft::timeout t(20ms);
  EXPECT_FALSE(t.expired());
  std::this_thread::sleep_for(30ms);
  EXPECT_TRUE(t.expired());
}

// Scopes work on plain threads too.
TEST(Timeout, OnPlainThread) {
  expect_times_out("plain-thread sleep", [] { weft::this_fiber::sleep_for(10s); });
  weft::channel<int> ch;
  expect_times_out("plain-thread recv", [&] { (void)ch.recv(); });
  int p[2];
  ASSERT_EQ(pipe2(p, O_NONBLOCK | O_CLOEXEC), 0);
  expect_times_out("plain-thread wait_io", [&] { weft::wait_io(p[0], weft::io_event::readable); });
  ::close(p[0]);
  ::close(p[1]);
  weft::event ev;
  std::thread t([&] { expect_times_out("other thread event wait", [&] { ev.wait(); }); });
  t.join();
  weft::this_fiber::sleep_for(5ms);  // no scope left
}

// After a timed-out wait the fiber's state is clean: the next waits of
// other kinds behave normally.
TEST(Timeout, CleanAfterTimeout) {
  weft::run([] {
    weft::channel<int> ch;
    {
      weft::timeout t(20ms);
      EXPECT_THROW((void)ch.recv(), weft::timed_out);
    }
    auto s = weft::spawn([&] {
      weft::this_fiber::sleep_for(30ms);
      ch.send(5);
    });
    EXPECT_EQ(ch.recv(), std::optional<int>(5));  // not woken by a stale timer
    s.join();
    weft::event ev;
    auto t0 = steady::now();
    EXPECT_FALSE(ev.wait_for(50ms));
    EXPECT_GE(elapsed_ms(t0), 50.0);
  });
}
