// tests/hooks/test_hooks_connect_accept.cpp — connect, accept and accept4
// on fibers, linked mode, real loopback TCP: they park the fiber; SO_SNDTIMEO
// makes a blocking connect give EINPROGRESS and SO_RCVTIMEO an accept EAGAIN
// (as the kernel does on a plain thread); weft::timeout gives ETIMEDOUT,
// cancel ECANCELED, close-while-waiting EBADF; user-non-blocking sockets
// answer at once.
#include "hooks_test.hpp"

#include <thread>
#include <vector>

using namespace hooks_test;

namespace {

// stuck_listener() returns a listener whose accept queue is full, so the
// next connect to it hangs (the kernel drops its SYNs). The connections
// that filled it are added to `held`.
int stuck_listener(int* port, std::vector<int>& held) {
  int l = listen_tcp(port, 0);
  sockaddr_in a = loopback(*port);
  for (int i = 0; i < 16; ++i) {
    int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    held.push_back(fd);
    ::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
    pollfd p{fd, POLLOUT, 0};
    if (::poll(&p, 1, 100) == 0) break;  // this one hangs: the queue is full
  }
  return l;
}

void close_all(std::vector<int>& fds) {
  for (int fd : fds) ::close(fd);
  fds.clear();
}

// connect_to() is a blocking connect of a fresh socket; returns {result, errno}.
res connect_to(int fd, int port) {
  sockaddr_in a = loopback(port);
  res out;
  out.r = ::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
  out.err = errno;
  return out;
}

TEST(Connect, ParksAndConnects) {
  weft::run([] {
    int port = 0;
    int l = listen_tcp(&port);
    int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    errno = 4242;
    res r = connect_to(fd, port);
    EXPECT_EQ(r.r, 0);
    EXPECT_EQ(r.err, 4242) << "a successful connect must leave errno alone";
    int s = ::accept(l, nullptr, nullptr);
    EXPECT_GE(s, 0);
    EXPECT_EQ(::write(fd, "ok", 2), 2);
    char buf[2];
    EXPECT_EQ(::read(s, buf, 2), 2);
    ::close(s);
    ::close(fd);
    ::close(l);
  });
}

TEST(Connect, RefusedGivesEconnrefused) {
  int port = 0;
  int l = listen_tcp(&port);
  ::close(l);  // nothing listens there now
  weft::run([&] {
    int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    res r = connect_to(fd, port);
    EXPECT_EQ(r.r, -1);
    EXPECT_EQ(r.err, ECONNREFUSED);
    ::close(fd);
  });
}

TEST(Connect, SoSndtimeoGivesEinprogressLikeTheKernel) {
  int port = 0;
  std::vector<int> held;
  int l = stuck_listener(&port, held);
  // The kernel's answer on a plain thread.
  int plain = ::socket(AF_INET, SOCK_STREAM, 0);
  set_timeo(plain, SO_SNDTIMEO, 100);
  res k = connect_to(plain, port);
  EXPECT_EQ(k.r, -1);
  EXPECT_EQ(k.err, EINPROGRESS);
  ::close(plain);
  // The same on a fiber, while another fiber keeps running.
  weft::run([&] {
    int ticks = 0;
    bool done = false;
    auto ticker = weft::spawn([&] {
      while (!done) {
        weft::this_fiber::sleep_for(5ms);
        ++ticks;
      }
    });
    int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    set_timeo(fd, SO_SNDTIMEO, 100);
    auto t0 = clock_type::now();
    res r = connect_to(fd, port);
    long ms = ms_since(t0);
    done = true;
    ticker.join();
    EXPECT_EQ(r.r, -1);
    EXPECT_EQ(r.err, EINPROGRESS);
    EXPECT_GE(ms, 95);
    EXPECT_GE(ticks, 5);
    ::close(fd);
  });
  close_all(held);
  ::close(l);
}

TEST(Connect, WeftTimeoutCancelAndClose) {
  int port = 0;
  std::vector<int> held;
  int l = stuck_listener(&port, held);
  weft::run([&] {
    int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    {
      weft::timeout t(50ms);
      res r = connect_to(fd, port);
      EXPECT_EQ(r.r, -1);
      EXPECT_EQ(r.err, ETIMEDOUT);
    }
    ::close(fd);

    res rc, rb;
    int fd2 = ::socket(AF_INET, SOCK_STREAM, 0);
    auto f = weft::spawn([&] { rc = connect_to(fd2, port); });
    int fd3 = ::socket(AF_INET, SOCK_STREAM, 0);
    auto g = weft::spawn([&] { rb = connect_to(fd3, port); });
    weft::this_fiber::sleep_for(20ms);
    f.cancel();
    ::close(fd3);
    try {
      f.join();
    } catch (const weft::cancelled&) {
    }
    g.join();
    EXPECT_EQ(rc.r, -1);
    EXPECT_EQ(rc.err, ECANCELED);
    EXPECT_EQ(rb.r, -1);
    EXPECT_EQ(rb.err, EBADF);
    ::close(fd2);
  });
  close_all(held);
  ::close(l);
}

TEST(Connect, UserNonblockingGivesEinprogressAtOnce) {
  int port = 0;
  std::vector<int> held;
  int l = stuck_listener(&port, held);
  weft::run([&] {
    int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    unsigned long p0 = weft::hooks::parks();
    res r = connect_to(fd, port);
    EXPECT_EQ(r.r, -1);
    EXPECT_EQ(r.err, EINPROGRESS);
    EXPECT_EQ(weft::hooks::parks(), p0);
    ::close(fd);
  });
  close_all(held);
  ::close(l);
}

TEST(Accept, ParksUntilAClientComesAndKeepsTheUsersBlockingView) {
  weft::run([] {
    int port = 0;
    int l = listen_tcp(&port);
    auto client = weft::spawn([port] {
      weft::this_fiber::sleep_for(20ms);
      return connect_tcp(port);
    });
    unsigned long p0 = weft::hooks::parks();
    auto t0 = clock_type::now();
    int s = ::accept(l, nullptr, nullptr);
    EXPECT_GE(ms_since(t0), 15);
    EXPECT_GT(weft::hooks::parks(), p0);
    ASSERT_GE(s, 0);
    EXPECT_FALSE(::fcntl(s, F_GETFL) & O_NONBLOCK) << "the user asked for a blocking socket";
    EXPECT_FALSE(real_flags(s) & O_NONBLOCK) << "the accepted socket keeps the program's flags";
    int c = client.join();
    ::close(c);
    ::close(s);

    auto client2 = weft::spawn([port] { return connect_tcp(port); });
    int s2 = ::accept4(l, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
    ASSERT_GE(s2, 0);
    EXPECT_TRUE(::fcntl(s2, F_GETFL) & O_NONBLOCK);
    EXPECT_TRUE(::fcntl(s2, F_GETFD) & FD_CLOEXEC);
    char b;
    EXPECT_EQ(::read(s2, &b, 1), -1);
    EXPECT_EQ(errno, EAGAIN);
    ::close(client2.join());
    ::close(s2);
    ::close(l);
  });
}

TEST(Accept, SeveralAcceptorsShareOneListener) {
  weft::run([] {
    int port = 0;
    int l = listen_tcp(&port);
    std::vector<weft::fiber<int>> acceptors;
    for (int i = 0; i < 4; ++i) acceptors.push_back(weft::spawn([l] { return ::accept(l, nullptr, nullptr); }));
    weft::this_fiber::sleep_for(10ms);
    std::vector<int> clients;
    for (int i = 0; i < 4; ++i) clients.push_back(connect_tcp(port));
    for (auto& a : acceptors) {
      int s = a.join();
      EXPECT_GE(s, 0);
      ::close(s);
    }
    for (int c : clients) ::close(c);
    ::close(l);
  });
}

TEST(Accept, SoRcvtimeoGivesEagainLikeTheKernel) {
  int port = 0;
  int l = listen_tcp(&port);
  set_timeo(l, SO_RCVTIMEO, 60);
  EXPECT_EQ(::accept(l, nullptr, nullptr), -1);  // plain thread: the kernel
  EXPECT_EQ(errno, EAGAIN);
  weft::run([&] {
    auto t0 = clock_type::now();
    EXPECT_EQ(::accept(l, nullptr, nullptr), -1);
    EXPECT_EQ(errno, EAGAIN);
    EXPECT_GE(ms_since(t0), 55);
  });
  ::close(l);
}

TEST(Accept, WeftTimeoutCancelCloseAndUserNonblocking) {
  weft::run([] {
    int port = 0;
    int l = listen_tcp(&port);
    {
      weft::timeout t(40ms);
      EXPECT_EQ(::accept(l, nullptr, nullptr), -1);
      EXPECT_EQ(errno, ETIMEDOUT);
    }
    res rc, rb;
    auto f = weft::spawn([&] {
      rc.r = ::accept(l, nullptr, nullptr);
      rc.err = errno;
    });
    weft::this_fiber::sleep_for(20ms);
    cancel_and_join(f);
    EXPECT_EQ(rc.r, -1);
    EXPECT_EQ(rc.err, ECANCELED);

    auto g = weft::spawn([&] {
      rb.r = ::accept(l, nullptr, nullptr);
      rb.err = errno;
    });
    weft::this_fiber::sleep_for(20ms);
    ::close(l);
    g.join();
    EXPECT_EQ(rb.r, -1);
    EXPECT_EQ(rb.err, EBADF);

    int nl = listen_tcp(&port, 16, SOCK_NONBLOCK);
    unsigned long p0 = weft::hooks::parks();
    EXPECT_EQ(::accept(nl, nullptr, nullptr), -1);
    EXPECT_EQ(errno, EAGAIN);
    EXPECT_EQ(weft::hooks::parks(), p0);
    ::close(nl);
  });
}

}  // namespace
