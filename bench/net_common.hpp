// bench/net_common.hpp — helpers shared by the I/O benchmark programs
// (echo_limit, echo_weft_api, http_limit, loadgen, dns_bench): flag parsing,
// the listening socket, and raising RLIMIT_NOFILE. Header-only; callable from
// any thread, before or inside weft::run.
#pragma once
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <string_view>

namespace bench {

// die() prints "prog: what: strerror(errno)" and exits 1 (bad input, failed setup).
[[noreturn]] inline void die(const char* what) {
  std::fprintf(stderr, "bench: %s: %s\n", what, std::strerror(errno));
  std::exit(1);
}

// usage_exit() prints a usage message and exits 2.
[[noreturn]] inline void usage_exit(const char* usage) {
  std::fprintf(stderr, "usage: %s\n", usage);
  std::exit(2);
}

// flag() reads "--name V" or "--name=V" at argv[i] into out, advancing i;
// false if argv[i] is not that flag. Exits with the usage on a missing value.
inline bool flag(int argc, char** argv, int& i, std::string_view name, std::string& out, const char* usage) {
  std::string_view a = argv[i];
  if (a.substr(0, name.size()) != name) return false;
  if (a.size() == name.size()) {
    if (i + 1 >= argc) usage_exit(usage);
    out = argv[++i];
    return true;
  }
  if (a[name.size()] != '=') return false;
  out = std::string(a.substr(name.size() + 1));
  return true;
}

// to_long() parses a whole decimal number in [lo, hi]; exits with the usage otherwise.
inline long to_long(const std::string& s, long lo, long hi, const char* usage) {
  char* end = nullptr;
  errno = 0;
  long v = std::strtol(s.c_str(), &end, 10);
  if (s.empty() || *end != '\0' || errno != 0 || v < lo || v > hi) usage_exit(usage);
  return v;
}

// to_double() parses a whole number of seconds in [lo, hi]; exits with the usage otherwise.
inline double to_double(const std::string& s, double lo, double hi, const char* usage) {
  char* end = nullptr;
  double v = std::strtod(s.c_str(), &end);
  if (s.empty() || *end != '\0' || !(v >= lo && v <= hi)) usage_exit(usage);
  return v;
}

// raise_nofile() lifts the soft RLIMIT_NOFILE to the hard limit; returns it.
inline long raise_nofile() {
  rlimit r{};
  if (::getrlimit(RLIMIT_NOFILE, &r) != 0) die("getrlimit");
  r.rlim_cur = r.rlim_max;
  if (::setrlimit(RLIMIT_NOFILE, &r) != 0) die("setrlimit");
  return static_cast<long>(r.rlim_cur);
}

// listen_on() opens a TCP listener on 127.0.0.1:port (SO_REUSEADDR, backlog
// SOMAXCONN); non-blocking when asked. Exits on failure.
inline int listen_on(int port, bool nonblocking) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | (nonblocking ? SOCK_NONBLOCK : 0), 0);
  if (fd < 0) die("socket");
  int one = 1;
  ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<std::uint16_t>(port));
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) die("bind");
  if (::listen(fd, SOMAXCONN) != 0) die("listen");
  return fd;
}

// set_nodelay() turns Nagle off on a connected TCP socket (ping-pong traffic).
inline void set_nodelay(int fd) {
  int one = 1;
  ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
}

// exit_on_sigterm() makes SIGTERM and SIGINT end the process with _exit(0),
// so profilers (callgrind, strace -c) see a normal exit and write their data.
inline void exit_on_sigterm() {
  struct sigaction sa {};
  sa.sa_handler = [](int) { ::_exit(0); };
  ::sigaction(SIGTERM, &sa, nullptr);
  ::sigaction(SIGINT, &sa, nullptr);
}

// announce() prints the one "listening" line the scripts wait for.
inline void announce(const char* name, int port) {
  std::printf("%s listening on 127.0.0.1:%d\n", name, port);
  std::fflush(stdout);
}

// epoll_server_setup() is the start of the epoll limit servers (echo_limit,
// http_limit), whose only flag is --port: parses it, raises RLIMIT_NOFILE,
// exits on SIGTERM, listens (non-blocking) and prints the listening line.
// Returns the epoll fd with the listener in it (EPOLLIN, data.fd = listener);
// *lfd gets the listener.
inline int epoll_server_setup(int argc, char** argv, const char* usage, const char* name, int* lfd) {
  long port = -1;
  for (int i = 1; i < argc; ++i) {
    std::string v;
    if (flag(argc, argv, i, "--port", v, usage)) port = to_long(v, 0, 65535, usage);
    else usage_exit(usage);
  }
  if (port < 0) usage_exit(usage);
  raise_nofile();
  exit_on_sigterm();
  *lfd = listen_on(static_cast<int>(port), true);
  int ep = ::epoll_create1(EPOLL_CLOEXEC);
  if (ep < 0) die("epoll_create1");
  epoll_event e{};
  e.events = EPOLLIN;
  e.data.fd = *lfd;
  if (::epoll_ctl(ep, EPOLL_CTL_ADD, *lfd, &e) != 0) die("epoll_ctl");
  announce(name, static_cast<int>(port));
  return ep;
}


}  // namespace bench
