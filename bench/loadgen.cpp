// bench/loadgen.cpp — weft's load generator for the echo benchmarks.
//
// One thread, one epoll set (level-triggered EPOLLIN). Opens --conns
// connections to 127.0.0.1:--port, keeps exactly one --size message in
// flight on each (ping-pong), and counts completed round trips, bytes that
// came back different from what was sent, and errors (failed connects, resets,
// early EOF). A --warmup period runs first and is not counted. Latency is
// timed per round trip with one clock read per epoll_wait batch, into a
// log-linear histogram (16 sub-buckets per power of two, < 6.25% error).
// Prints one JSON line:
//   {"conns":..,"size":..,"seconds":..,"round_trips":..,"rt_per_s":..,
//    "errors":..,"mismatches":..,"p50_us":..,"p99_us":..,"max_us":..,
//    "connect_errors":..,"eofs":..,"last_error":"<strerror of the last error>"}
// Exit status 0 even with errors (the caller judges the JSON); 2 on bad flags.
// --round-trips N stops after N counted round trips (for instruction and
// syscall counts per round trip): no message is sent after the N-th, so the
// server echoes exactly N + the messages still in flight (at most --conns - 1);
// --seconds is then an upper bound.
// Usage: loadgen --port N [--conns 100] [--size 64] [--seconds 5] [--warmup 1]
//                [--round-trips N]
#include "net_common.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <sys/epoll.h>
#include <time.h>

#include <cstdint>
#include <vector>

namespace {

const char* const usage = "loadgen --port N [--conns C] [--size B] [--seconds S] [--warmup S] [--round-trips N]";

// now_ns() is CLOCK_MONOTONIC in ns.
std::int64_t now_ns() {
  timespec t;
  ::clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec * 1000000000LL + t.tv_nsec;
}

// histogram: log-linear buckets of nanoseconds, cheap to add to.
class histogram {
 public:
  // add() records one value in ns.
  void add(std::int64_t ns) {
    auto v = static_cast<std::uint64_t>(ns < 1 ? 1 : ns);
    int e = 63 - __builtin_clzll(v);
    int sub = e < 4 ? 0 : static_cast<int>((v >> (e - 4)) & 15);
    ++b_[e * 16 + sub];
    ++n_;
  }
  // quantile() is the lower edge of the bucket holding quantile q, in µs.
  double quantile(double q) const {
    if (n_ == 0) return 0;
    auto rank = static_cast<std::uint64_t>(q * static_cast<double>(n_ - 1)) + 1;
    std::uint64_t seen = 0;
    for (int i = 0; i < 64 * 16; ++i) {
      seen += b_[i];
      if (seen >= rank) {
        int e = i / 16, sub = i % 16;
        double lo = e < 4 ? static_cast<double>(1ULL << e) : static_cast<double>((16ULL + sub) << (e - 4));
        return lo / 1000.0;
      }
    }
    return 0;
  }
  // max_us() is the upper edge of the highest non-empty bucket, in µs.
  double max_us() const {
    for (int i = 64 * 16 - 1; i >= 0; --i)
      if (b_[i]) {
        int e = i / 16, sub = i % 16;
        return (e < 4 ? static_cast<double>(2ULL << e) : static_cast<double>((17ULL + sub) << (e - 4))) / 1000.0;
      }
    return 0;
  }
  void clear() { *this = histogram(); }

 private:
  std::uint64_t b_[64 * 16] = {};
  std::uint64_t n_ = 0;
};

// conn: one connection's message in flight.
struct conn {
  int fd = -1;
  std::size_t sent = 0;    // bytes of the current message written
  std::size_t got = 0;     // bytes of the echo received
  std::int64_t start = 0;  // when the message was sent
  bool writing = false;    // waiting for EPOLLOUT
};

struct state {
  int ep = -1;
  std::size_t size = 64;
  std::vector<char> msg, buf;
  std::vector<conn> conns;
  histogram lat;
  std::uint64_t round_trips = 0, errors = 0, mismatches = 0;
  std::uint64_t connect_errors = 0, eofs = 0;  // parts of errors
  int last_errno = 0;                          // errno of the last error, 0 if none
  std::uint64_t max_round_trips = ~std::uint64_t(0);  // --round-trips
  int open = 0;
};

// set_events() changes what epoll watches on c.
void set_events(state& s, conn& c, std::uint32_t ev, int op = EPOLL_CTL_MOD) {
  epoll_event e{};
  e.events = ev;
  e.data.u32 = static_cast<std::uint32_t>(&c - s.conns.data());
  if (::epoll_ctl(s.ep, op, c.fd, &e) != 0) bench::die("epoll_ctl");
}

// fail() counts an error and closes c.
void fail(state& s, conn& c) {
  ++s.errors;
  if (errno) s.last_errno = errno;
  ::close(c.fd);
  c.fd = -1;
  --s.open;
}

// push() writes the rest of c's message; waits for EPOLLOUT if the kernel is full.
void push(state& s, conn& c) {
  while (c.sent < s.size) {
    ssize_t w = ::write(c.fd, s.msg.data() + c.sent, s.size - c.sent);
    if (w < 0) {
      if (errno != EAGAIN) return fail(s, c);
      if (!c.writing) set_events(s, c, EPOLLOUT);
      c.writing = true;
      return;
    }
    c.sent += static_cast<std::size_t>(w);
  }
  if (c.writing) set_events(s, c, EPOLLIN);
  c.writing = false;
}

// start() begins a new round trip on c at time t.
void start(state& s, conn& c, std::int64_t t) {
  c.sent = c.got = 0;
  c.start = t;
  push(s, c);
}

// pull() reads the echo; at its end records the round trip and starts the next.
void pull(state& s, conn& c, std::int64_t t, bool counting) {
  ssize_t n = ::read(c.fd, s.buf.data(), s.buf.size());
  if (n <= 0) {
    if (n < 0 && errno == EAGAIN) return;
    if (n == 0) {
      ++s.eofs;
      errno = 0;
    }
    return fail(s, c);
  }
  std::size_t k = static_cast<std::size_t>(n);
  if (c.got + k > s.size || std::memcmp(s.buf.data(), s.msg.data() + c.got, k) != 0) ++s.mismatches;
  c.got += k;
  if (c.got < s.size) return;
  if (counting) {
    ++s.round_trips;
    s.lat.add(t - c.start);
    if (s.round_trips >= s.max_round_trips) return;  // exactly N: no new message
  }
  start(s, c, t);
}

// connect_all() opens the connections with blocking connects, then makes them non-blocking.
void connect_all(state& s, int port, long n) {
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<std::uint16_t>(port));
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  s.conns.resize(static_cast<std::size_t>(n));
  for (conn& c : s.conns) {
    int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) bench::die("socket");
    if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
      ++s.errors;
      ++s.connect_errors;
      s.last_errno = errno;
      ::close(fd);
      continue;
    }
    bench::set_nodelay(fd);
    ::fcntl(fd, F_SETFL, O_NONBLOCK);
    c.fd = fd;
    ++s.open;
    set_events(s, c, EPOLLIN, EPOLL_CTL_ADD);
  }
}

// run_for() drives the load until `until`; counts round trips when counting.
void run_for(state& s, std::int64_t until, bool counting) {
  static epoll_event ev[1024];
  for (;;) {
    std::int64_t t = now_ns();
    if (t >= until || s.open == 0 || s.round_trips >= s.max_round_trips) return;
    int ms = static_cast<int>((until - t) / 1000000) + 1;
    int n = ::epoll_wait(s.ep, ev, 1024, ms);
    if (n < 0 && errno != EINTR) bench::die("epoll_wait");
    t = now_ns();
    for (int i = 0; i < n; ++i) {
      conn& c = s.conns[ev[i].data.u32];
      if (c.fd < 0) continue;
      if (c.writing) {
        if (ev[i].events & (EPOLLOUT | EPOLLERR | EPOLLHUP)) push(s, c);
      } else {
        pull(s, c, t, counting);
      }
    }
  }
}

}  // namespace

int main(int argc, char** argv) {
  long port = -1, conns = 100, size = 64, max_rt = 0;
  double seconds = 5, warmup = 1;
  for (int i = 1; i < argc; ++i) {
    std::string v;
    if (bench::flag(argc, argv, i, "--port", v, usage)) port = bench::to_long(v, 1, 65535, usage);
    else if (bench::flag(argc, argv, i, "--conns", v, usage)) conns = bench::to_long(v, 1, 1000000, usage);
    else if (bench::flag(argc, argv, i, "--size", v, usage)) size = bench::to_long(v, 1, 1 << 20, usage);
    else if (bench::flag(argc, argv, i, "--seconds", v, usage)) seconds = bench::to_double(v, 0.01, 86400, usage);
    else if (bench::flag(argc, argv, i, "--warmup", v, usage)) warmup = bench::to_double(v, 0, 86400, usage);
    else if (bench::flag(argc, argv, i, "--round-trips", v, usage)) max_rt = bench::to_long(v, 1, 1L << 40, usage);
    else bench::usage_exit(usage);
  }
  if (port < 0) bench::usage_exit(usage);
  long limit = bench::raise_nofile();
  if (conns + 16 > limit) {
    std::fprintf(stderr, "loadgen: --conns %ld needs more than RLIMIT_NOFILE %ld allows (ulimit -Hn)\n", conns, limit);
    return 2;
  }
  state s;
  s.size = static_cast<std::size_t>(size);
  if (max_rt > 0) s.max_round_trips = static_cast<std::uint64_t>(max_rt);
  s.msg.resize(s.size);
  for (std::size_t i = 0; i < s.size; ++i) s.msg[i] = static_cast<char>('a' + i % 26);
  s.buf.resize(s.size);
  s.ep = ::epoll_create1(EPOLL_CLOEXEC);
  if (s.ep < 0) bench::die("epoll_create1");
  connect_all(s, static_cast<int>(port), conns);
  std::int64_t t0 = now_ns();
  for (conn& c : s.conns)
    if (c.fd >= 0) start(s, c, t0);
  run_for(s, t0 + static_cast<std::int64_t>(warmup * 1e9), false);
  std::int64_t t1 = now_ns();
  run_for(s, t1 + static_cast<std::int64_t>(seconds * 1e9), true);
  double el = static_cast<double>(now_ns() - t1) / 1e9;
  std::printf(
      "{\"conns\":%ld,\"size\":%ld,\"seconds\":%.3f,\"round_trips\":%llu,\"rt_per_s\":%.1f,\"errors\":%llu,"
      "\"mismatches\":%llu,\"p50_us\":%.1f,\"p99_us\":%.1f,\"max_us\":%.1f,\"connect_errors\":%llu,"
      "\"eofs\":%llu,\"last_error\":\"%s\"}\n",
      conns, size, el, static_cast<unsigned long long>(s.round_trips), static_cast<double>(s.round_trips) / el,
      static_cast<unsigned long long>(s.errors), static_cast<unsigned long long>(s.mismatches), s.lat.quantile(0.5),
      s.lat.quantile(0.99), s.lat.max_us(), static_cast<unsigned long long>(s.connect_errors),
      static_cast<unsigned long long>(s.eofs), s.last_errno ? std::strerror(s.last_errno) : "");
  return 0;
}
