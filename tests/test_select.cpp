// tests/test_select.cpp — weft::select: receive, send, default, after;
// fairness among ready cases; closed channels; select against select;
// plain threads and two carriers; cancel and weft::timeout.
#include "helpers.hpp"

#include <weft/dump.hpp>
#include <weft/select.hpp>

#include <atomic>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

using namespace weft_test;

// Ready cases run without waiting; the returned index names the case.
TEST(Select, ReadyRecvAndSend) {
  weft::run([] {
    weft::channel<int> in(1), out(1);
    in.send(5);
    int got = 0;
    EXPECT_EQ(weft::select(weft::on_recv(in, [&](int v) { got = v; }), weft::on_default([] {})), 0u);
    EXPECT_EQ(got, 5);
    bool sent = false;
    EXPECT_EQ(weft::select(weft::on_recv(in, [&](int) { ADD_FAILURE(); }),
                           weft::on_send(out, 9, [&] { sent = true; })),
              1u);
    EXPECT_TRUE(sent);
    EXPECT_EQ(out.try_recv(), std::optional<int>(9));
    EXPECT_EQ(weft::select(weft::on_recv(in, [&](int) { ADD_FAILURE(); }), weft::on_default([] {})), 1u);
  });
}

// A select parked on several channels is completed by whichever
// counterpart comes first: a sender on one, a receiver on another.
TEST(Select, ParksAndIsCompletedByEither) {
  weft::run([] {
    weft::channel<std::string> a, b;
    weft::channel<int> c;
    std::string got;
    auto f = weft::spawn([&] {
      return weft::select(weft::on_recv(a, [&](std::string s) { got = "a:" + s; }),
                          weft::on_recv(b, [&](std::string s) { got = "b:" + s; }));
    });
    settle();
    EXPECT_TRUE(b.send("hi"));
    EXPECT_EQ(f.join(), 1u);
    EXPECT_EQ(got, "b:hi");
    EXPECT_FALSE(a.try_send("late"));  // no member left behind on a
    int v = 0;
    auto g = weft::spawn([&] {
      return weft::select(weft::on_recv(a, [&](std::string) {}), weft::on_send(c, 42, [] {}));
    });
    settle();
    auto r = c.recv();
    EXPECT_EQ(g.join(), 1u);
    ASSERT_TRUE(r);
    v = *r;
    EXPECT_EQ(v, 42);
  });
}

// Fair: with two ready cases each is picked about half the time.
TEST(Select, FairAmongReady) {
  weft::run([] {
    weft::channel<int> a(1), b(1);
    int na = 0, nb = 0;
    for (int i = 0; i < 2000; ++i) {
      a.try_send(1);
      b.try_send(2);
      weft::select(weft::on_recv(a, [&](int) { ++na; }), weft::on_recv(b, [&](int) { ++nb; }));
    }
    EXPECT_GT(na, 800);
    EXPECT_GT(nb, 800);
    // Three cases: each gets a share too.
    weft::channel<int> c(1);
    int n[3] = {0, 0, 0};
    for (int i = 0; i < 3000; ++i) {
      a.try_send(1);
      b.try_send(1);
      c.try_send(1);
      n[weft::select(weft::on_recv(a, [](int) {}), weft::on_recv(b, [](int) {}), weft::on_recv(c, [](int) {}))]++;
    }
    for (int k : n) EXPECT_GT(k, 700);
  });
}

// after(): runs when nothing is ready in time; a deadline in the past still
// takes a ready case first.
TEST(Select, After) {
  weft::run([] {
    weft::channel<int> a;
    bool fired = false;
    auto t0 = steady::now();
    EXPECT_EQ(weft::select(weft::on_recv(a, [](int) {}), weft::after(20ms, [&] { fired = true; })), 1u);
    EXPECT_TRUE(fired);
    EXPECT_GE(elapsed_ms(t0), 20.0);
    weft::channel<int> r(1);
    r.send(1);
    EXPECT_EQ(weft::select(weft::after(0ms, [] {}), weft::on_recv(r, [](int) {})), 1u);
    EXPECT_EQ(weft::select(weft::after(5ms, [] {})), 0u);  // only a timer
    EXPECT_EQ(weft::select(weft::on_default([] {})), 0u);
    EXPECT_EQ(weft::select(weft::on_recv(a, [](int) {}), weft::at(steady::now() + 1ms, [] {})), 1u);
  });
}

// Closed channels are ready: recv gets nullopt (or is skipped for fn(T)),
// send reports false (or is skipped for fn()); also for a parked select.
TEST(Select, ClosedChannels) {
  weft::run([] {
    weft::channel<int> a;
    a.close();
    std::optional<int> got = 1;
    EXPECT_EQ(weft::select(weft::on_recv(a, [&](std::optional<int> v) { got = v; })), 0u);
    EXPECT_EQ(got, std::nullopt);
    bool called = false;
    EXPECT_EQ(weft::select(weft::on_recv(a, [&](int) { called = true; })), 0u);
    bool sent = true;
    EXPECT_EQ(weft::select(weft::on_send(a, 1, [&](bool ok) { sent = ok; })), 0u);
    EXPECT_FALSE(sent);
    EXPECT_EQ(weft::select(weft::on_send(a, 1, [&] { called = true; })), 0u);
    EXPECT_FALSE(called);
    weft::channel<int> b, c;
    auto f = weft::spawn([&] {
      std::optional<int> v = 3;
      auto i = weft::select(weft::on_recv(b, [&](std::optional<int> x) { v = x; }), weft::on_recv(c, [](int) {}));
      return i == 0 && !v;
    });
    settle();
    b.close();
    EXPECT_TRUE(f.join());
  });
}

// Cancel and timeout scopes interrupt a parked select and leave no member.
TEST(Select, CancelAndTimeoutScope) {
  weft::run([] {
    weft::channel<int> a, b;
    auto f = weft::spawn([&] { weft::select(weft::on_recv(a, [](int) {}), weft::on_send(b, 1, [] {})); });
    settle();
    f.cancel();
    EXPECT_THROW(f.join(), weft::cancelled);
    {
      weft::timeout t(5ms);
      EXPECT_THROW(weft::select(weft::on_recv(a, [](int) {}), weft::on_recv(b, [](int) {})), weft::timed_out);
    }
    EXPECT_FALSE(a.try_send(1));  // nobody is queued
    EXPECT_EQ(b.try_recv(), std::nullopt);
  });
}

// Select against select: a sender-select and a receiver-select meet on a
// rendezvous channel; each value is delivered once. Repeated.
TEST(Select, SelectAgainstSelect) {
  weft::run(two_workers(), [] {
    weft::channel<int> x, y;
    constexpr int n = 2000;
    std::atomic<long> sum{0};
    auto prod = weft::spawn([&] {
      for (int i = 1; i <= n; ++i) weft::select(weft::on_send(x, i, [] {}), weft::on_send(y, i, [] {}));
    });
    auto cons = weft::spawn([&] {
      for (int i = 0; i < n; ++i)
        weft::select(weft::on_recv(x, [&](int v) { sum += v; }), weft::on_recv(y, [&](int v) { sum += v; }));
    });
    prod.join();
    cons.join();
    EXPECT_EQ(sum.load(), long(n) * (n + 1) / 2);
  });
}

// Plain threads select against fibers on two carriers; the counts match.
TEST(Select, PlainThreadsAndCarriers) {
  weft::run(two_workers(), [] {
    weft::channel<int> jobs(4), results(4), quit;
    constexpr int n = 3000;
    std::thread worker([&] {
      bool done = false;
      while (!done)
        weft::select(weft::on_recv(jobs, [&](int j) { results.send(j * 2); }),
                     weft::on_recv(quit, [&](std::optional<int>) { done = true; }));
    });
    auto feeder = weft::spawn([&] {
      for (int i = 0; i < n; ++i) jobs.send(i);
    });
    long sum = 0;
    for (int i = 0; i < n; ++i) {
      weft::select(weft::on_recv(results, [&](int r) { sum += r; }),
                   weft::after(10s, [&] { ADD_FAILURE() << "stalled"; }));
    }
    feeder.join();
    quit.close();
    worker.join();
    EXPECT_EQ(sum, long(n) * (n - 1));
  });
}

// The same channel in two cases (send and receive) does not deadlock.
TEST(Select, SameChannelTwice) {
  weft::run([] {
    weft::channel<int> a(1);
    for (int i = 0; i < 100; ++i)
      weft::select(weft::on_send(a, i, [] {}), weft::on_recv(a, [](int) {}));
    weft::channel<int> r;
    EXPECT_EQ(weft::select(weft::on_send(r, 1, [] {}), weft::on_recv(r, [](int) {}), weft::after(2ms, [] {})), 2u);
  });
}

// weft::dump names a fiber parked in select (and one in wait_any).
TEST(Select, DumpNamesTheWait) {
  weft::run([] {
    weft::channel<int> a, b;
    auto f = weft::spawn(weft::spawn_options{.name = "selector"},
                         [&] { weft::select(weft::on_recv(a, [](int) {}), weft::on_recv(b, [](int) {})); });
    settle();
    std::ostringstream os;
    weft::dump(os);
    EXPECT_NE(os.str().find("\"selector\" parked, select"), std::string::npos) << os.str();
    a.close();
    f.join();
  });
}
