// tests/test_wait_any.cpp — weft::wait_any / wait_all over fibers, events,
// channels and futures: which one is ready, deadlines, cancel and timeout
// scopes, plain threads, two carriers, and misuse.
#include "helpers.hpp"

#include <weft/wait_any.hpp>

#include <atomic>
#include <thread>
#include <vector>

using namespace weft_test;

// The one that becomes ready is reported, of each kind.
TEST(WaitAny, ReportsTheReadyOne) {
  weft::run([] {
    weft::event ev;
    weft::channel<int> ch(1);
    weft::promise<int> p;
    auto fut = p.get_future();
    auto slow = weft::spawn([] { weft::this_fiber::sleep_for(1h); });
    auto quick = weft::spawn([] { weft::this_fiber::sleep_for(5ms); });
    EXPECT_EQ(weft::wait_any(ev, ch, fut, slow, quick), 4u);
    quick.join();
    auto setter = weft::spawn([&] { ev.set(); });
    EXPECT_EQ(weft::wait_any(ch, fut, slow, ev), 3u);
    setter.join();
    ev.clear();
    auto sender = weft::spawn([&] { ch.send(7); });
    EXPECT_EQ(weft::wait_any(ev, fut, ch, slow), 2u);
    EXPECT_EQ(ch.size(), 1u);  // nothing was received
    EXPECT_EQ(ch.recv(), std::optional<int>(7));
    sender.join();
    auto fulfil = weft::spawn([&] { p.set_value(1); });
    EXPECT_EQ(weft::wait_any(ev, ch, slow, fut), 3u);
    fulfil.join();
    slow.cancel();
    EXPECT_EQ(weft::wait_any(ev, ch, slow), 2u);
    EXPECT_THROW(slow.join(), weft::cancelled);
  });
}

// A rendezvous channel is ready when a sender parks; closed is ready too.
TEST(WaitAny, RendezvousAndClosedChannel) {
  weft::run([] {
    weft::channel<int> a, b;
    auto s = weft::spawn([&] { a.send(1); });
    EXPECT_EQ(weft::wait_any(b, a), 1u);
    EXPECT_EQ(a.recv(), std::optional<int>(1));
    s.join();
    auto c = weft::spawn([&] { b.close(); });
    EXPECT_EQ(weft::wait_any(a, b), 1u);
    c.join();
  });
}

// Deadlines: nullopt / false once they pass; timeout scopes and cancel throw.
TEST(WaitAny, DeadlineTimeoutCancel) {
  weft::run([] {
    weft::event e1, e2;
    auto t0 = steady::now();
    EXPECT_EQ(weft::wait_any_for(20ms, e1, e2), std::nullopt);
    EXPECT_GE(elapsed_ms(t0), 20.0);
    EXPECT_FALSE(weft::wait_all_for(5ms, e1, e2));
    e1.set();
    EXPECT_FALSE(weft::wait_all_until(steady::now() + 5ms, e1, e2));
    EXPECT_EQ(weft::wait_any_until(steady::now() + 5ms, e2, e1), std::optional<std::size_t>(1));
    e1.clear();
    {
      weft::timeout t(5ms);
      EXPECT_THROW(weft::wait_any(e1, e2), weft::timed_out);
    }
    auto f = weft::spawn([&] { return weft::wait_any(e1, e2); });
    settle();
    f.cancel();
    EXPECT_THROW(f.join(), weft::cancelled);
    e2.set();  // the cancelled waiter left no member behind
    EXPECT_EQ(weft::wait_any(e1, e2), 1u);
  });
}

// wait_all over a vector of fibers and over mixed objects.
TEST(WaitAll, FibersAndMixed) {
  weft::run([] {
    std::vector<weft::fiber<int>> fs;
    for (int i = 0; i < 10; ++i)
      fs.push_back(weft::spawn([i] {
        weft::this_fiber::sleep_for(std::chrono::milliseconds(10 - i));
        return i;
      }));
    auto first = weft::wait_any_in(fs);
    ASSERT_TRUE(first);
    EXPECT_TRUE(fs[*first].done());
    EXPECT_TRUE(weft::wait_all_in(fs, 10s));
    for (auto& f : fs) EXPECT_TRUE(f.done());
    for (int i = 0; i < 10; ++i) EXPECT_EQ(fs[i].join(), i);
    weft::event ev;
    weft::promise<> p;
    auto fut = p.get_future();
    auto g = weft::spawn([&] {
      ev.set();
      weft::this_fiber::sleep_for(2ms);
      p.set_value();
    });
    weft::wait_all(ev, fut, g);
    EXPECT_TRUE(fut.ready());
    g.join();
  });
}

// Misuse: a fiber waited for by two callers, join while waited for, an
// empty handle, no objects.
TEST(WaitAny, Misuse) {
  weft::run([] {
    auto sleeper = weft::spawn([] { weft::this_fiber::sleep_for(1h); });
    auto w = weft::spawn([&] { weft::wait_any(sleeper); });
    settle();
    EXPECT_THROW(weft::wait_any(sleeper), weft::usage_error);
    auto joiner = weft::spawn([&] { sleeper.join(); });
    EXPECT_THROW(joiner.join(), weft::usage_error);
    w.cancel();
    EXPECT_THROW(w.join(), weft::cancelled);
    weft::fiber<> empty;
    EXPECT_THROW(weft::wait_any(empty), weft::usage_error);
    std::vector<weft::event> none;
    EXPECT_THROW(weft::wait_any_in(none), weft::usage_error);
    sleeper.cancel();
    weft::wait_any(sleeper);  // the failed waits left the joiner slot free
    EXPECT_THROW(sleeper.join(), weft::cancelled);
  });
}

// Plain threads wait; fibers on two carriers set. Repeated for races.
TEST(WaitAny, PlainThreadsAndCarriers) {
  weft::run(two_workers(), [] {
    for (int i = 0; i < 200; ++i) {
      weft::event a, b;
      weft::channel<int> ch(1);
      std::size_t got = 99;
      std::thread t([&] { got = weft::wait_any(a, b, ch); });
      auto f = weft::spawn([&, i] {
        if (i % 3 == 0) a.set();
        else if (i % 3 == 1) b.set();
        else ch.send(i);
      });
      f.join();
      t.join();
      EXPECT_EQ(got, static_cast<std::size_t>(i % 3));
    }
    // Many fibers on both carriers each wait on their own pair.
    constexpr int n = 100;
    std::vector<weft::event> es(2 * n);
    std::vector<weft::fiber<std::size_t>> ws;
    for (int i = 0; i < n; ++i) ws.push_back(weft::spawn([&, i] { return weft::wait_any(es[2 * i], es[2 * i + 1]); }));
    std::thread setter([&] {
      for (int i = 0; i < n; ++i) es[2 * i + (i & 1)].set();
    });
    setter.join();
    for (int i = 0; i < n; ++i) EXPECT_EQ(ws[i].join(), static_cast<std::size_t>(i & 1));
  });
}
