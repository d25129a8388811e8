// tests/hooks/test_hooks_poll.cpp — poll on fibers, linked mode: it parks
// until one of many fds is ready (event-driven: almost no CPU while it
// waits), keeps its timeout to the millisecond, poll(NULL, 0, ms) sleeps,
// weft::timeout gives ETIMEDOUT, cancel ECANCELED, and revents are the
// kernel's.
#include "hooks_test.hpp"

#include <poll.h>
#include <sys/resource.h>

#include <vector>

using namespace hooks_test;

namespace {

TEST(Poll, WakesForTheOneFdOfManyThatBecomesReady) {
  weft::run([] {
    std::vector<std::pair<int, int>> pairs;
    for (int i = 0; i < 8; ++i) pairs.push_back(tcp_pair());
    std::vector<pollfd> set;
    for (auto& [c, s] : pairs) set.push_back({s, POLLIN, 0});
    set.push_back({-1, POLLIN, 0});  // ignored, as poll does
    auto w = weft::spawn([c = pairs[5].first] {
      weft::this_fiber::sleep_for(60ms);
      (void)!::write(c, "!", 1);
    });
    unsigned long p0 = weft::hooks::parks();
    long cpu0 = cpu_ms();
    auto t0 = clock_type::now();
    errno = 4242;
    int n = ::poll(set.data(), set.size(), 5000);
    EXPECT_EQ(errno, 4242);
    EXPECT_EQ(n, 1);
    EXPECT_GE(ms_since(t0), 55);
    EXPECT_LT(cpu_ms() - cpu0, 30) << "waiting must not burn CPU";
    EXPECT_GT(weft::hooks::parks(), p0);
    for (std::size_t i = 0; i < set.size(); ++i) EXPECT_EQ(set[i].revents, i == 5 ? POLLIN : 0) << i;
    w.join();
    for (auto& [c, s] : pairs) {
      ::close(c);
      ::close(s);
    }
  });
}

TEST(Poll, MixedEventsAndTheSameFdTwice) {
  weft::run([] {
    auto [c, s] = tcp_pair();
    long queued = fill(c, s);
    pollfd set[3] = {{c, POLLOUT, 0}, {s, POLLPRI, 0}, {c, POLLIN, 0}};
    auto w = weft::spawn([s = s, queued] {  // drains everything, after a while
      weft::this_fiber::sleep_for(30ms);
      std::vector<char> buf(1 << 16);
      for (long got = 0; got < queued;) {
        ssize_t n = ::read(s, buf.data(), buf.size());
        if (n <= 0) break;
        got += n;
      }
    });
    int n = ::poll(set, 3, 5000);
    EXPECT_EQ(n, 1);
    EXPECT_EQ(set[0].revents, POLLOUT);
    EXPECT_EQ(set[1].revents, 0);
    EXPECT_EQ(set[2].revents, 0);
    w.join();
    ::close(c);
    ::close(s);
  });
}

TEST(Poll, TimeoutsHoldToTheMillisecondAndOthersRun) {
  weft::run([] {
    auto [c, s] = tcp_pair();
    int ticks = 0;
    bool done = false;
    auto ticker = weft::spawn([&] {
      while (!done) {
        weft::this_fiber::sleep_for(5ms);
        ++ticks;
      }
    });
    for (int ms : {1, 7, 50}) {
      pollfd p{s, POLLIN, 0};
      auto t0 = clock_type::now();
      EXPECT_EQ(::poll(&p, 1, ms), 0);
      auto el = std::chrono::duration_cast<std::chrono::microseconds>(clock_type::now() - t0).count();
      EXPECT_GE(el, ms * 1000) << ms;
      EXPECT_LT(el, ms * 1000 + 50000) << ms;  // late only by scheduling noise (other tests run in parallel)
      EXPECT_EQ(p.revents, 0);
    }
    pollfd two[2] = {{s, POLLIN, 0}, {c, POLLIN, 0}};
    auto t0 = clock_type::now();
    EXPECT_EQ(::poll(two, 2, 40), 0);
    EXPECT_GE(ms_since(t0), 40);
    done = true;
    ticker.join();
    EXPECT_GE(ticks, 8);
    ::close(c);
    ::close(s);
  });
}

TEST(Poll, NullSetSleeps) {
  weft::run([] {
    bool ran = false;
    auto f = weft::spawn([&] { ran = true; });
    auto t0 = clock_type::now();
    EXPECT_EQ(::poll(nullptr, 0, 40), 0);
    EXPECT_GE(ms_since(t0), 40);
    EXPECT_TRUE(ran);
    f.join();
  });
}

TEST(Poll, WeftTimeoutCancelAndClosedFd) {
  weft::run([] {
    auto [c, s] = tcp_pair();
    pollfd p{s, POLLIN, 0};
    {
      weft::timeout t(30ms);
      EXPECT_EQ(::poll(&p, 1, -1), -1);
      EXPECT_EQ(errno, ETIMEDOUT);
      EXPECT_EQ(::poll(nullptr, 0, -1), -1);
      EXPECT_EQ(errno, ETIMEDOUT);
    }
    res r;
    auto f = weft::spawn([&] {
      pollfd q[2] = {{s, POLLIN, 0}, {c, POLLIN, 0}};
      r.r = ::poll(q, 2, -1);
      r.err = errno;
    });
    weft::this_fiber::sleep_for(10ms);
    cancel_and_join(f);
    EXPECT_EQ(r.r, -1);
    EXPECT_EQ(r.err, ECANCELED);

    // A single fd closed while polled: POLLNVAL, like poll on a closed fd.
    int revents = 0;
    auto g = weft::spawn([&] {
      pollfd q{s, POLLIN, 0};
      r.r = ::poll(&q, 1, 5000);
      revents = q.revents;
    });
    weft::this_fiber::sleep_for(10ms);
    ::close(s);
    g.join();
    EXPECT_EQ(r.r, 1);
    EXPECT_EQ(revents, POLLNVAL);
    ::close(c);
  });
}

TEST(Poll, HangupAndReadyAtOnce) {
  weft::run([] {
    auto [c, s] = tcp_pair();
    pollfd p{s, POLLIN, 0};
    EXPECT_EQ(::poll(&p, 1, 0), 0);
    (void)!::write(c, "a", 1);
    unsigned long p0 = weft::hooks::parks();
    EXPECT_EQ(::poll(&p, 1, 1000), 1);
    EXPECT_EQ(weft::hooks::parks(), p0) << "ready at once: no park";
    char b;
    (void)!::read(s, &b, 1);
    auto w = weft::spawn([c = c] {
      weft::this_fiber::sleep_for(10ms);
      ::close(c);
    });
    p = {s, POLLIN | POLLRDHUP, 0};
    EXPECT_EQ(::poll(&p, 1, 1000), 1);
    EXPECT_TRUE(p.revents & POLLRDHUP);
    w.join();
    ::close(s);
  });
}

}  // namespace
