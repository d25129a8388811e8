// tests/threads/loadgen.cpp — an epoll load generator for echo servers:
// opens N TCP connections to 127.0.0.1:PORT (at most 256 connects in
// flight, so the listen backlog never overflows), then every connection
// plays ping-pong with SIZE-byte messages, each reply checked byte for byte.
//
//   loadgen --port P --conns N [--size 64] [--msgs M | --seconds S]
//           [--watch-pid PID]
//
// --msgs: each connection does M round trips, then closes. --seconds: all
// connections ping-pong for S seconds (after all are connected), then
// close. --watch-pid: once every connection has finished its first round
// trip, count PID's OS threads (/proc/PID/task) and its RSS; with
// --seconds also PID's CPU time per round trip over the timed window.
// stdout: "conns=N round_trips=R errors=E" (deterministic with --msgs);
// with --watch-pid also "server_threads=T server_rss_kb=K"; stderr: the
// rate, "round_trips_per_s=X". Exit 1 on any error. Not run under weft.
#include <arpa/inet.h>
#include <dirent.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iterator>
#include <sstream>
#include <string>
#include <vector>

namespace {

struct conn {
  int fd = -1;
  bool connected = false;
  std::size_t sent = 0, got = 0;  // bytes of the current message
  long trips = 0;
};

struct options {
  int port = 0;
  long conns = 0, msgs = 0;
  double seconds = 0;
  std::size_t size = 64;
  long watch_pid = 0;
};

[[noreturn]] void die(const char* what) {
  std::fprintf(stderr, "loadgen: %s: %s\n", what, std::strerror(errno));
  std::exit(1);
}

long task_count(long pid) {
  std::string dir = "/proc/" + std::to_string(pid) + "/task";
  DIR* d = opendir(dir.c_str());
  if (!d) return -1;
  long n = 0;
  while (dirent* e = readdir(d))
    if (e->d_name[0] != '.') ++n;
  closedir(d);
  return n;
}

// cpu_ticks() is PID's user + system CPU time in clock ticks.
long cpu_ticks(long pid) {
  std::ifstream f("/proc/" + std::to_string(pid) + "/stat");
  std::string s((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  auto p = s.rfind(')');
  if (p == std::string::npos) return -1;
  std::istringstream in(s.substr(p + 2));
  std::string field;
  long utime = 0, stime = 0;
  for (int i = 3; i <= 15 && in >> field; ++i) {  // fields 14 and 15: utime, stime
    if (i == 14) utime = std::atol(field.c_str());
    if (i == 15) stime = std::atol(field.c_str());
  }
  return utime + stime;
}

long rss_kb(long pid) {
  std::ifstream f("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(f, line))
    if (line.rfind("VmRSS:", 0) == 0) return std::atol(line.c_str() + 6);
  return -1;
}

options parse(int argc, char** argv) {
  options o;
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string a = argv[i];
    const char* v = argv[i + 1];
    if (a == "--port") o.port = std::atoi(v);
    else if (a == "--conns") o.conns = std::atol(v);
    else if (a == "--msgs") o.msgs = std::atol(v);
    else if (a == "--seconds") o.seconds = std::atof(v);
    else if (a == "--size") o.size = static_cast<std::size_t>(std::atol(v));
    else if (a == "--watch-pid") o.watch_pid = std::atol(v);
    else {
      std::fprintf(stderr, "loadgen: unknown option %s\n", a.c_str());
      std::exit(2);
    }
  }
  if (o.port <= 0 || o.conns <= 0 || o.size == 0 || o.size > 65536 || (o.msgs <= 0) == (o.seconds <= 0)) {
    std::fprintf(stderr, "usage: loadgen --port P --conns N [--size B] (--msgs M | --seconds S) [--watch-pid PID]\n");
    std::exit(2);
  }
  return o;
}

}  // namespace

int main(int argc, char** argv) {
  options o = parse(argc, argv);
  int ep = epoll_create1(EPOLL_CLOEXEC);
  std::vector<conn> cs(static_cast<std::size_t>(o.conns));
  std::vector<char> out(o.size), in(o.size);
  for (std::size_t i = 0; i < o.size; ++i) out[i] = static_cast<char>('a' + i % 26);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<unsigned short>(o.port));
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);

  long next = 0, connecting = 0, connected = 0, first_done = 0, closed = 0, errors = 0, trips = 0;
  bool measured = false, timing = false;
  long cpu0 = 0, cpu1 = 0;
  auto t0 = std::chrono::steady_clock::now(), t_end = t0;
  auto open_more = [&] {
    while (next < o.conns && connecting < 256) {
      conn& c = cs[static_cast<std::size_t>(next)];
      c.fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
      if (c.fd < 0) die("socket");
      int one = 1;
      setsockopt(c.fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
      if (connect(c.fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 && errno != EINPROGRESS) die("connect");
      epoll_event ev{EPOLLOUT, {.u64 = static_cast<std::uint64_t>(next)}};
      epoll_ctl(ep, EPOLL_CTL_ADD, c.fd, &ev);
      ++next;
      ++connecting;
    }
  };
  auto finish = [&](conn& c) {
    epoll_ctl(ep, EPOLL_CTL_DEL, c.fd, nullptr);
    close(c.fd);
    c.fd = -1;
    ++closed;
  };
  auto send_msg = [&](conn& c) -> bool {
    while (c.sent < o.size) {
      ssize_t n = write(c.fd, out.data() + c.sent, o.size - c.sent);
      if (n < 0 && errno == EAGAIN) return true;
      if (n <= 0) return false;
      c.sent += static_cast<std::size_t>(n);
    }
    return true;
  };
  open_more();
  std::vector<epoll_event> evs(1024);
  while (closed < o.conns) {
    if (timing && std::chrono::steady_clock::now() >= t_end) {
      if (o.watch_pid) cpu1 = cpu_ticks(o.watch_pid);  // before the closes
      for (conn& c : cs)
        if (c.fd >= 0) finish(c);
      break;
    }
    int n = epoll_wait(ep, evs.data(), static_cast<int>(evs.size()), timing ? 10 : 1000);
    if (n < 0 && errno != EINTR) die("epoll_wait");
    for (int k = 0; k < n; ++k) {
      conn& c = cs[evs[static_cast<std::size_t>(k)].data.u64];
      if (c.fd < 0) continue;
      if (!c.connected) {
        int err = 0;
        socklen_t len = sizeof err;
        getsockopt(c.fd, SOL_SOCKET, SO_ERROR, &err, &len);
        --connecting;
        if (err) {
          errno = err;
          ++errors;
          finish(c);
          continue;
        }
        c.connected = true;
        ++connected;
        epoll_event ev{EPOLLIN, {.u64 = evs[static_cast<std::size_t>(k)].data.u64}};
        epoll_ctl(ep, EPOLL_CTL_MOD, c.fd, &ev);
        if (!send_msg(c)) ++errors, finish(c);
        continue;
      }
      ssize_t r = read(c.fd, in.data() + c.got, o.size - c.got);
      if (r < 0 && errno == EAGAIN) continue;
      if (r <= 0) {
        ++errors;
        finish(c);
        continue;
      }
      if (std::memcmp(in.data() + c.got, out.data() + c.got, static_cast<std::size_t>(r)) != 0) ++errors;
      c.got += static_cast<std::size_t>(r);
      if (c.got < o.size) continue;
      c.got = c.sent = 0;
      ++c.trips;
      if (timing || o.msgs) ++trips;
      if (c.trips == 1 && ++first_done == o.conns) {
        if (o.watch_pid && !measured) {
          measured = true;
          std::printf("server_threads=%ld server_rss_kb=%ld\n", task_count(o.watch_pid), rss_kb(o.watch_pid));
        }
        if (o.seconds > 0) {
          timing = true;
          trips = 0;
          if (o.watch_pid) cpu0 = cpu_ticks(o.watch_pid);
          t0 = std::chrono::steady_clock::now();
          t_end = t0 + std::chrono::duration_cast<std::chrono::steady_clock::duration>(
                           std::chrono::duration<double>(o.seconds));
        }
      }
      if (o.msgs && c.trips >= o.msgs) {
        finish(c);
        continue;
      }
      if (!send_msg(c)) ++errors, finish(c);
    }
    open_more();
  }
  double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  long total = 0;
  for (conn& c : cs) total += c.trips;
  std::printf("conns=%ld round_trips=%ld errors=%ld\n", connected, total, errors);
  std::fprintf(stderr, "round_trips_per_s=%.0f\n", (o.seconds > 0 ? trips : total) / secs);
  if (o.watch_pid && o.seconds > 0 && trips > 0)
    std::fprintf(stderr, "server_cpu_us_per_trip=%.2f\n",
                 (cpu1 - cpu0) * 1e6 / static_cast<double>(sysconf(_SC_CLK_TCK)) / trips);
  return errors ? 1 : 0;
}
