// tests/hooks/test_hooks_epoll.cpp — epoll_wait / epoll_pwait / epoll_pwait2
// on the user's own epoll fd, linked mode: the fiber parks until the epoll
// fd is readable (no busy polling, other fibers run), timeouts hold to the
// millisecond, errors match the real call on a plain thread, closing the
// epoll fd wakes the waiter with EBADF, and weft::timeout / cancel give
// ETIMEDOUT / ECANCELED.
#include "hooks_test.hpp"

#include <sys/epoll.h>
#include <sys/resource.h>

#include <atomic>
#include <thread>
#include <vector>

using namespace hooks_test;

namespace {

// watch() adds fd to ep for `events` with data.fd = fd.
void watch(int ep, int fd, unsigned events = EPOLLIN) {
  epoll_event e{};
  e.events = events;
  e.data.fd = fd;
  ASSERT_EQ(::epoll_ctl(ep, EPOLL_CTL_ADD, fd, &e), 0);
}

TEST(Epoll, WaitParksUntilTheEpollFdIsReadable) {
  weft::run([] {
    int ep = ::epoll_create1(EPOLL_CLOEXEC);
    std::vector<std::pair<int, int>> pairs;
    for (int i = 0; i < 8; ++i) {
      pairs.push_back(tcp_pair());
      watch(ep, pairs.back().second);
    }
    auto w = weft::spawn([c = pairs[3].first] {
      weft::this_fiber::sleep_for(60ms);
      (void)!::write(c, "!", 1);
    });
    unsigned long p0 = weft::hooks::parks();
    long cpu0 = cpu_ms();
    auto t0 = clock_type::now();
    epoll_event ev[16];
    errno = 4242;
    int n = ::epoll_wait(ep, ev, 16, 5000);
    EXPECT_EQ(errno, 4242);
    ASSERT_EQ(n, 1);
    EXPECT_EQ(ev[0].data.fd, pairs[3].second);
    EXPECT_TRUE(ev[0].events & EPOLLIN);
    EXPECT_GE(ms_since(t0), 55);
    EXPECT_LT(cpu_ms() - cpu0, 30) << "waiting must not burn CPU";
    EXPECT_GT(weft::hooks::parks(), p0);
    // Level-triggered and not drained: ready again at once, no parking.
    t0 = clock_type::now();
    EXPECT_EQ(::epoll_pwait(ep, ev, 16, 5000, nullptr), 1);
    EXPECT_LT(ms_since(t0), 20);
    w.join();
    for (auto& [c, s] : pairs) {
      ::close(c);
      ::close(s);
    }
    ::close(ep);
  });
}

TEST(Epoll, TimeoutHoldsToTheMillisecond) {
  weft::run([] {
    int ep = ::epoll_create1(0);
    auto [c, s] = tcp_pair();
    watch(ep, s);
    std::atomic<int> ticks{0};
    auto ticker = weft::spawn([&] {
      for (int i = 0; i < 5; ++i) {
        ticks++;
        weft::this_fiber::sleep_for(5ms);
      }
    });
    epoll_event ev[4];
    auto t0 = clock_type::now();
    EXPECT_EQ(::epoll_wait(ep, ev, 4, 50), 0);
    long ms = ms_since(t0);
    EXPECT_GE(ms, 50);
    EXPECT_LT(ms, 1000);
    EXPECT_GE(ticks.load(), 3);
    sigset_t none;
    sigemptyset(&none);
    t0 = clock_type::now();
    EXPECT_EQ(::epoll_pwait(ep, ev, 4, 50, &none), 0);
    EXPECT_GE(ms_since(t0), 50);
    EXPECT_LT(ms_since(t0), 1000);
    timespec ts{0, 50000000};
    t0 = clock_type::now();
    int r = ::epoll_pwait2(ep, ev, 4, &ts, nullptr);
    if (r == -1 && errno == ENOSYS) {
      // kernel without epoll_pwait2: the hook passes the error on
    } else {
      EXPECT_EQ(r, 0);
      EXPECT_GE(ms_since(t0), 50);
      EXPECT_LT(ms_since(t0), 1000);
    }
    // An empty epoll set with a timeout just sleeps.
    int empty = ::epoll_create1(0);
    t0 = clock_type::now();
    EXPECT_EQ(::epoll_wait(empty, ev, 4, 40), 0);
    EXPECT_GE(ms_since(t0), 40);
    ticker.join();
    ::close(empty);
    ::close(c);
    ::close(s);
    ::close(ep);
  });
}

TEST(Epoll, ManyFibersEachOnItsOwnEpollFdAllProgress) {
  weft::run([] {
    constexpr int n = 40;
    std::vector<std::pair<int, int>> pairs;
    std::vector<int> eps;
    for (int i = 0; i < n; ++i) {
      pairs.push_back(tcp_pair());
      eps.push_back(::epoll_create1(0));
      watch(eps.back(), pairs.back().second, EPOLLIN | EPOLLET);
    }
    std::atomic<int> got{0};
    std::vector<weft::fiber<void>> fs;
    for (int i = 0; i < n; ++i) {
      fs.push_back(weft::spawn([&, i] {
        epoll_event ev[2];
        int r = i % 2 ? ::epoll_wait(eps[i], ev, 2, 5000) : ::epoll_pwait(eps[i], ev, 2, -1, nullptr);
        if (r == 1 && ev[0].data.fd == pairs[i].second) got++;
      }));
    }
    auto t0 = clock_type::now();
    weft::this_fiber::sleep_for(10ms);
    for (int i = n - 1; i >= 0; --i) (void)!::write(pairs[i].first, "x", 1);
    for (auto& f : fs) f.join();
    EXPECT_EQ(got.load(), n);
    EXPECT_LT(ms_since(t0), 2000) << "an epoll_wait blocked the thread";
    for (int i = 0; i < n; ++i) {
      ::close(pairs[i].first);
      ::close(pairs[i].second);
      ::close(eps[i]);
    }
  });
}

TEST(Epoll, ErrorsMatchTheRealCall) {
  weft::run([] {
    auto [c, s] = tcp_pair();
    int ep = ::epoll_create1(0);
    int dead = ::epoll_create1(0);
    ::close(dead);
    epoll_event ev[4];
    struct kase {
      int fd, max;
    } cases[] = {{dead, 4}, {-1, 4}, {ep, 0}, {ep, -1}, {s, 4}};  // EBADF, EBADF, EINVAL, EINVAL, EINVAL
    for (auto k : cases) {
      errno = 0;
      int r = ::epoll_wait(k.fd, ev, k.max, 100);
      int e = errno;
      res real = on_thread([&] { return ::epoll_wait(k.fd, ev, k.max, 100); });
      EXPECT_EQ(r, real.r) << k.fd << " " << k.max;
      EXPECT_EQ(e, real.err) << k.fd << " " << k.max;
      EXPECT_EQ(r, -1);
    }
    ::close(ep);
    ::close(c);
    ::close(s);
  });
}

TEST(Epoll, ClosingTheEpollFdWakesTheWaiterWithEbadf) {
  weft::run([] {
    int ep = ::epoll_create1(0);
    auto [c, s] = tcp_pair();
    watch(ep, s);
    res got;
    auto waiter = weft::spawn([&] {
      epoll_event ev[2];
      got.r = ::epoll_wait(ep, ev, 2, 5000);
      got.err = errno;
    });
    weft::this_fiber::sleep_for(20ms);
    auto t0 = clock_type::now();
    ::close(ep);
    waiter.join();
    EXPECT_LT(ms_since(t0), 1000);
    EXPECT_EQ(got.r, -1);
    EXPECT_EQ(got.err, EBADF);
    ::close(c);
    ::close(s);
  });
}

std::atomic<int> g_usr2{0};

TEST(Epoll, PwaitSigmaskDeliversAPendingSignal) {
  struct sigaction sa{};
  sa.sa_handler = [](int) { g_usr2++; };
  ::sigaction(SIGUSR2, &sa, nullptr);
  weft::run([] {
    int ep = ::epoll_create1(0);
    sigset_t block, unblocked, old;
    sigemptyset(&block);
    sigaddset(&block, SIGUSR2);
    ::pthread_sigmask(SIG_BLOCK, &block, &old);
    ::pthread_sigmask(SIG_SETMASK, nullptr, &unblocked);
    sigdelset(&unblocked, SIGUSR2);
    ::raise(SIGUSR2);
    EXPECT_EQ(g_usr2.load(), 0);
    epoll_event ev[2];
    errno = 0;
    EXPECT_EQ(::epoll_pwait(ep, ev, 2, 1000, &unblocked), -1);
    EXPECT_EQ(errno, EINTR);
    EXPECT_EQ(g_usr2.load(), 1);
    ::pthread_sigmask(SIG_SETMASK, &old, nullptr);
    ::close(ep);
  });
}

TEST(Epoll, TimeoutScopeAndCancel) {
  weft::run([] {
    int ep = ::epoll_create1(0);
    auto [c, s] = tcp_pair();
    watch(ep, s);
    epoll_event ev[2];
    {
      weft::timeout t(40ms);
      auto t0 = clock_type::now();
      errno = 0;
      EXPECT_EQ(::epoll_wait(ep, ev, 2, -1), -1);
      EXPECT_EQ(errno, ETIMEDOUT);
      EXPECT_GE(ms_since(t0), 35);
      EXPECT_LT(ms_since(t0), 1000);
    }
    res got;
    auto f = weft::spawn([&] {
      epoll_event e[2];
      got.r = ::epoll_wait(ep, e, 2, 5000);
      got.err = errno;
    });
    weft::this_fiber::sleep_for(20ms);
    auto t0 = clock_type::now();
    cancel_and_join(f);
    EXPECT_LT(ms_since(t0), 1000);
    EXPECT_EQ(got.r, -1);
    EXPECT_EQ(got.err, ECANCELED);
    ::close(ep);
    ::close(c);
    ::close(s);
  });
}

}  // namespace

namespace {

TEST(Epoll, AnEpollFdThePollerCannotWatchDoesNotSpin) {
  weft::run([] {
    auto [c, s] = tcp_pair();
    // A chain of epoll fds nested as deep as the kernel allows: the
    // scheduler's own epoll set cannot take the outermost one (ELOOP).
    int inner = ::epoll_create1(0);
    watch(inner, s);
    std::vector<int> chain{inner};
    for (int i = 0; i < 4; ++i) {
      int e = ::epoll_create1(0);
      epoll_event ev{};
      ev.events = EPOLLIN;
      ev.data.fd = chain.back();
      if (::epoll_ctl(e, EPOLL_CTL_ADD, chain.back(), &ev) != 0) {
        ::close(e);
        break;
      }
      chain.push_back(e);
    }
    epoll_event evs[2];
    long cpu0 = cpu_ms();
    auto t0 = clock_type::now();
    EXPECT_EQ(::epoll_wait(chain.back(), evs, 2, 100), 0);
    EXPECT_GE(ms_since(t0), 100);
    EXPECT_LT(ms_since(t0), 1000);
    EXPECT_LT(cpu_ms() - cpu0, 60) << "waiting must not spin";
    auto w = weft::spawn([c = c] {
      weft::this_fiber::sleep_for(30ms);
      (void)!::write(c, "!", 1);
    });
    EXPECT_EQ(::epoll_wait(chain.back(), evs, 2, 5000), 1);
    w.join();
    for (int e : chain) ::close(e);
    ::close(c);
    ::close(s);
  });
}

}  // namespace
