// tests/test_io.cpp — wait_io / wait_io_for / close_fd on pipes, socket
// pairs and loopback TCP with non-blocking sockets.
#include "helpers.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstring>
#include <string>
#include <system_error>
#include <thread>
#include <vector>

using namespace weft_test;
using weft::io_event;

namespace {
// A non-blocking AF_UNIX stream socket pair. Any thread.
struct sockpair {
  int fd[2] = {-1, -1};
  sockpair() {
    if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, fd) != 0)
      throw std::system_error(errno, std::generic_category(), "socketpair");
  }
  ~sockpair() {
    for (int f : fd)
      if (f >= 0) weft::close_fd(f);
  }
};

// fill(fd): writes until the socket buffer is full (EAGAIN); returns bytes.
std::size_t fill(int fd) {
  static char junk[65536];
  std::size_t total = 0;
  for (;;) {
    ssize_t n = ::send(fd, junk, sizeof junk, MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n > 0) {
      total += static_cast<std::size_t>(n);
      continue;
    }
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return total;
    throw std::system_error(errno, std::generic_category(), "send");
  }
}

// drain(fd): reads until EAGAIN; returns bytes read.
std::size_t drain(int fd) {
  static char buf[65536];
  std::size_t total = 0;
  for (;;) {
    ssize_t n = ::recv(fd, buf, sizeof buf, MSG_DONTWAIT);
    if (n > 0) {
      total += static_cast<std::size_t>(n);
      continue;
    }
    return total;
  }
}

// write_all / read_all: loop over a non-blocking socket, parking in wait_io
// on EAGAIN. read_all is false at EOF. Fiber or thread.
void write_all(int fd, const void* p, std::size_t n) {
  const char* c = static_cast<const char*>(p);
  while (n > 0) {
    ssize_t w = ::send(fd, c, n, MSG_NOSIGNAL);
    if (w > 0) {
      c += w;
      n -= static_cast<std::size_t>(w);
    } else if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      weft::wait_io(fd, io_event::writable);
    } else if (!(w < 0 && errno == EINTR)) {
      throw std::system_error(errno, std::generic_category(), "send");
    }
  }
}
bool read_all(int fd, void* p, std::size_t n) {
  char* c = static_cast<char*>(p);
  while (n > 0) {
    ssize_t r = ::recv(fd, c, n, 0);
    if (r > 0) {
      c += r;
      n -= static_cast<std::size_t>(r);
    } else if (r == 0) {
      return false;
    } else if (errno == EAGAIN || errno == EWOULDBLOCK) {
      weft::wait_io(fd, io_event::readable);
    } else if (errno != EINTR) {
      throw std::system_error(errno, std::generic_category(), "recv");
    }
  }
  return true;
}

// listen_loopback(port): a non-blocking listening socket on 127.0.0.1.
int listen_loopback(std::uint16_t& port) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) throw std::system_error(errno, std::generic_category(), "socket");
  int one = 1;
  ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = 0;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 || ::listen(fd, 256) != 0)
    throw std::system_error(errno, std::generic_category(), "bind/listen");
  socklen_t len = sizeof a;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  port = ntohs(a.sin_port);
  return fd;
}

// accept_one(lfd): accepts a connection, parking on EAGAIN.
int accept_one(int lfd) {
  for (;;) {
    int c = ::accept4(lfd, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (c >= 0) return c;
    if (errno == EAGAIN || errno == EWOULDBLOCK) weft::wait_io(lfd, io_event::readable);
    else if (errno != EINTR && errno != ECONNABORTED)
      throw std::system_error(errno, std::generic_category(), "accept4");
  }
}

// connect_loopback(port): a non-blocking connect that parks until done.
int connect_loopback(std::uint16_t port) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) throw std::system_error(errno, std::generic_category(), "socket");
  int one = 1;
  ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = htons(port);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
    if (errno != EINPROGRESS) throw std::system_error(errno, std::generic_category(), "connect");
    weft::wait_io(fd, io_event::writable);
    int err = 0;
    socklen_t len = sizeof err;
    ::getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len);
    if (err != 0) throw std::system_error(err, std::generic_category(), "connect");
  }
  return fd;
}
}  // namespace

// A reader parks until the peer writes, then the data is there.
TEST(Io, ReadableAfterPeerWrites) {
  weft::run([] {
    sockpair sp;
    bool woke = false;
    auto r = weft::spawn([&] {
      weft::wait_io(sp.fd[0], io_event::readable);
      woke = true;
      char c = 0;
      EXPECT_EQ(::read(sp.fd[0], &c, 1), 1);
      EXPECT_EQ(c, 'x');
    });
    settle();
    weft::this_fiber::sleep_for(20ms);
    EXPECT_FALSE(woke);
    ASSERT_EQ(::write(sp.fd[1], "x", 1), 1);
    r.join();
    EXPECT_TRUE(woke);
  });
}

// The same fd is waited on again and again (readiness re-arms each time).
TEST(Io, RepeatedWaitsOnOneFd) {
  weft::run([] {
    sockpair sp;
    auto writer = weft::spawn([&] {
      for (int i = 0; i < 200; ++i) {
        weft::this_fiber::yield();
        char c = static_cast<char>(i);
        ASSERT_EQ(::write(sp.fd[1], &c, 1), 1);
      }
    });
    for (int i = 0; i < 200; ++i) {
      char c = 0;
      ASSERT_TRUE(read_all(sp.fd[0], &c, 1));
      ASSERT_EQ(c, static_cast<char>(i));
    }
    writer.join();
  });
}

// A writer blocked on a full socket wakes when the peer drains it; a reader
// and a writer wait on the same fd for different events.
TEST(Io, ReaderAndWriterOnSameFd) {
  weft::run([] {
    sockpair sp;
    ASSERT_GT(fill(sp.fd[0]), 0u);
    bool readable = false, writable = false;
    auto w = weft::spawn([&] {
      weft::wait_io(sp.fd[0], io_event::writable);
      writable = true;
    });
    auto r = weft::spawn([&] {
      weft::wait_io(sp.fd[0], io_event::readable);
      readable = true;
    });
    settle();
    weft::this_fiber::sleep_for(20ms);
    EXPECT_FALSE(readable);
    EXPECT_FALSE(writable);
    ASSERT_EQ(::write(sp.fd[1], "y", 1), 1);
    r.join();
    EXPECT_TRUE(readable);
    weft::this_fiber::sleep_for(20ms);
    EXPECT_FALSE(writable);  // still full
    EXPECT_GT(drain(sp.fd[1]), 0u);
    w.join();
    EXPECT_TRUE(writable);
  });
}

// wait_io_for: true at once when ready, false after the time when not.
TEST(Io, WaitIoFor) {
  weft::run([] {
    sockpair sp;
    auto t0 = steady::now();
    EXPECT_TRUE(weft::wait_io_for(sp.fd[0], io_event::writable, 10s));
    EXPECT_LT(elapsed_ms(t0), 1000.0);
    t0 = steady::now();
    EXPECT_FALSE(weft::wait_io_for(sp.fd[0], io_event::readable, 40ms));
    double ms = elapsed_ms(t0);
    EXPECT_GE(ms, 40.0);
    EXPECT_LT(ms, 2000.0);
    ASSERT_EQ(::write(sp.fd[1], "z", 1), 1);
    EXPECT_TRUE(weft::wait_io_for(sp.fd[0], io_event::readable, 10s));
  });
}

// close_fd() from another fiber wakes a waiter with system_error(EBADF),
// returns close()'s result and really closes the fd.
TEST(Io, CloseFdWakesWaiterWithEbadf) {
  weft::run([] {
    sockpair sp;
    int fd = sp.fd[0];
    int err = 0;
    auto w = weft::spawn([&] {
      try {
        weft::wait_io(fd, io_event::readable);
        ADD_FAILURE() << "wait_io returned";
      } catch (const std::system_error& e) {
        err = e.code().value();
        EXPECT_TRUE(e.code() == std::errc::bad_file_descriptor) << e.code().message();
      }
    });
    settle();
    EXPECT_EQ(weft::close_fd(fd), 0);
    sp.fd[0] = -1;
    EXPECT_EQ(::fcntl(fd, F_GETFD), -1);
    w.join();
    EXPECT_EQ(err, EBADF);
  });
}

// close_fd() wakes every waiter on the fd, whatever event it waits for.
TEST(Io, CloseFdWakesAllWaiters) {
  weft::run([] {
    sockpair sp;
    int fd = sp.fd[0];
    fill(fd);
    int ebadf = 0;
    auto waiter = [&](io_event ev) {
      return [&, ev] {
        try {
          weft::wait_io(fd, ev);
        } catch (const std::system_error& e) {
          if (e.code().value() == EBADF) ++ebadf;
        }
      };
    };
    auto a = weft::spawn(waiter(io_event::readable));
    auto b = weft::spawn(waiter(io_event::readable));
    auto c = weft::spawn(waiter(io_event::writable));
    settle();
    EXPECT_EQ(weft::close_fd(fd), 0);
    sp.fd[0] = -1;
    a.join();
    b.join();
    c.join();
    EXPECT_EQ(ebadf, 3);
  });
}

// A pipe's read end turns readable at EOF when the write end is closed.
TEST(Io, PipeEofIsReadable) {
  weft::run([] {
    int p[2];
    ASSERT_EQ(::pipe2(p, O_NONBLOCK | O_CLOEXEC), 0);
    auto r = weft::spawn([&] {
      weft::wait_io(p[0], io_event::readable);
      char c;
      return ::read(p[0], &c, 1);
    });
    settle();
    EXPECT_FALSE(r.done());
    EXPECT_EQ(weft::close_fd(p[1]), 0);
    EXPECT_EQ(r.join(), 0);
    weft::close_fd(p[0]);
  });
}

// The peer may be a plain thread: its write wakes the parked fiber.
TEST(Io, WrittenByOtherThread) {
  weft::run([] {
    sockpair sp;
    std::thread t([&] {
      std::this_thread::sleep_for(20ms);
      (void)!::write(sp.fd[1], "q", 1);
    });
    char c = 0;
    EXPECT_TRUE(read_all(sp.fd[0], &c, 1));
    EXPECT_EQ(c, 'q');
    t.join();
  });
}

// On a plain thread wait_io blocks in poll(2); wait_io_for times out.
TEST(Io, OnPlainThread) {
  sockpair sp;
  auto t0 = steady::now();
  EXPECT_FALSE(weft::wait_io_for(sp.fd[0], io_event::readable, 30ms));
  EXPECT_GE(elapsed_ms(t0), 30.0);
  std::thread t([&] {
    std::this_thread::sleep_for(20ms);
    (void)!::write(sp.fd[1], "p", 1);
  });
  weft::wait_io(sp.fd[0], io_event::readable);
  char c = 0;
  EXPECT_EQ(::read(sp.fd[0], &c, 1), 1);
  EXPECT_EQ(c, 'p');
  t.join();
  for (int& f : sp.fd) {  // no scheduler here: plain close
    ::close(f);
    f = -1;
  }
}

// Many fibers ping-pong 4-byte counters over loopback TCP: one acceptor,
// one handler fiber per connection, all on one scheduler.
TEST(Io, TcpPingPongManyFibers) {
  constexpr int kClients = 20, kRounds = 200;
  long total = weft::run([] {
    std::uint16_t port = 0;
    int lfd = listen_loopback(port);
    std::vector<weft::fiber<>> handlers;
    auto acceptor = weft::spawn([&] {
      for (int i = 0; i < kClients; ++i) {
        int c = accept_one(lfd);
        handlers.push_back(weft::spawn([c] {
          std::uint32_t v;
          while (read_all(c, &v, sizeof v)) {
            ++v;
            write_all(c, &v, sizeof v);
          }
          weft::close_fd(c);
        }));
      }
    });
    std::vector<weft::fiber<long>> clients;
    for (int i = 0; i < kClients; ++i)
      clients.push_back(weft::spawn([port, i] {
        int fd = connect_loopback(port);
        long sum = 0;
        for (std::uint32_t k = 0; k < kRounds; ++k) {
          std::uint32_t v = static_cast<std::uint32_t>(i) * 100000 + k;
          write_all(fd, &v, sizeof v);
          std::uint32_t back = 0;
          if (!read_all(fd, &back, sizeof back)) {
            ADD_FAILURE() << "EOF from server";
            break;
          }
          EXPECT_EQ(back, v + 1);
          sum += 1;
        }
        weft::close_fd(fd);
        return sum;
      }));
    long total = 0;
    for (auto& c : clients) total += c.join();
    acceptor.join();
    for (auto& h : handlers) h.join();
    weft::close_fd(lfd);
    return total;
  });
  EXPECT_EQ(total, long{kClients} * kRounds);
}

// Two schedulers talk over TCP: server on one run() thread, client on another.
TEST(Io, TcpAcrossTwoSchedulers) {
  std::uint16_t port = 0;
  int lfd = listen_loopback(port);
  std::thread server([&] {
    weft::run([&] {
      int c = accept_one(lfd);
      char buf[64];
      while (true) {
        ssize_t n = ::recv(c, buf, sizeof buf, 0);
        if (n > 0) {
          write_all(c, buf, static_cast<std::size_t>(n));
        } else if (n == 0) {
          break;
        } else if (errno == EAGAIN) {
          weft::wait_io(c, io_event::readable);
        } else {
          ADD_FAILURE() << "recv: " << std::strerror(errno);
          break;
        }
      }
      weft::close_fd(c);
    });
  });
  std::string echoed;
  std::thread client([&] {
    weft::run([&] {
      int fd = connect_loopback(port);
      const std::string msg = "hello across schedulers";
      for (int i = 0; i < 50; ++i) {
        write_all(fd, msg.data(), msg.size());
        std::string back(msg.size(), '\0');
        ASSERT_TRUE(read_all(fd, back.data(), back.size()));
        echoed = back;
      }
      weft::close_fd(fd);
    });
  });
  client.join();
  server.join();
  ::close(lfd);
  EXPECT_EQ(echoed, "hello across schedulers");
}
