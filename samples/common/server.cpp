// samples/common/server.cpp — listen, accept loop, signal stop (see server.hpp).
#include "server.hpp"

#include "io.hpp"

#include <weft/weft.hpp>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <memory>

namespace samples {
namespace {

// install_stop(lfd) starts the fiber that closes lfd at the first
// SIGINT/SIGTERM; the returned channel keeps both caught until the server
// is done (a second signal during the drain is then ignored). Fiber only.
std::shared_ptr<weft::signal_channel> install_stop(int lfd) {
  auto sigs = std::make_shared<weft::signal_channel>(std::initializer_list<int>{SIGINT, SIGTERM});
  weft::spawn(weft::spawn_options{.name = "stop"}, [sigs, lfd] {
    // Parks until a signal arrives: weft::cancelled when the process ends
    // some other way.
    if (sigs->recv()) ::close(lfd);  // wakes accept() with EBADF
  }).detach();
  return sigs;
}

}  // namespace

int listen_on(const char* name, const std::string& host, long port) {
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  if (::inet_pton(AF_INET, host.c_str(), &addr.sin_addr) != 1) {
    std::fprintf(stderr, "%s: not an IPv4 address: %s\n", name, host.c_str());
    std::exit(1);
  }
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  int one = 1;
  ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  socklen_t len = sizeof addr;
  if (fd < 0 || ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) < 0 ||
      ::listen(fd, SOMAXCONN) < 0 || ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) < 0) {
    std::fprintf(stderr, "%s: cannot listen on %s:%ld: %s\n", name, host.c_str(), port, std::strerror(errno));
    std::exit(1);
  }
  std::printf("%s: listening on %s:%u\n", name, host.c_str(), ntohs(addr.sin_port));
  std::fflush(stdout);
  return fd;
}

void serve(const char* name, int lfd, long drain_ms, const std::function<void(int)>& conn) {
  std::signal(SIGPIPE, SIG_IGN);  // a peer that went away is an EPIPE, not a death
  std::shared_ptr<weft::signal_channel> stop = install_stop(lfd);
  weft::group conns;
  for (;;) {
    int fd = ::accept4(lfd, nullptr, nullptr, SOCK_CLOEXEC);  // parks this fiber, not the thread
    if (fd < 0) {
      if (errno == EBADF) break;  // the stop fiber closed the listener
      if (errno == EINTR || errno == ECONNABORTED) continue;
      std::fprintf(stderr, "%s: accept: %s\n", name, std::strerror(errno));
      ::usleep(10000);  // EMFILE and friends: back off (a fiber sleep) rather than spin
      continue;
    }
    int one = 1;
    ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    conns.spawn([fd, &conn] {
      struct closer {  // closes fd however conn ends (also by weft::cancelled)
        int fd;
        ~closer() { ::close(fd); }
      } c{fd};
      conn(fd);
    });
  }
  std::printf("%s: stopping; waiting up to %ld ms for %zu connection(s)\n", name, drain_ms, conns.size());
  std::fflush(stdout);
  try {
    weft::timeout limit{std::chrono::milliseconds(drain_ms)};
    conns.wait();
  } catch (const weft::timed_out&) {
    std::printf("%s: drain deadline passed; closing %zu connection(s)\n", name, conns.size());
  }
  conns.cancel();  // ~group waits for the cancelled ones
}

weft::config run_config(long workers) {
  weft::config c;
  c.workers = static_cast<unsigned>(workers);
  return c;
}

server_flags read_server_flags(args& a) {
  server_flags f;
  f.port = a.num("port", 0, 0, 65535);
  f.host = a.str("host", "127.0.0.1");
  f.workers = a.num("workers", 1, 1, 1024);
  f.drain_ms = a.num("drain-ms", 2000, 0, 3600 * 1000);
  return f;
}

int run_server(const char* name, const server_flags& f, const std::function<void(int)>& conn,
               const std::function<void()>& before) {
  // A fiber per connection makes 10,000 connections cheap; let the fd limit
  // allow them too (the soft limit is often 1,024, the hard one far more).
  rlimit fds{};
  if (::getrlimit(RLIMIT_NOFILE, &fds) == 0 && fds.rlim_cur < fds.rlim_max) {
    fds.rlim_cur = fds.rlim_max;
    ::setrlimit(RLIMIT_NOFILE, &fds);
  }
  try {
    weft::run(run_config(f.workers), [&] {
      if (before) before();
      serve(name, listen_on(name, f.host, f.port), f.drain_ms, conn);
    });
  } catch (const std::exception& e) {
    std::fprintf(stderr, "%s: %s\n", name, e.what());
    return 1;
  }
  std::printf("%s: stopped\n", name);
  return 0;
}

long os_threads() {
  std::ifstream f("/proc/self/status");
  std::string key;
  while (f >> key) {
    if (key == "Threads:") {
      long n = -1;
      f >> n;
      return n;
    }
    f.ignore(1 << 16, '\n');
  }
  return -1;
}

}  // namespace samples
