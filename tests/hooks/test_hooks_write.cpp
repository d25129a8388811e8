// tests/hooks/test_hooks_write.cpp — the write family (write, writev, send,
// sendto, sendmsg) on fibers, linked mode, real loopback TCP: a blocking
// write moves everything, parking while the peer is slow; SO_SNDTIMEO gives
// EAGAIN (or the partial count), weft::timeout ETIMEDOUT, cancel ECANCELED,
// close-while-waiting EBADF, a peer reset ECONNRESET; a user-non-blocking
// socket returns EAGAIN at once.
#include "hooks_test.hpp"

#include <sys/uio.h>

#include <atomic>
#include <numeric>
#include <string>
#include <thread>
#include <vector>

using namespace hooks_test;

namespace {

struct write_op {
  const char* name;
  ssize_t (*fn)(int fd, const char* buf, size_t n);
};

ssize_t op_write(int fd, const char* b, size_t n) { return ::write(fd, b, n); }
ssize_t op_writev(int fd, const char* b, size_t n) {
  iovec v[3] = {{const_cast<char*>(b), n / 3}, {const_cast<char*>(b) + n / 3, n / 3},
                {const_cast<char*>(b) + 2 * (n / 3), n - 2 * (n / 3)}};
  return ::writev(fd, v, 3);
}
ssize_t op_send(int fd, const char* b, size_t n) { return ::send(fd, b, n, 0); }
ssize_t op_sendto(int fd, const char* b, size_t n) { return ::sendto(fd, b, n, 0, nullptr, 0); }
ssize_t op_sendmsg(int fd, const char* b, size_t n) {
  iovec v[2] = {{const_cast<char*>(b), n / 2}, {const_cast<char*>(b) + n / 2, n - n / 2}};
  msghdr m{};
  m.msg_iov = v;
  m.msg_iovlen = 2;
  return ::sendmsg(fd, &m, 0);
}

// drain_some() reads at least `bytes` from fd, then stops reading.
long drain_some(int fd, long bytes) {
  std::vector<char> buf(65536);
  long got = 0;
  while (got < bytes) {
    ssize_t n = ::read(fd, buf.data(), buf.size());
    if (n <= 0) break;
    got += n;
  }
  return got;
}

class WriteFamily : public ::testing::TestWithParam<write_op> {
 protected:
  // blocked() fills c's send path, runs a 1-byte op on c in a fiber and
  // `act` in another; returns the op's result.
  template <class Act>
  res blocked(int c, int s, Act act) {
    fill(c, s);
    res out;
    weft::run([&] {
      auto f = weft::spawn([&] {
        out.r = GetParam().fn(c, "x", 1);
        out.err = errno;
      });
      act(f);
      try {
        f.join();
      } catch (const weft::cancelled&) {
      }
    });
    return out;
  }
};

TEST_P(WriteFamily, MovesEverythingWhileThePeerReadsSlowly) {
  weft::run([&] {
    auto [c, s] = tcp_pair();
    int sndbuf = 65536;  // modest buffer: the big write must park several times
    ::setsockopt(c, SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof sndbuf);
    std::vector<char> data(4 << 20);
    for (std::size_t i = 0; i < data.size(); ++i) data[i] = static_cast<char>(i * 131 + 7);
    unsigned long p0 = weft::hooks::parks();
    std::vector<char> got;
    auto reader = weft::spawn([&, s = s] {
      std::vector<char> buf(65536);
      while (got.size() < data.size()) {
        ssize_t n = ::read(s, buf.data(), buf.size());
        if (n <= 0) break;
        got.insert(got.end(), buf.data(), buf.data() + n);
      }
    });
    errno = 4242;
    EXPECT_EQ(GetParam().fn(c, data.data(), data.size()), static_cast<ssize_t>(data.size()));
    EXPECT_EQ(errno, 4242);
    reader.join();
    EXPECT_TRUE(got == data) << "bytes arrived changed or out of order";
    EXPECT_GT(weft::hooks::parks(), p0 + 2);
    ::close(c);
    ::close(s);
  });
}

TEST_P(WriteFamily, SoSndtimeoGivesEagain) {
  auto [c, s] = tcp_pair();
  set_timeo(c, SO_SNDTIMEO, 100);
  auto t0 = clock_type::now();
  res r = blocked(c, s, [](auto&) {});
  EXPECT_EQ(r.r, -1);
  EXPECT_EQ(r.err, EAGAIN);
  EXPECT_GE(ms_since(t0), 95);
  ::close(c);
  ::close(s);
}

TEST_P(WriteFamily, SoSndtimeoAfterProgressGivesThePartialCount) {
  auto [c, s] = tcp_pair();
  set_timeo(c, SO_SNDTIMEO, 200);
  res out;
  long taken = 0;
  weft::run([&, c = c, s = s] {
    auto reader = weft::spawn([&, s] { taken = drain_some(s, 200000); });
    std::vector<char> data(16 << 20);
    out.r = GetParam().fn(c, data.data(), data.size());
    out.err = errno;
    reader.join();
  });
  EXPECT_GE(out.r, taken);
  EXPECT_LT(out.r, 16 << 20);
  ::close(c);
  ::close(s);
}

TEST_P(WriteFamily, WeftTimeoutGivesEtimedout) {
  auto [c, s] = tcp_pair();
  fill(c, s);
  weft::run([&, c = c] {
    weft::timeout t(50ms);
    EXPECT_EQ(GetParam().fn(c, "x", 1), -1);
    EXPECT_EQ(errno, ETIMEDOUT);
  });
  ::close(c);
  ::close(s);
}

TEST_P(WriteFamily, CancelGivesEcanceled) {
  auto [c, s] = tcp_pair();
  res r = blocked(c, s, [](auto& f) {
    weft::this_fiber::sleep_for(20ms);
    f.cancel();
  });
  EXPECT_EQ(r.r, -1);
  EXPECT_EQ(r.err, ECANCELED);
  ::close(c);
  ::close(s);
}

TEST_P(WriteFamily, CloseWhileWaitingGivesEbadf) {
  auto [c, s] = tcp_pair();
  res r = blocked(c, s, [c = c](auto&) {
    weft::this_fiber::sleep_for(20ms);
    ::close(c);
  });
  EXPECT_EQ(r.r, -1);
  EXPECT_EQ(r.err, EBADF);
  ::close(s);
}

TEST_P(WriteFamily, PeerResetGivesEconnreset) {
  auto [c, s] = tcp_pair();
  res r = blocked(c, s, [s = s](auto&) {
    weft::this_fiber::sleep_for(20ms);
    reset_close(s);
  });
  EXPECT_EQ(r.r, -1);
  EXPECT_EQ(r.err, ECONNRESET);
  ::close(c);
}

TEST_P(WriteFamily, UserNonblockingGivesEagainAtOnce) {
  weft::run([&] {
    auto [c, s] = tcp_pair(SOCK_NONBLOCK, 0);
    fill(c, s);
    unsigned long p0 = weft::hooks::parks();
    auto t0 = clock_type::now();
    EXPECT_EQ(GetParam().fn(c, "x", 1), -1);
    EXPECT_EQ(errno, EAGAIN);
    EXPECT_LT(ms_since(t0), 50);
    EXPECT_EQ(weft::hooks::parks(), p0);
    ::close(c);
    ::close(s);
  });
}

INSTANTIATE_TEST_SUITE_P(Hooks, WriteFamily,
                         ::testing::Values(write_op{"write", op_write}, write_op{"writev", op_writev},
                                           write_op{"send", op_send}, write_op{"sendto", op_sendto},
                                           write_op{"sendmsg", op_sendmsg}),
                         [](const auto& i) { return std::string(i.param.name); });

// The kernel's own answers on a plain thread (hooks pass through), which the
// fiber versions above must match.
TEST(WriteFamilyPlain, KernelGivesTheSameResults) {
  auto [c, s] = tcp_pair();
  fill(c, s);
  set_timeo(c, SO_SNDTIMEO, 50);
  EXPECT_EQ(::write(c, "x", 1), -1);
  EXPECT_EQ(errno, EAGAIN);
  set_timeo(c, SO_SNDTIMEO, 0);
  std::thread t([s = s] {
    std::this_thread::sleep_for(20ms);
    reset_close(s);
  });
  EXPECT_EQ(::write(c, "x", 1), -1);
  EXPECT_EQ(errno, ECONNRESET);
  t.join();
  ::close(c);
}

TEST(WriteFamilyPlain, SoSndtimeoAfterProgressGivesThePartialCount) {
  auto [c, s] = tcp_pair();
  set_timeo(c, SO_SNDTIMEO, 200);
  long taken = 0;
  std::thread t([&, s = s] { taken = drain_some(s, 200000); });
  std::vector<char> data(16 << 20);
  ssize_t n = ::write(c, data.data(), data.size());
  t.join();
  EXPECT_GE(n, taken);
  EXPECT_LT(n, 16 << 20);
  ::close(c);
  ::close(s);
}

}  // namespace
