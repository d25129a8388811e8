// tests/hooks/test_hooks_read.cpp — the read family (read, readv, recv,
// recvfrom, recvmsg) on fibers, linked mode, real loopback TCP: each call
// parks only its fiber; SO_RCVTIMEO gives EAGAIN, weft::timeout ETIMEDOUT,
// cancel ECANCELED, close-while-waiting EBADF, a peer reset ECONNRESET; a
// user-non-blocking socket returns EAGAIN at once.
#include "hooks_test.hpp"

#include <sys/uio.h>

#include <atomic>
#include <cstring>
#include <string>
#include <thread>

using namespace hooks_test;

namespace {

struct read_op {
  const char* name;
  ssize_t (*fn)(int fd, char* buf, size_t n);
};

ssize_t op_read(int fd, char* b, size_t n) { return ::read(fd, b, n); }
ssize_t op_readv(int fd, char* b, size_t n) {
  iovec v[2] = {{b, n / 2}, {b + n / 2, n - n / 2}};
  return ::readv(fd, v, 2);
}
ssize_t op_recv(int fd, char* b, size_t n) { return ::recv(fd, b, n, 0); }
ssize_t op_recvfrom(int fd, char* b, size_t n) {
  sockaddr_storage ss;
  socklen_t len = sizeof ss;
  return ::recvfrom(fd, b, n, 0, reinterpret_cast<sockaddr*>(&ss), &len);
}
ssize_t op_recvmsg(int fd, char* b, size_t n) {
  iovec v{b, n};
  msghdr m{};
  m.msg_iov = &v;
  m.msg_iovlen = 1;
  return ::recvmsg(fd, &m, 0);
}

class ReadFamily : public ::testing::TestWithParam<read_op> {
 protected:
  // blocked() runs op on `fd` in a fiber and `act` in another one; returns
  // the op's result. `ticks` counts 5 ms naps of a third fiber meanwhile.
  template <class Act>
  res blocked(int fd, Act act, int* ticks = nullptr) {
    res out;
    weft::run([&] {
      std::atomic<bool> done{false};
      auto ticker = weft::spawn([&] {
        while (!done) {
          weft::this_fiber::sleep_for(5ms);
          if (ticks) ++*ticks;
        }
      });
      auto f = weft::spawn([&] {
        char buf[64] = {};
        out.r = GetParam().fn(fd, buf, sizeof buf);
        out.err = errno;
        done = true;
      });
      act(f);
      try {
        f.join();
      } catch (const weft::cancelled&) {
      }
      done = true;
      ticker.join();
    });
    return out;
  }
};

TEST_P(ReadFamily, ParksUntilDataArrives) {
  weft::run([&] {
    auto [c, s] = tcp_pair();
    unsigned long p0 = weft::hooks::parks();
    char buf[64] = {};
    auto writer = weft::spawn([&, c = c] {
      weft::this_fiber::sleep_for(20ms);
      ASSERT_EQ(::write(c, "hello", 5), 5);
    });
    auto t0 = clock_type::now();
    errno = 4242;
    ssize_t n = GetParam().fn(s, buf, sizeof buf);
    EXPECT_EQ(errno, 4242) << "a successful call must leave errno alone";
    EXPECT_EQ(n, 5);
    EXPECT_EQ(std::string(buf, 5), "hello");
    EXPECT_GE(ms_since(t0), 15);
    EXPECT_GT(weft::hooks::parks(), p0) << "the read should have parked the fiber";
    writer.join();
    ::close(c);
    ::close(s);
  });
}

TEST_P(ReadFamily, ReturnsZeroAtEndOfStream) {
  weft::run([&] {
    auto [c, s] = tcp_pair();
    auto closer = weft::spawn([c = c] {
      weft::this_fiber::sleep_for(10ms);
      ::close(c);
    });
    char buf[8];
    EXPECT_EQ(GetParam().fn(s, buf, sizeof buf), 0);
    closer.join();
    ::close(s);
  });
}

TEST_P(ReadFamily, SoRcvtimeoGivesEagainWhileOtherFibersRun) {
  auto [c, s] = tcp_pair();  // made off-fiber: learned at first use
  set_timeo(s, SO_RCVTIMEO, 100);
  int ticks = 0;
  auto t0 = clock_type::now();
  res r = blocked(s, [](auto&) {}, &ticks);
  long ms = ms_since(t0);
  EXPECT_EQ(r.r, -1);
  EXPECT_EQ(r.err, EAGAIN);
  EXPECT_GE(ms, 95);
  EXPECT_LT(ms, 1000);
  EXPECT_GE(ticks, 5) << "other fibers must run while the read waits";
  ::close(c);
  ::close(s);
}

TEST_P(ReadFamily, WeftTimeoutGivesEtimedout) {
  weft::run([&] {
    auto [c, s] = tcp_pair();
    char buf[8];
    auto t0 = clock_type::now();
    ssize_t n;
    int err;
    {
      weft::timeout t(50ms);
      n = GetParam().fn(s, buf, sizeof buf);
      err = errno;
    }
    EXPECT_EQ(n, -1);
    EXPECT_EQ(err, ETIMEDOUT);
    EXPECT_GE(ms_since(t0), 45);
    ::close(c);
    ::close(s);
  });
}

TEST_P(ReadFamily, CancelGivesEcanceled) {
  auto [c, s] = tcp_pair();
  res r = blocked(s, [](auto& f) {
    weft::this_fiber::sleep_for(20ms);
    f.cancel();
  });
  EXPECT_EQ(r.r, -1);
  EXPECT_EQ(r.err, ECANCELED);
  ::close(c);
  ::close(s);
}

TEST_P(ReadFamily, CloseWhileWaitingGivesEbadf) {
  auto [c, s] = tcp_pair();
  res r = blocked(s, [s = s](auto&) {
    weft::this_fiber::sleep_for(20ms);
    EXPECT_EQ(::close(s), 0);
  });
  EXPECT_EQ(r.r, -1);
  EXPECT_EQ(r.err, EBADF);
  ::close(c);
}

TEST_P(ReadFamily, PeerResetGivesEconnreset) {
  auto [c, s] = tcp_pair();
  res r = blocked(s, [c = c](auto&) {
    weft::this_fiber::sleep_for(20ms);
    reset_close(c);
  });
  EXPECT_EQ(r.r, -1);
  EXPECT_EQ(r.err, ECONNRESET);
  ::close(s);
}

TEST_P(ReadFamily, UserNonblockingGivesEagainAtOnce) {
  weft::run([&] {
    auto [c, s] = tcp_pair(0, SOCK_NONBLOCK);
    EXPECT_TRUE(::fcntl(s, F_GETFL) & O_NONBLOCK);
    unsigned long p0 = weft::hooks::parks();
    char buf[8];
    auto t0 = clock_type::now();
    EXPECT_EQ(GetParam().fn(s, buf, sizeof buf), -1);
    EXPECT_EQ(errno, EAGAIN);
    EXPECT_LT(ms_since(t0), 50);
    EXPECT_EQ(weft::hooks::parks(), p0);
    ::close(c);
    ::close(s);
  });
}

INSTANTIATE_TEST_SUITE_P(Hooks, ReadFamily,
                         ::testing::Values(read_op{"read", op_read}, read_op{"readv", op_readv},
                                           read_op{"recv", op_recv}, read_op{"recvfrom", op_recvfrom},
                                           read_op{"recvmsg", op_recvmsg}),
                         [](const auto& i) { return std::string(i.param.name); });

// The same scenario on a plain thread (hooks pass through): the kernel's own
// answer, which the fiber version must match.
// later_write() writes `what` to fd from another fiber after `d`.
void later_write(int fd, const char* what, std::chrono::milliseconds d) {
  weft::spawn([=] {
    weft::this_fiber::sleep_for(d);
    (void)!::write(fd, what, std::strlen(what));
  }).detach();
}

// After a short read the hooks park before the next read of a byte stream
// (no EAGAIN syscall); whatever consumed the readiness edge meanwhile, the
// data that arrives later is still read, at once.
TEST(ReadAfterShortRead, PollSelectPeekEofAndDatagramsStillSeeData) {
  weft::run([] {
    auto [c, s] = tcp_pair();
    char b[64];
    // 1. poll() consumes the edge, then read() must not wait for another one.
    ASSERT_EQ(::write(c, "ab", 2), 2);
    ASSERT_EQ(::read(s, b, sizeof b), 2);  // short: drained
    later_write(c, "cd", 20ms);
    pollfd p{s, POLLIN, 0};
    ASSERT_EQ(::poll(&p, 1, 2000), 1);
    auto t0 = clock_type::now();
    ASSERT_EQ(::read(s, b, sizeof b), 2);
    EXPECT_LT(ms_since(t0), 500);
    // 2. the same through select (a private epoll instance).
    later_write(c, "ef", 20ms);
    fd_set rd;
    FD_ZERO(&rd);
    FD_SET(s, &rd);
    ASSERT_EQ(::select(s + 1, &rd, nullptr, nullptr, nullptr), 1);
    t0 = clock_type::now();
    ASSERT_EQ(::read(s, b, sizeof b), 2);
    EXPECT_LT(ms_since(t0), 500);
    // 3. a short peek does not count as draining.
    ASSERT_EQ(::write(c, "gh", 2), 2);
    weft::this_fiber::sleep_for(10ms);
    ASSERT_EQ(::recv(s, b, sizeof b, MSG_PEEK), 2);
    ASSERT_EQ(::recv(s, b, sizeof b, 0), 2);
    EXPECT_EQ(std::string(b, 2), "gh");
    // 4. end of stream after a short read: 0, and 0 again.
    ::shutdown(c, SHUT_WR);
    EXPECT_EQ(::read(s, b, sizeof b), 0);
    EXPECT_EQ(::read(s, b, sizeof b), 0);
    ::close(c);
    ::close(s);
    // 5. datagrams: a short read says nothing about the queue.
    int d[2];
    ASSERT_EQ(::socketpair(AF_UNIX, SOCK_DGRAM, 0, d), 0);
    ASSERT_EQ(::write(d[1], "1", 1), 1);
    ASSERT_EQ(::write(d[1], "2", 1), 1);
    weft::this_fiber::sleep_for(10ms);
    ASSERT_EQ(::read(d[0], b, sizeof b), 1);
    pollfd q{d[0], POLLIN, 0};
    ASSERT_EQ(::poll(&q, 1, 1000), 1);  // consume whatever edge there is
    t0 = clock_type::now();
    ASSERT_EQ(::read(d[0], b, sizeof b), 1);
    EXPECT_EQ(b[0], '2');
    EXPECT_LT(ms_since(t0), 500);
    ::close(d[0]);
    ::close(d[1]);
  });
}

TEST(ReadFamilyPlain, KernelGivesTheSameErrnos) {
  auto [c, s] = tcp_pair();
  set_timeo(s, SO_RCVTIMEO, 50);
  char buf[8];
  EXPECT_EQ(::read(s, buf, sizeof buf), -1);
  EXPECT_EQ(errno, EAGAIN);
  std::thread t([c = c] {
    std::this_thread::sleep_for(20ms);
    reset_close(c);
  });
  set_timeo(s, SO_RCVTIMEO, 0);
  EXPECT_EQ(::read(s, buf, sizeof buf), -1);
  EXPECT_EQ(errno, ECONNRESET);
  t.join();
  ::close(s);
}

}  // namespace
