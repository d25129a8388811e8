// tests/hooks/hooks_test.hpp — helpers for the linked-mode hook tests:
// loopback sockets, the real O_NONBLOCK flag, elapsed time, buffer filling.
// Every test binary links weft_hooks_dep, so plain calls below are hooked.
#pragma once
#include "watchdog.hpp"

#include <weft/weft.hpp>

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <cerrno>
#include <chrono>
#include <thread>
#include <utility>

namespace weft::hooks {
unsigned long parks() noexcept;  // hooks/hook_core.hpp: fiber parks so far
}

namespace hooks_test {

using namespace std::chrono_literals;
using clock_type = std::chrono::steady_clock;

// Ignore SIGPIPE once per process: peers that go away must give EPIPE.
inline const bool sigpipe_ignored = [] {
  ::signal(SIGPIPE, SIG_IGN);
  return true;
}();

// ms_since() is the time since t0 in milliseconds.
inline long ms_since(clock_type::time_point t0) {
  return static_cast<long>(std::chrono::duration_cast<std::chrono::milliseconds>(clock_type::now() - t0).count());
}

// real_flags() reads F_GETFL from the kernel, bypassing the fcntl hook.
inline int real_flags(int fd) { return static_cast<int>(::syscall(SYS_fcntl, fd, F_GETFL)); }

inline sockaddr_in loopback(int port) {
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<uint16_t>(port));
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  return a;
}

// listen_tcp() makes a listening socket on 127.0.0.1 (a free port, stored
// in *port). `flags` is added to the socket type (SOCK_NONBLOCK...).
inline int listen_tcp(int* port, int backlog = 128, int flags = 0) {
  *port = 0;
  int fd = ::socket(AF_INET, SOCK_STREAM | flags, 0);
  int one = 1;
  ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in a = loopback(0);
  if (::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 || ::listen(fd, backlog) != 0) return -1;
  socklen_t len = sizeof a;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  *port = ntohs(a.sin_port);
  return fd;
}

// connect_tcp() connects to 127.0.0.1:port (-1 on error, errno kept); with
// SOCK_NONBLOCK in flags it waits for the connection with poll().
inline int connect_tcp(int port, int flags = 0) {
  int fd = ::socket(AF_INET, SOCK_STREAM | flags, 0);
  sockaddr_in a = loopback(port);
  int r = ::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
  if (r != 0 && errno == EINPROGRESS) {
    pollfd p{fd, POLLOUT, 0};
    int err = ETIMEDOUT;
    socklen_t len = sizeof err;
    if (::poll(&p, 1, 5000) == 1) ::getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len);
    errno = err;
    r = err ? -1 : 0;
  }
  if (r != 0) {
    int e = errno;
    ::close(fd);
    errno = e;
    return -1;
  }
  return fd;
}

// tcp_pair() returns a connected loopback pair {client, server}.
inline std::pair<int, int> tcp_pair(int client_flags = 0, int server_flags = 0) {
  int port = 0;
  int l = listen_tcp(&port);
  int c = connect_tcp(port, client_flags);
  int s = ::accept4(l, nullptr, nullptr, server_flags);
  ::close(l);
  return {c, s};
}

// fill() sends without blocking until fd's send path is full; shrinks the
// buffers first so that takes little data. Returns the bytes queued.
inline long fill(int fd, int peer) {
  int small = 4096;
  ::setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &small, sizeof small);
  ::setsockopt(peer, SOL_SOCKET, SO_RCVBUF, &small, sizeof small);
  static char junk[65536];
  long total = 0;
  for (;;) {
    ssize_t n = ::send(fd, junk, sizeof junk, MSG_DONTWAIT);
    if (n < 0) break;
    total += n;
  }
  return total;
}

// set_timeo() sets SO_RCVTIMEO or SO_SNDTIMEO in milliseconds.
inline void set_timeo(int fd, int opt, long ms) {
  timeval tv{ms / 1000, (ms % 1000) * 1000};
  ::setsockopt(fd, SOL_SOCKET, opt, &tv, sizeof tv);
}

// reset_close() closes fd so that the peer gets a RST.
inline void reset_close(int fd) {
  linger l{1, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, sizeof l);
  ::close(fd);
}

// result of one hooked call: return value and errno.
struct res {
  long r = -2;
  int err = 0;
};

// on_thread() runs fn on a plain OS thread (where the hooks pass through)
// and returns its result and errno, to compare with the fiber path.
template <class F>
res on_thread(F fn) {
  res out;
  std::thread([&] {
    out.r = fn();
    out.err = errno;
  }).join();
  return out;
}

// cancel_and_join() cancels f and waits for it to end; the weft::cancelled
// it ends with is expected and swallowed.
inline void cancel_and_join(weft::fiber<>& f) {
  f.cancel();
  try {
    f.join();
  } catch (const weft::cancelled&) {
  }
}

// cpu_ms() is the CPU time the calling thread used so far.
inline long cpu_ms() {
  rusage ru{};
  ::getrusage(RUSAGE_THREAD, &ru);
  return (ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1000 + (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1000;
}

}  // namespace hooks_test
