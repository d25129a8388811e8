// tests/faults/faults.hpp — loopback helpers for the fault tests. Every
// test links libweft (so plain socket calls on fibers are hooked).
#pragma once
#include <weft/weft.hpp>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <utility>

namespace weft_faults {

// listen_lo() listens on 127.0.0.1 at a free port (stored in *port).
inline int listen_lo(int* port, int backlog = 4096) {
  *port = 0;
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  int one = 1;
  ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 || ::listen(fd, backlog) != 0) return -1;
  socklen_t len = sizeof a;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  *port = ntohs(a.sin_port);
  return fd;
}

// connect_lo() connects to 127.0.0.1:port; -1 with errno on failure.
inline int connect_lo(int port) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<uint16_t>(port));
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
    int e = errno;
    ::close(fd);
    errno = e;
    return -1;
  }
  return fd;
}

// pair_lo() is a connected loopback pair {client, server}.
inline std::pair<int, int> pair_lo() {
  int port = 0;
  int l = listen_lo(&port);
  int c = connect_lo(port);
  int s = ::accept4(l, nullptr, nullptr, SOCK_CLOEXEC);
  ::close(l);
  return {c, s};
}

// reset_close() closes fd so that its peer gets a RST.
inline void reset_close(int fd) {
  linger l{1, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, sizeof l);
  ::close(fd);
}

// shrink() makes fd's send and peer's receive buffers small, so a writer
// blocks after little data.
inline void shrink(int fd, int peer) {
  int small = 4096;
  ::setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &small, sizeof small);
  ::setsockopt(peer, SOL_SOCKET, SO_RCVBUF, &small, sizeof small);
}

// open_fds() counts this process's open fds.
int open_fds();
// rss_kib() is this process's resident set size.
long rss_kib();

}  // namespace weft_faults
