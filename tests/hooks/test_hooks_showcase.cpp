// tests/hooks/test_hooks_showcase.cpp — the point of the hooks: 200 fibers
// run plain blocking client code (socket, connect, write, read, usleep,
// close) against a server that answers each request after 50 ms, and all
// of them finish in about one delay, not 200 (10 s).
#include "hooks_test.hpp"

#include <cstring>
#include <thread>
#include <vector>

using namespace hooks_test;

namespace {

// client() is ordinary blocking socket code, unaware of fibers.
bool client(int port) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a = loopback(port);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) return ::close(fd), false;
  bool ok = ::write(fd, "ping", 4) == 4;
  char buf[8] = {};
  ok = ok && ::read(fd, buf, sizeof buf) == 4 && std::memcmp(buf, "pong", 4) == 0;
  ok = ok && ::usleep(10000) == 0;
  ::close(fd);
  return ok;
}

// serve() answers "ping" with "pong" after 50 ms, one fiber per connection,
// in its own thread's weft::run; "quit" closes the listener, which wakes the
// accepting fiber with EBADF and ends the loop.
void serve(int l) {
  weft::run([l] {
    for (;;) {
      int s = ::accept(l, nullptr, nullptr);
      if (s < 0) break;
      weft::spawn([s, l] {
        char buf[8] = {};
        ssize_t n = ::read(s, buf, sizeof buf);
        if (n == 4 && std::memcmp(buf, "quit", 4) == 0) {
          ::close(l);
        } else {
          ::usleep(50000);
          (void)!::write(s, "pong", 4);
        }
        ::close(s);
      }).detach();
    }
  });
}

TEST(Showcase, TwoHundredBlockingClientsFinishInAboutOneDelay) {
  int port = 0;
  int l = listen_tcp(&port, 1024);
  ASSERT_GE(l, 0);
  std::thread server(serve, l);

  int ok = 0;
  auto t0 = clock_type::now();
  weft::run([&] {
    std::vector<weft::fiber<bool>> clients;
    for (int i = 0; i < 200; ++i) clients.push_back(weft::spawn([port] { return client(port); }));
    for (auto& c : clients) ok += c.join() ? 1 : 0;
  });
  long ms = ms_since(t0);
  EXPECT_EQ(ok, 200);
  EXPECT_GE(ms, 60) << "each client waits 50 ms for the server and sleeps 10 ms";
  EXPECT_LT(ms, 1000) << "200 clients took " << ms << " ms: they did not overlap";
  std::printf("200 blocking clients, 50 ms server delay + 10 ms usleep each: %ld ms\n", ms);

  int q = connect_tcp(port);
  ASSERT_GE(q, 0);
  EXPECT_EQ(::write(q, "quit", 4), 4);
  server.join();
  ::close(q);
}

}  // namespace
