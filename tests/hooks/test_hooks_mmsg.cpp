// tests/hooks/test_hooks_mmsg.cpp — recvmmsg / sendmmsg on fibers and
// shutdown waking parked fibers, linked mode: recvmmsg waits for all
// messages (MSG_WAITFORONE: the first), honours its own timeout after a
// message as the kernel does, sendmmsg sends everything through a full
// socket, many fibers wait at once, weft::timeout / cancel give ETIMEDOUT /
// ECANCELED; shutdown wakes readers with EOF and writers with EPIPE.
#include "hooks_test.hpp"

#include <array>
#include <atomic>
#include <cstring>
#include <string>
#include <vector>

using namespace hooks_test;

namespace {

// udp_pair() is two UDP sockets on loopback connected to each other.
std::pair<int, int> udp_pair() {
  int a = ::socket(AF_INET, SOCK_DGRAM, 0);
  int b = ::socket(AF_INET, SOCK_DGRAM, 0);
  sockaddr_in x = loopback(0);
  ::bind(a, reinterpret_cast<sockaddr*>(&x), sizeof x);
  ::bind(b, reinterpret_cast<sockaddr*>(&x), sizeof x);
  sockaddr_in ax{}, bx{};
  socklen_t len = sizeof ax;
  ::getsockname(a, reinterpret_cast<sockaddr*>(&ax), &len);
  len = sizeof bx;
  ::getsockname(b, reinterpret_cast<sockaddr*>(&bx), &len);
  ::connect(a, reinterpret_cast<sockaddr*>(&bx), sizeof bx);
  ::connect(b, reinterpret_cast<sockaddr*>(&ax), sizeof ax);
  return {a, b};
}

// msgs: n receive slots of 64 bytes each.
struct msgs {
  std::vector<std::array<char, 64>> buf;
  std::vector<iovec> iov;
  std::vector<mmsghdr> h;
  explicit msgs(unsigned n) : buf(n), iov(n), h(n) {
    for (unsigned i = 0; i < n; ++i) {
      iov[i] = {buf[i].data(), buf[i].size()};
      h[i] = {};
      h[i].msg_hdr.msg_iov = &iov[i];
      h[i].msg_hdr.msg_iovlen = 1;
    }
  }
  std::string at(unsigned i) const { return std::string(buf[i].data(), h[i].msg_len); }
};

TEST(Mmsg, RecvmmsgWaitsForAllOrForOne) {
  weft::run([] {
    auto [a, b] = udp_pair();
    auto w = weft::spawn([a = a] {
      for (const char* m : {"one", "two", "three"}) {
        weft::this_fiber::sleep_for(20ms);
        (void)!::send(a, m, std::strlen(m), 0);
      }
    });
    msgs m(3);
    unsigned long p0 = weft::hooks::parks();
    auto t0 = clock_type::now();
    errno = 4242;
    EXPECT_EQ(::recvmmsg(b, m.h.data(), 3, 0, nullptr), 3);
    EXPECT_EQ(errno, 4242);
    EXPECT_GE(ms_since(t0), 55);
    EXPECT_GT(weft::hooks::parks(), p0);
    EXPECT_EQ(m.at(0), "one");
    EXPECT_EQ(m.at(1), "two");
    EXPECT_EQ(m.at(2), "three");
    w.join();

    auto w2 = weft::spawn([a = a] {
      weft::this_fiber::sleep_for(30ms);
      (void)!::send(a, "solo", 4, 0);
    });
    msgs m2(3);
    t0 = clock_type::now();
    EXPECT_EQ(::recvmmsg(b, m2.h.data(), 3, MSG_WAITFORONE, nullptr), 1);
    EXPECT_GE(ms_since(t0), 25);
    EXPECT_EQ(m2.at(0), "solo");
    w2.join();
    ::close(a);
    ::close(b);
  });
}

TEST(Mmsg, RecvmmsgOwnTimeoutIsCheckedAfterAMessage) {
  weft::run([] {
    auto [a, b] = udp_pair();
    auto w = weft::spawn([a = a] {
      weft::this_fiber::sleep_for(10ms);
      (void)!::send(a, "early", 5, 0);
      weft::this_fiber::sleep_for(90ms);
      (void)!::send(a, "late", 4, 0);
    });
    msgs m(3);
    timespec ts{0, 50000000};
    auto t0 = clock_type::now();
    EXPECT_EQ(::recvmmsg(b, m.h.data(), 3, 0, &ts), 2);  // like the kernel: stops after "late"
    EXPECT_GE(ms_since(t0), 95);
    EXPECT_LT(ms_since(t0), 1000);
    EXPECT_EQ(m.at(1), "late");
    EXPECT_EQ(ts.tv_sec, 0);
    EXPECT_EQ(ts.tv_nsec, 0);
    w.join();
    ::close(a);
    ::close(b);
  });
}

TEST(Mmsg, SendmmsgSendsEverythingThroughAFullSocket) {
  weft::run([] {
    auto [c, s] = tcp_pair();
    long queued = fill(c, s);
    static char big[2][16000];  // small: fill() left tiny TCP buffers, which move data slowly
    std::memset(big[0], 'a', sizeof big[0]);
    std::memset(big[1], 'b', sizeof big[1]);
    iovec iov[2] = {{big[0], sizeof big[0]}, {big[1], sizeof big[1]}};
    mmsghdr h[2]{};
    for (int i = 0; i < 2; ++i) {
      h[i].msg_hdr.msg_iov = &iov[i];
      h[i].msg_hdr.msg_iovlen = 1;
    }
    long want = queued + 2 * 16000;
    auto reader = weft::spawn([s = s, want] {
      weft::this_fiber::sleep_for(50ms);
      static char buf[65536];
      long got = 0;
      while (got < want) {
        ssize_t n = ::read(s, buf, sizeof buf);
        if (n <= 0) break;
        got += n;
      }
      return got;
    });
    auto t0 = clock_type::now();
    int r = ::sendmmsg(c, h, 2, 0);
    EXPECT_EQ(r, 2);
    EXPECT_GE(ms_since(t0), 45);
    EXPECT_EQ(reader.join(), want);
    ::close(c);
    ::close(s);
  });
}

TEST(Mmsg, ManyFibersInRecvmmsgAllProgress) {
  weft::run([] {
    constexpr int n = 30;
    std::vector<std::pair<int, int>> pairs;
    for (int i = 0; i < n; ++i) pairs.push_back(udp_pair());
    std::atomic<int> got{0};
    std::vector<weft::fiber<void>> fs;
    for (int i = 0; i < n; ++i) {
      fs.push_back(weft::spawn([&, b = pairs[i].second] {
        msgs m(4);
        if (::recvmmsg(b, m.h.data(), 4, MSG_WAITFORONE, nullptr) == 1 && m.at(0) == "x") got++;
      }));
    }
    auto t0 = clock_type::now();
    weft::this_fiber::sleep_for(10ms);
    for (int i = n - 1; i >= 0; --i) (void)!::send(pairs[i].first, "x", 1, 0);
    for (auto& f : fs) f.join();
    EXPECT_EQ(got.load(), n);
    EXPECT_LT(ms_since(t0), 2000);
    for (auto& [a, b] : pairs) {
      ::close(a);
      ::close(b);
    }
  });
}

TEST(Mmsg, TimeoutScopeCancelAndSoRcvtimeo) {
  weft::run([] {
    auto [a, b] = udp_pair();
    msgs m(2);
    {
      weft::timeout t(40ms);
      errno = 0;
      EXPECT_EQ(::recvmmsg(b, m.h.data(), 2, 0, nullptr), -1);
      EXPECT_EQ(errno, ETIMEDOUT);
    }
    set_timeo(b, SO_RCVTIMEO, 40);
    auto t0 = clock_type::now();
    errno = 0;
    EXPECT_EQ(::recvmmsg(b, m.h.data(), 2, 0, nullptr), -1);
    EXPECT_EQ(errno, EAGAIN);
    EXPECT_GE(ms_since(t0), 35);
    set_timeo(b, SO_RCVTIMEO, 0);
    res got;
    auto f = weft::spawn([&] {
      msgs mm(2);
      got.r = ::recvmmsg(b, mm.h.data(), 2, 0, nullptr);
      got.err = errno;
    });
    weft::this_fiber::sleep_for(20ms);
    cancel_and_join(f);
    EXPECT_EQ(got.r, -1);
    EXPECT_EQ(got.err, ECANCELED);
    // Errors pass through as the real call gives them.
    errno = 0;
    EXPECT_EQ(::sendmmsg(-1, m.h.data(), 1, 0), -1);
    EXPECT_EQ(errno, EBADF);
    ::close(a);
    ::close(b);
  });
}

TEST(Shutdown, WakesAParkedReaderWithEofAndAWriterWithEpipe) {
  weft::run([] {
    auto [c, s] = tcp_pair();
    res rd;
    auto reader = weft::spawn([&, s = s] {
      char buf[16];
      rd.r = ::read(s, buf, sizeof buf);
      rd.err = errno;
    });
    weft::this_fiber::sleep_for(20ms);
    auto t0 = clock_type::now();
    EXPECT_EQ(::shutdown(s, SHUT_RD), 0);
    reader.join();
    EXPECT_LT(ms_since(t0), 1000);
    EXPECT_EQ(rd.r, 0);

    auto [c2, s2] = tcp_pair();
    fill(c2, s2);
    res wr;
    auto writer = weft::spawn([&, c2 = c2] {
      static char junk[65536];
      wr.r = ::write(c2, junk, sizeof junk);
      wr.err = errno;
    });
    weft::this_fiber::sleep_for(20ms);
    t0 = clock_type::now();
    EXPECT_EQ(::shutdown(c2, SHUT_WR), 0);
    writer.join();
    EXPECT_LT(ms_since(t0), 1000);
    EXPECT_EQ(wr.r, -1);
    EXPECT_EQ(wr.err, EPIPE);

    // The peer's shutdown: EOF for a parked reader on the other side.
    res pr;
    auto peer_reader = weft::spawn([&, c = c] {
      char buf[16];
      pr.r = ::recv(c, buf, sizeof buf, 0);
      pr.err = errno;
    });
    weft::this_fiber::sleep_for(20ms);
    ::shutdown(s, SHUT_WR);
    peer_reader.join();
    EXPECT_EQ(pr.r, 0);
    for (int fd : {c, s, c2, s2}) ::close(fd);
  });
}

}  // namespace
