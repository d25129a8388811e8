// tests/hooks/test_hooks_select.cpp — select, pselect and ppoll on fibers,
// linked mode: they park until one of many fds is ready (event-driven, the
// thread runs other fibers), keep their timeouts to the millisecond, sleep
// with no fds, keep fd_set semantics (counts, cleared sets, EBADF/EINVAL as
// the real call on a plain thread, fds >= FD_SETSIZE), apply the sigmask,
// and end with ETIMEDOUT under weft::timeout and ECANCELED on cancel.
#include "hooks_test.hpp"

#include <poll.h>
#include <sys/resource.h>
#include <sys/select.h>

#include <atomic>
#include <cstring>
#include <thread>
#include <vector>

using namespace hooks_test;

namespace {

TEST(Select, WakesForTheOneFdOfManyThatBecomesReady) {
  weft::run([] {
    std::vector<std::pair<int, int>> pairs;
    for (int i = 0; i < 8; ++i) pairs.push_back(tcp_pair());
    fd_set rd;
    FD_ZERO(&rd);
    int maxfd = 0;
    for (auto& [c, s] : pairs) {
      FD_SET(s, &rd);
      maxfd = std::max(maxfd, s);
    }
    auto w = weft::spawn([c = pairs[5].first] {
      weft::this_fiber::sleep_for(60ms);
      (void)!::write(c, "!", 1);
    });
    unsigned long p0 = weft::hooks::parks();
    auto t0 = clock_type::now();
    timeval tv{5, 0};
    errno = 4242;
    int n = ::select(maxfd + 1, &rd, nullptr, nullptr, &tv);
    EXPECT_EQ(errno, 4242);
    EXPECT_EQ(n, 1);
    EXPECT_GE(ms_since(t0), 55);
    EXPECT_GT(weft::hooks::parks(), p0);
    EXPECT_TRUE(tv.tv_sec >= 4 && tv.tv_sec <= 5) << "Linux stores the time not slept";
    for (std::size_t i = 0; i < pairs.size(); ++i) EXPECT_EQ(FD_ISSET(pairs[i].second, &rd) != 0, i == 5) << i;
    w.join();
    for (auto& [c, s] : pairs) {
      ::close(c);
      ::close(s);
    }
  });
}

TEST(Select, CountsEveryBitLikeTheRealCall) {
  weft::run([] {
    auto [c1, s1] = tcp_pair();
    auto [c2, s2] = tcp_pair();
    auto w = weft::spawn([c1 = c1, c2 = c2] {
      weft::this_fiber::sleep_for(30ms);
      (void)!::write(c1, "a", 1);  // both before the selecting fiber runs again
      (void)!::write(c2, "b", 1);
    });
    fd_set rd, ex;
    FD_ZERO(&rd);
    FD_ZERO(&ex);
    FD_SET(s1, &rd);
    FD_SET(s2, &rd);
    FD_SET(s1, &ex);
    int n = ::select(std::max(s1, s2) + 1, &rd, nullptr, &ex, nullptr);
    EXPECT_EQ(n, 2);
    EXPECT_TRUE(FD_ISSET(s1, &rd) && FD_ISSET(s2, &rd));
    EXPECT_FALSE(FD_ISSET(s1, &ex));
    w.join();
    // Ready at once: read and write bits of one fd count twice, as in the real call.
    fd_set r2, w2;
    FD_ZERO(&r2);
    FD_ZERO(&w2);
    FD_SET(s1, &r2);
    FD_SET(s1, &w2);
    fd_set r3 = r2, w3 = w2;
    timeval tv{1, 0};
    EXPECT_EQ(::select(s1 + 1, &r2, &w2, nullptr, &tv), 2);
    res real = on_thread([&] {
      timeval t{1, 0};
      return ::select(s1 + 1, &r3, &w3, nullptr, &t);
    });
    EXPECT_EQ(real.r, 2);
    EXPECT_EQ(std::memcmp(&r2, &r3, sizeof r2), 0);
    EXPECT_EQ(std::memcmp(&w2, &w3, sizeof w2), 0);
    for (int fd : {c1, s1, c2, s2}) ::close(fd);
  });
}

TEST(Select, TimeoutHoldsToTheMillisecondAndClearsTheSets) {
  weft::run([] {
    auto [c, s] = tcp_pair();
    std::atomic<int> ticks{0};
    auto ticker = weft::spawn([&] {
      for (;;) {  // ends only by cancel(), at its sleep
        ticks++;
        weft::this_fiber::sleep_for(5ms);
      }
    });
    fd_set rd;
    FD_ZERO(&rd);
    FD_SET(s, &rd);
    timeval tv{0, 50000};
    auto t0 = clock_type::now();
    EXPECT_EQ(::select(s + 1, &rd, nullptr, nullptr, &tv), 0);
    long ms = ms_since(t0);
    EXPECT_GE(ms, 50);
    EXPECT_LT(ms, 1000);
    EXPECT_FALSE(FD_ISSET(s, &rd));
    EXPECT_EQ(tv.tv_sec, 0);
    EXPECT_EQ(tv.tv_usec, 0);
    EXPECT_GE(ticks.load(), 3) << "other fibers ran while select waited";

    FD_SET(s, &rd);
    timespec ts{0, 50000000};
    t0 = clock_type::now();
    EXPECT_EQ(::pselect(s + 1, &rd, nullptr, nullptr, &ts, nullptr), 0);
    ms = ms_since(t0);
    EXPECT_GE(ms, 50);
    EXPECT_LT(ms, 1000);

    pollfd p{s, POLLIN, 0};
    t0 = clock_type::now();
    EXPECT_EQ(::ppoll(&p, 1, &ts, nullptr), 0);
    ms = ms_since(t0);
    EXPECT_GE(ms, 50);
    EXPECT_LT(ms, 1000);
    EXPECT_EQ(p.revents, 0);
    ticker.cancel();
    EXPECT_THROW(ticker.join(), weft::cancelled);
    ::close(c);
    ::close(s);
  });
}

TEST(Select, NoFdsSleeps) {
  weft::run([] {
    std::atomic<int> ticks{0};
    auto ticker = weft::spawn([&] {
      for (int i = 0; i < 5; ++i) {
        ticks++;
        weft::this_fiber::sleep_for(5ms);
      }
    });
    timeval tv{0, 60000};
    auto t0 = clock_type::now();
    EXPECT_EQ(::select(0, nullptr, nullptr, nullptr, &tv), 0);
    EXPECT_GE(ms_since(t0), 60);
    EXPECT_LT(ms_since(t0), 1000);
    EXPECT_GE(ticks.load(), 3);
    timespec ts{0, 40000000};
    t0 = clock_type::now();
    EXPECT_EQ(::ppoll(nullptr, 0, &ts, nullptr), 0);
    EXPECT_GE(ms_since(t0), 40);
    EXPECT_LT(ms_since(t0), 1000);
    t0 = clock_type::now();
    EXPECT_EQ(::pselect(0, nullptr, nullptr, nullptr, &ts, nullptr), 0);
    EXPECT_GE(ms_since(t0), 40);
    ticker.join();
  });
}

TEST(Select, ManyFibersBlockedAtOnceAllProgress) {
  weft::run([] {
    constexpr int n = 40;
    std::vector<std::pair<int, int>> pairs;
    for (int i = 0; i < n; ++i) pairs.push_back(tcp_pair());
    std::atomic<int> got{0};
    std::vector<weft::fiber<void>> fs;
    for (int i = 0; i < n; ++i) {
      fs.push_back(weft::spawn([&, s = pairs[i].second, i] {
        fd_set rd;
        FD_ZERO(&rd);
        FD_SET(s, &rd);
        timeval tv{5, 0};
        int r = i % 3 == 0   ? ::select(s + 1, &rd, nullptr, nullptr, &tv)
                : i % 3 == 1 ? [&] {
                    timespec ts{5, 0};
                    return ::pselect(s + 1, &rd, nullptr, nullptr, &ts, nullptr);
                  }()
                             : [&] {
                    pollfd p{s, POLLIN | POLLPRI, 0};  // not a single POLLIN: the private epoll path
                    timespec ts{5, 0};
                    return ::ppoll(&p, 1, &ts, nullptr);
                  }();
        if (r == 1) got++;
      }));
    }
    auto t0 = clock_type::now();
    weft::this_fiber::sleep_for(10ms);  // all parked now
    for (int i = n - 1; i >= 0; --i) (void)!::write(pairs[i].first, "x", 1);
    for (auto& f : fs) f.join();
    EXPECT_EQ(got.load(), n);
    EXPECT_LT(ms_since(t0), 2000) << "a select blocked the thread";
    for (auto& [c, s] : pairs) {
      ::close(c);
      ::close(s);
    }
  });
}

TEST(Select, ErrorsMatchTheRealCall) {
  weft::run([] {
    auto [c, s] = tcp_pair();
    int dead = ::dup(s);
    ::close(dead);
    fd_set rd;
    auto with = [&](int fd) {
      FD_ZERO(&rd);
      FD_SET(s, &rd);
      FD_SET(fd, &rd);
    };
    // A closed fd in the set: EBADF.
    with(dead);
    timeval tv{0, 100000};
    errno = 0;
    int r = ::select(std::max(s, dead) + 1, &rd, nullptr, nullptr, &tv);
    int e = errno;
    with(dead);
    res real = on_thread([&] {
      timeval t{0, 100000};
      return ::select(std::max(s, dead) + 1, &rd, nullptr, nullptr, &t);
    });
    EXPECT_EQ(r, real.r);
    EXPECT_EQ(e, real.err);
    EXPECT_EQ(e, EBADF);
    // Negative nfds, bad timeval: EINVAL.
    with(s);
    tv = {0, 100000};
    errno = 0;
    EXPECT_EQ(::select(-1, &rd, nullptr, nullptr, &tv), -1);
    EXPECT_EQ(errno, EINVAL);
    real = on_thread([&] {
      timeval t{0, 100000};
      return ::select(-1, &rd, nullptr, nullptr, &t);
    });
    EXPECT_EQ(real.r, -1);
    EXPECT_EQ(real.err, EINVAL);
    tv = {0, -5};
    errno = 0;
    EXPECT_EQ(::select(s + 1, &rd, nullptr, nullptr, &tv), -1);
    EXPECT_EQ(errno, EINVAL);
    timespec bad{0, 2000000000};
    errno = 0;
    EXPECT_EQ(::pselect(s + 1, &rd, nullptr, nullptr, &bad, nullptr), -1);
    EXPECT_EQ(errno, EINVAL);
    pollfd p{s, POLLIN, 0};
    errno = 0;
    EXPECT_EQ(::ppoll(&p, 1, &bad, nullptr), -1);
    EXPECT_EQ(errno, EINVAL);
    // ppoll reports a closed fd as POLLNVAL, like the real call.
    pollfd q[2] = {{s, POLLIN, 0}, {dead, POLLIN, 0}};
    timespec ts{1, 0};
    EXPECT_EQ(::ppoll(q, 2, &ts, nullptr), 1);
    EXPECT_EQ(q[1].revents, POLLNVAL);
    ::close(c);
    ::close(s);
  });
}

TEST(Select, FdsAboveFdSetsizeWithABigEnoughSet) {
  rlimit rl{};
  ::getrlimit(RLIMIT_NOFILE, &rl);
  if (rl.rlim_max < 2048) GTEST_SKIP() << "RLIMIT_NOFILE hard limit below 2048";
  rlimit old = rl;
  rl.rlim_cur = 2048;
  ::setrlimit(RLIMIT_NOFILE, &rl);
  weft::run([] {
    auto [c, s] = tcp_pair();
    int big = ::dup2(s, 1500);
    ASSERT_EQ(big, 1500);
    std::vector<unsigned long> set(2048 / (8 * sizeof(long)), 0);
    set[1500 / (8 * sizeof(long))] |= 1UL << (1500 % (8 * sizeof(long)));
    auto w = weft::spawn([c = c] {
      weft::this_fiber::sleep_for(30ms);
      (void)!::write(c, "!", 1);
    });
    timeval tv{5, 0};
    auto t0 = clock_type::now();
    int n = ::select(1501, reinterpret_cast<fd_set*>(set.data()), nullptr, nullptr, &tv);
    EXPECT_EQ(n, 1);
    EXPECT_GE(ms_since(t0), 25);
    EXPECT_TRUE(set[1500 / (8 * sizeof(long))] >> (1500 % (8 * sizeof(long))) & 1UL);
    w.join();
    ::close(big);
    ::close(c);
    ::close(s);
  });
  ::setrlimit(RLIMIT_NOFILE, &old);
}

std::atomic<int> g_usr1{0};

TEST(Select, SigmaskIsAppliedLikeTheRealCall) {
  struct sigaction sa{};
  sa.sa_handler = [](int) { g_usr1++; };
  ::sigaction(SIGUSR1, &sa, nullptr);
  weft::run([] {
    auto [c, s] = tcp_pair();
    sigset_t block, unblocked, old;
    sigemptyset(&block);
    sigaddset(&block, SIGUSR1);
    ::pthread_sigmask(SIG_BLOCK, &block, &old);
    ::pthread_sigmask(SIG_SETMASK, nullptr, &unblocked);
    sigdelset(&unblocked, SIGUSR1);
    for (int which = 0; which < 2; ++which) {
      g_usr1 = 0;
      ::raise(SIGUSR1);  // pending: blocked by the thread's mask
      EXPECT_EQ(g_usr1.load(), 0);
      timespec ts{1, 0};
      auto t0 = clock_type::now();
      errno = 0;
      int r;
      if (which == 0) {
        fd_set rd;
        FD_ZERO(&rd);
        FD_SET(s, &rd);
        r = ::pselect(s + 1, &rd, nullptr, nullptr, &ts, &unblocked);
      } else {
        pollfd p{s, POLLIN, 0};
        r = ::ppoll(&p, 1, &ts, &unblocked);
      }
      EXPECT_EQ(r, -1) << which;
      EXPECT_EQ(errno, EINTR) << which;
      EXPECT_EQ(g_usr1.load(), 1) << which;
      EXPECT_LT(ms_since(t0), 500);
      sigset_t now;
      ::pthread_sigmask(SIG_SETMASK, nullptr, &now);
      EXPECT_TRUE(sigismember(&now, SIGUSR1)) << "the thread's own mask is back";
    }
    ::pthread_sigmask(SIG_SETMASK, &old, nullptr);
    ::close(c);
    ::close(s);
  });
}

TEST(Select, TimeoutScopeAndCancel) {
  weft::run([] {
    auto [c, s] = tcp_pair();
    fd_set rd;
    {
      weft::timeout t(40ms);
      FD_ZERO(&rd);
      FD_SET(s, &rd);
      auto t0 = clock_type::now();
      errno = 0;
      EXPECT_EQ(::select(s + 1, &rd, nullptr, nullptr, nullptr), -1);
      EXPECT_EQ(errno, ETIMEDOUT);
      EXPECT_GE(ms_since(t0), 35);
      EXPECT_LT(ms_since(t0), 1000);
    }
    {
      weft::timeout t(40ms);
      pollfd p{s, POLLIN, 0};
      errno = 0;
      EXPECT_EQ(::ppoll(&p, 1, nullptr, nullptr), -1);
      EXPECT_EQ(errno, ETIMEDOUT);
    }
    res got[3];
    std::vector<weft::fiber<void>> fs;
    for (int k = 0; k < 3; ++k) {
      fs.push_back(weft::spawn([&, k, s = s] {
        fd_set r;
        FD_ZERO(&r);
        FD_SET(s, &r);
        timespec ts{5, 0};
        pollfd p{s, POLLIN, 0};
        got[k].r = k == 0 ? ::select(s + 1, &r, nullptr, nullptr, nullptr)
                   : k == 1 ? ::pselect(s + 1, &r, nullptr, nullptr, &ts, nullptr)
                            : ::ppoll(&p, 1, &ts, nullptr);
        got[k].err = errno;
      }));
    }
    weft::this_fiber::sleep_for(20ms);
    auto t0 = clock_type::now();
    for (auto& f : fs) f.cancel();
    for (auto& f : fs) {
      try {
        f.join();
      } catch (const weft::cancelled&) {
      }
    }
    EXPECT_LT(ms_since(t0), 1000);
    for (int k = 0; k < 3; ++k) {
      EXPECT_EQ(got[k].r, -1) << k;
      EXPECT_EQ(got[k].err, ECANCELED) << k;
    }
    ::close(c);
    ::close(s);
  });
}

}  // namespace
