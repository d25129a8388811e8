// samples/boost_fiber_echo.cpp — a Boost.Fiber echo server on plain
// blocking sockets, in the style of Boost.Fiber's own examples: an
// acceptor fiber, one detached fiber per connection, accept()/read()/
// write() called as if each fiber had its own thread.
//
//   weft-run boost_fiber_echo [--port N] [--sessions N]
//
// Alone, Boost.Fiber would block the whole thread in accept() or read().
// Served by weft (weft-run makes main() a weft fiber and its hooks park
// callers) with the one line marked below, each blocking call suspends only
// its Boost fiber. --sessions N: exit 0 after N connections have closed.
#include <weft/boost_fiber.hpp>

#include <boost/fiber/all.hpp>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace {

// session(fd) echoes until the peer closes. Boost fiber.
void session(int fd, boost::fibers::buffered_channel<int>& ended) {
  char buf[4096];
  for (;;) {
    ssize_t n = read(fd, buf, sizeof buf);
    if (n <= 0) break;
    for (ssize_t off = 0; off < n;) {
      ssize_t w = write(fd, buf + off, static_cast<size_t>(n - off));
      if (w <= 0) goto done;
      off += w;
    }
  }
done:
  close(fd);
  ended.push(fd);
}

// listen_on(port) is a listening loopback socket; prints its port.
int listen_on(int port) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  int one = 1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = htons(static_cast<uint16_t>(port));
  if (bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 || listen(fd, 1024) != 0) {
    std::perror("boost_fiber_echo: bind/listen");
    std::exit(1);
  }
  socklen_t len = sizeof a;
  getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  std::printf("boost_fiber_echo: listening on 127.0.0.1:%d\n", ntohs(a.sin_port));
  std::fflush(stdout);
  return fd;
}

}  // namespace

int main(int argc, char** argv) {
  weft::boost_fiber::host serve_with_weft;  // the one added line: Boost.Fiber on weft's I/O
  int port = 0;
  long sessions = -1;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (!std::strcmp(argv[i], "--port")) port = std::atoi(argv[i + 1]);
    else if (!std::strcmp(argv[i], "--sessions")) sessions = std::atol(argv[i + 1]);
  }
  int lfd = listen_on(port);
  boost::fibers::buffered_channel<int> ended(1024);
  boost::fibers::fiber acceptor([&] {
    for (;;) {
      int fd = accept(lfd, nullptr, nullptr);
      if (fd < 0) return;
      boost::fibers::fiber(session, fd, std::ref(ended)).detach();
    }
  });
  acceptor.detach();
  for (long done = 0; sessions < 0 || done < sessions; ++done) {
    int fd;
    if (ended.pop(fd) != boost::fibers::channel_op_status::success) break;
  }
  close(lfd);  // the acceptor's accept() ends (EBADF) and it returns
  std::printf("boost_fiber_echo: %ld sessions served\n", sessions);
  return 0;
}
