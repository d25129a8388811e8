// bench/dns_bench.cpp — resolves N distinct names against a DNS server on
// 127.0.0.1:--port (a dnsmasq, or bench/dns_delay.py, that answers
// *.bench.test with 10.9.0.1), three ways:
//   --mode fibers: N fibers under weft::run, each one hooked getaddrinfo
//     (weft's c-ares resolver, pointed at the server with WEFT_RESOLV_CONF);
//   --mode sequential: plain glibc getaddrinfo one after another, off any
//     fiber, so the hook passes straight to glibc. glibc's resolv.conf has no
//     port syntax, so the server is put into glibc's _res state after
//     res_init() (glibc honours a changed _res);
//   --mode ares: the limit, no weft: c-ares' own event loop (poll() on the
//     sockets ares_getsock() names, ares_process_fd()) running the N
//     ares_getaddrinfo() requests, at most --window in flight (default: all
//     at once; weft's resolver keeps 192), with the options weft's resolver
//     uses (timeout 2 s, 2 attempts, 1 MiB receive buffer, the socket kept
//     open, no address sorting).
// Each lookup asks for AF_INET/SOCK_STREAM "n<i>.bench.test" and must return
// 10.9.0.1; anything else counts as an error. Prints one JSON line:
//   {"mode":..,"names":..,"seconds":..,"per_s":..,"errors":..}
// Usage: dns_bench --port N [--names 1000] [--mode fibers|sequential|ares] [--window N]
#include "net_common.hpp"

#include <weft/weft.hpp>

#include <ares.h>
#include <arpa/inet.h>
#include <netdb.h>
#include <poll.h>
#include <resolv.h>

#include <chrono>
#include <fstream>
#include <string>
#include <vector>

namespace {

const char* const usage = "dns_bench --port N [--names N] [--mode fibers|sequential|ares] [--window N]";

// resolve_one() looks up name i; true when it gives exactly the expected address.
bool resolve_one(long i) {
  std::string name = "n" + std::to_string(i) + ".bench.test";
  addrinfo hints{};
  hints.ai_family = AF_INET;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* res = nullptr;
  if (::getaddrinfo(name.c_str(), nullptr, &hints, &res) != 0) return false;
  bool ok = res && res->ai_family == AF_INET &&
            reinterpret_cast<sockaddr_in*>(res->ai_addr)->sin_addr.s_addr == inet_addr("10.9.0.1");
  ::freeaddrinfo(res);
  return ok;
}

// point_glibc_at() makes glibc's resolver ask 127.0.0.1:port only.
void point_glibc_at(int port) {
  if (res_init() != 0) bench::die("res_init");
  _res.nscount = 1;
  _res.nsaddr_list[0].sin_family = AF_INET;
  _res.nsaddr_list[0].sin_port = htons(static_cast<std::uint16_t>(port));
  _res.nsaddr_list[0].sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  _res.retrans = 2;
  _res.retry = 2;
}

// point_weft_at() writes a resolv.conf for weft's resolver and selects it (and no hosts file).
void point_weft_at(int port) {
  std::string path = "/tmp/weft-dns-bench-" + std::to_string(::getpid()) + ".conf";
  std::ofstream(path) << "nameserver 127.0.0.1:" << port << "\noptions timeout:2 attempts:2\n";
  ::setenv("WEFT_RESOLV_CONF", path.c_str(), 1);
  ::setenv("WEFT_HOSTS", "/dev/null", 1);
}

// run_ares() resolves names 0..n-1 with c-ares alone, at most `window` at
// once; returns the errors.
long run_ares(int port, long n, long window) {
  if (ares_library_init(ARES_LIB_INIT_ALL) != ARES_SUCCESS) bench::die("ares_library_init");
  ares_channel ch = nullptr;
  ares_options o{};
  char lookups[] = "b";
  o.timeout = 2000;
  o.tries = 2;
  o.lookups = lookups;
  o.socket_receive_buffer_size = 1 << 20;
  o.flags = ARES_FLAG_STAYOPEN;
  int mask = ARES_OPT_TIMEOUTMS | ARES_OPT_TRIES | ARES_OPT_LOOKUPS | ARES_OPT_SOCK_RCVBUF | ARES_OPT_FLAGS;
  if (ares_init_options(&ch, &o, mask) != ARES_SUCCESS) bench::die("ares_init_options");
  std::string server = "127.0.0.1:" + std::to_string(port);
  if (ares_set_servers_ports_csv(ch, server.c_str()) != ARES_SUCCESS) bench::die("ares_set_servers_ports_csv");
  struct state {
    long pending = 0, errors = 0, next = 0;
    in_addr_t want = inet_addr("10.9.0.1");
  } st;
  auto done = [](void* arg, int status, int, ares_addrinfo* res) {
    auto* s = static_cast<state*>(arg);
    bool ok = status == ARES_SUCCESS && res && res->nodes && res->nodes->ai_family == AF_INET &&
              reinterpret_cast<sockaddr_in*>(res->nodes->ai_addr)->sin_addr.s_addr == s->want;
    s->errors += !ok;
    --s->pending;
    if (res) ares_freeaddrinfo(res);
  };
  ares_addrinfo_hints h{};
  h.ai_family = AF_INET;
  h.ai_socktype = SOCK_STREAM;
  h.ai_flags = ARES_AI_NOSORT;  // as weft's resolver: no sorting connect() per answer
  auto submit = [&] {  // up to the window; a callback may run inside ares_getaddrinfo
    while (st.next < n && st.pending < window) {
      std::string name = "n" + std::to_string(st.next++) + ".bench.test.";  // absolute, as weft's resolver asks
      ++st.pending;
      ares_getaddrinfo(ch, name.c_str(), nullptr, &h, done, &st);
    }
  };
  submit();
  while (st.pending > 0) {
    ares_socket_t socks[ARES_GETSOCK_MAXNUM];
    int bits = ares_getsock(ch, socks, ARES_GETSOCK_MAXNUM);
    pollfd p[ARES_GETSOCK_MAXNUM];
    int np = 0;
    for (int i = 0; i < ARES_GETSOCK_MAXNUM; ++i) {
      short ev = (ARES_GETSOCK_READABLE(bits, i) ? POLLIN : 0) | (ARES_GETSOCK_WRITABLE(bits, i) ? POLLOUT : 0);
      if (ev) p[np++] = {socks[i], ev, 0};
    }
    timeval max{1, 0}, tv;
    timeval* t = ares_timeout(ch, &max, &tv);
    int ms = static_cast<int>(t->tv_sec * 1000 + (t->tv_usec + 999) / 1000);
    int r = ::poll(p, static_cast<nfds_t>(np), ms);
    if (r < 0 && errno != EINTR) bench::die("poll");
    for (int i = 0; i < np && r > 0; ++i) {
      if (!p[i].revents) continue;
      bool rd = p[i].revents & (POLLIN | POLLERR | POLLHUP), wr = p[i].revents & (POLLOUT | POLLERR | POLLHUP);
      ares_process_fd(ch, rd ? p[i].fd : ARES_SOCKET_BAD, wr ? p[i].fd : ARES_SOCKET_BAD);
    }
    ares_process_fd(ch, ARES_SOCKET_BAD, ARES_SOCKET_BAD);  // expired timeouts
    submit();
  }
  ares_destroy(ch);
  return st.errors;
}

}  // namespace

int main(int argc, char** argv) {
  long port = -1, names = 1000, window = 0;
  std::string mode = "fibers";
  for (int i = 1; i < argc; ++i) {
    std::string v;
    if (bench::flag(argc, argv, i, "--port", v, usage)) port = bench::to_long(v, 1, 65535, usage);
    else if (bench::flag(argc, argv, i, "--names", v, usage)) names = bench::to_long(v, 1, 1000000, usage);
    else if (bench::flag(argc, argv, i, "--mode", v, usage)) mode = v;
    else if (bench::flag(argc, argv, i, "--window", v, usage)) window = bench::to_long(v, 1, 1000000, usage);
    else bench::usage_exit(usage);
  }
  if (port < 0 || (mode != "fibers" && mode != "sequential" && mode != "ares")) bench::usage_exit(usage);
  bench::raise_nofile();
  long errors = 0;
  auto t0 = std::chrono::steady_clock::now();
  if (mode == "sequential") {
    point_glibc_at(static_cast<int>(port));
    t0 = std::chrono::steady_clock::now();
    for (long i = 0; i < names; ++i) errors += !resolve_one(i);
  } else if (mode == "ares") {
    errors = run_ares(static_cast<int>(port), names, window > 0 ? window : names);
  } else {
    point_weft_at(static_cast<int>(port));
    weft::run([&] {
      std::vector<weft::fiber<bool>> fs;
      fs.reserve(static_cast<std::size_t>(names));
      for (long i = 0; i < names; ++i) fs.push_back(weft::spawn([i] { return resolve_one(i); }));
      for (auto& f : fs) errors += !f.join();
    });
  }
  double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  std::printf("{\"mode\":\"%s\",\"names\":%ld,\"seconds\":%.6f,\"per_s\":%.1f,\"errors\":%ld}\n", mode.c_str(), names,
              s, static_cast<double>(names) / s, errors);
  return errors == 0 ? 0 : 1;
}
