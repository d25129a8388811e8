// bench/echo_limit.cpp — the limit: a minimal single-threaded epoll callback
// echo server, no fibers. Level-triggered EPOLLIN per connection: one
// epoll_wait returns many ready connections, each costs one read and one
// write, so a round trip is 2 syscalls plus a share of an epoll_wait. A write
// that does not complete (never seen with ping-pong load) switches that
// connection to EPOLLOUT until its pending bytes are out.
// Usage: echo_limit --port N
#include "net_common.hpp"

#include <sys/epoll.h>

#include <vector>

namespace {

const char* const usage = "echo_limit --port N";

// conn: the bytes of one connection that the kernel has not taken yet.
struct conn {
  std::vector<char> pending;
};

int ep;
std::vector<conn*> conns;  // by fd

// arm() sets the events epoll watches on fd.
void arm(int fd, int op, std::uint32_t events) {
  epoll_event e{};
  e.events = events;
  e.data.fd = fd;
  if (::epoll_ctl(ep, op, fd, &e) != 0) bench::die("epoll_ctl");
}

// drop() closes a connection.
void drop(int fd) {
  delete conns[fd];
  conns[fd] = nullptr;
  ::close(fd);
}

// send_all() writes buf, keeping what the kernel refused; false on error.
bool send_all(int fd, const char* buf, std::size_t n) {
  conn* c = conns[fd];
  if (!c->pending.empty()) {
    c->pending.insert(c->pending.end(), buf, buf + n);
    return true;
  }
  ssize_t w = ::write(fd, buf, n);
  if (w < 0 && errno != EAGAIN) return false;
  std::size_t done = w < 0 ? 0 : static_cast<std::size_t>(w);
  if (done < n) {
    c->pending.assign(buf + done, buf + n);
    arm(fd, EPOLL_CTL_MOD, EPOLLOUT);
  }
  return true;
}

// on_writable() flushes pending bytes, then goes back to reading.
void on_writable(int fd) {
  conn* c = conns[fd];
  ssize_t w = ::write(fd, c->pending.data(), c->pending.size());
  if (w < 0 && errno != EAGAIN) return drop(fd);
  if (w > 0) c->pending.erase(c->pending.begin(), c->pending.begin() + w);
  if (c->pending.empty()) arm(fd, EPOLL_CTL_MOD, EPOLLIN);
}

// on_readable() echoes what is there.
void on_readable(int fd) {
  static char buf[65536];
  ssize_t n = ::read(fd, buf, sizeof buf);
  if (n > 0) {
    if (!send_all(fd, buf, static_cast<std::size_t>(n))) drop(fd);
  } else if (n == 0 || errno != EAGAIN) {
    drop(fd);
  }
}

// on_accept() takes every pending connection.
void on_accept(int lfd) {
  for (;;) {
    int fd = ::accept4(lfd, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) return;
    bench::set_nodelay(fd);
    if (static_cast<std::size_t>(fd) >= conns.size()) conns.resize(fd + 1024, nullptr);
    conns[fd] = new conn;
    arm(fd, EPOLL_CTL_ADD, EPOLLIN);
  }
}

}  // namespace

int main(int argc, char** argv) {
  int lfd;
  ep = bench::epoll_server_setup(argc, argv, usage, "echo_limit", &lfd);
  epoll_event ev[512];
  for (;;) {
    int n = ::epoll_wait(ep, ev, 512, -1);
    if (n < 0 && errno != EINTR) bench::die("epoll_wait");
    for (int i = 0; i < n; ++i) {
      int fd = ev[i].data.fd;
      if (fd == lfd) on_accept(lfd);
      else if (!conns[fd]) continue;
      else if (ev[i].events & EPOLLOUT) on_writable(fd);
      else on_readable(fd);
    }
  }
}
