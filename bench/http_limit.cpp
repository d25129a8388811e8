// bench/http_limit.cpp — the HTTP limit: a minimal single-threaded epoll
// server answering every request with a fixed 13-byte body, keep-alive.
// A request ends at the first blank line ("\r\n\r\n"; bodies are not
// supported). Level-triggered EPOLLIN; one read and one write per batch of
// requests. A header block over 8 KiB closes the connection.
// Usage: http_limit --port N
#include "net_common.hpp"

#include <sys/epoll.h>

#include <string>
#include <vector>

namespace {

const char* const usage = "http_limit --port N";
const char response[] =
    "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 13\r\n\r\nHello, World!";
constexpr std::size_t max_header = 8192;

int ep;
std::vector<std::string*> partial;  // by fd: the unfinished request bytes

// drop() closes a connection.
void drop(int fd) {
  delete partial[fd];
  partial[fd] = nullptr;
  ::close(fd);
}

// on_readable() answers every complete request in what arrived.
void on_readable(int fd) {
  static char buf[65536];
  ssize_t n = ::read(fd, buf, sizeof buf);
  if (n <= 0) {
    if (n < 0 && errno == EAGAIN) return;
    return drop(fd);
  }
  std::string& p = *partial[fd];
  p.append(buf, static_cast<std::size_t>(n));
  std::string out;
  std::size_t pos = 0, end;
  while ((end = p.find("\r\n\r\n", pos)) != std::string::npos) {
    out.append(response, sizeof response - 1);
    pos = end + 4;
  }
  p.erase(0, pos);
  if (p.size() > max_header) return drop(fd);
  if (!out.empty() && ::write(fd, out.data(), out.size()) != static_cast<ssize_t>(out.size())) drop(fd);
}

}  // namespace

int main(int argc, char** argv) {
  int lfd;
  ep = bench::epoll_server_setup(argc, argv, usage, "http_limit", &lfd);
  epoll_event e{};
  epoll_event ev[512];
  for (;;) {
    int n = ::epoll_wait(ep, ev, 512, -1);
    if (n < 0 && errno != EINTR) bench::die("epoll_wait");
    for (int i = 0; i < n; ++i) {
      int fd = ev[i].data.fd;
      if (fd != lfd) {
        if (static_cast<std::size_t>(fd) < partial.size() && partial[fd]) on_readable(fd);
        continue;
      }
      int c;
      while ((c = ::accept4(lfd, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC)) >= 0) {
        if (static_cast<std::size_t>(c) >= partial.size()) partial.resize(c + 1024, nullptr);
        partial[c] = new std::string;
        e.events = EPOLLIN;
        e.data.fd = c;
        if (::epoll_ctl(ep, EPOLL_CTL_ADD, c, &e) != 0) bench::die("epoll_ctl");
      }
    }
  }
}
