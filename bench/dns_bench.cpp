// bench/dns_bench.cpp — resolves N distinct names against a DNS server on
// 127.0.0.1:--port (a dnsmasq that answers *.bench.test with 10.9.0.1),
// two ways:
//   --mode fibers: N fibers under weft::run, each one hooked getaddrinfo
//     (weft's c-ares resolver, pointed at the server with WEFT_RESOLV_CONF);
//   --mode sequential: plain glibc getaddrinfo one after another, off any
//     fiber, so the hook passes straight to glibc. glibc's resolv.conf has no
//     port syntax, so the server is put into glibc's _res state after
//     res_init() (glibc honours a changed _res).
// Each lookup asks for AF_INET/SOCK_STREAM "n<i>.bench.test" and must return
// 10.9.0.1; anything else counts as an error. Prints one JSON line:
//   {"mode":..,"names":..,"seconds":..,"per_s":..,"errors":..}
// Usage: dns_bench --port N [--names 1000] [--mode fibers|sequential]
#include "net_common.hpp"

#include <weft/weft.hpp>

#include <arpa/inet.h>
#include <netdb.h>
#include <resolv.h>

#include <chrono>
#include <fstream>
#include <string>
#include <vector>

namespace {

const char* const usage = "dns_bench --port N [--names N] [--mode fibers|sequential]";

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

}  // namespace

int main(int argc, char** argv) {
  long port = -1, names = 1000;
  std::string mode = "fibers";
  for (int i = 1; i < argc; ++i) {
    std::string v;
    if (bench::flag(argc, argv, i, "--port", v, usage)) port = bench::to_long(v, 1, 65535, usage);
    else if (bench::flag(argc, argv, i, "--names", v, usage)) names = bench::to_long(v, 1, 1000000, usage);
    else if (bench::flag(argc, argv, i, "--mode", v, usage)) mode = v;
    else bench::usage_exit(usage);
  }
  if (port < 0 || (mode != "fibers" && mode != "sequential")) bench::usage_exit(usage);
  bench::raise_nofile();
  long errors = 0;
  auto t0 = std::chrono::steady_clock::now();
  if (mode == "sequential") {
    point_glibc_at(static_cast<int>(port));
    t0 = std::chrono::steady_clock::now();
    for (long i = 0; i < names; ++i) errors += !resolve_one(i);
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
