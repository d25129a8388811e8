// tests/hooks/test_hooks_dns.cpp — the DNS hooks (getaddrinfo, getnameinfo,
// gethostbyname*, gethostbyaddr*) on fibers, linked mode, against a real
// dnsmasq on a loopback port: results field by field, glibc's EAI_* codes,
// 1,000 concurrent lookups in about one round trip, an unreachable server
// failing with EAI_AGAIN after the configured timeout, cancel and
// weft::timeout. Numeric hosts and names of the real /etc/hosts are
// compared with glibc itself, called from a plain thread (where the hooks
// pass through).
#include "hooks_test.hpp"

#include <netdb.h>
#include <spawn.h>
#include <sys/wait.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

extern char** environ;

using namespace hooks_test;

namespace {

std::string tmpdir;
int dns_port = 0;
pid_t dnsmasq_pid = -1;

// free_udp_port() is a port where nothing listens on 127.0.0.1 (UDP).
int free_udp_port() {
  int fd = ::socket(AF_INET, SOCK_DGRAM, 0);
  sockaddr_in a = loopback(0);
  ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
  socklen_t len = sizeof a;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  ::close(fd);
  return ntohs(a.sin_port);
}

// udp_port_taken() is true when someone has bound 127.0.0.1:port (UDP).
bool udp_port_taken(int port) {
  int fd = ::socket(AF_INET, SOCK_DGRAM, 0);
  sockaddr_in a = loopback(port);
  bool taken = ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 && errno == EADDRINUSE;
  ::close(fd);
  return taken;
}

void write_file(const std::string& path, const std::string& text) {
  std::ofstream(path) << text;
}

// use_resolv() points the hooks at a resolv.conf with this text.
std::string use_resolv(const std::string& name, const std::string& text) {
  std::string p = tmpdir + "/" + name;
  write_file(p, text);
  ::setenv("WEFT_RESOLV_CONF", p.c_str(), 1);
  return p;
}

std::string dnsmasq_resolv() {
  return "nameserver 127.0.0.1:" + std::to_string(dns_port) + "\nsearch weft.test\noptions timeout:2 attempts:2\n";
}

// The dnsmasq the whole file uses; started once, killed at exit.
class dnsmasq_env : public ::testing::Environment {
 public:
  void SetUp() override {
    char tmpl[] = "/tmp/weft_dns_XXXXXX";
    tmpdir = ::mkdtemp(tmpl);
    const char* bin = "/usr/sbin/dnsmasq";
    ASSERT_EQ(::access(bin, X_OK), 0) << "dnsmasq missing: apt-get install dnsmasq-base";
    // dnsmasq binds UDP and TCP on the port; another process may take either
    // side between our check and its bind, and then dnsmasq exits: it is up
    // only if the port is taken and our dnsmasq still runs a moment later.
    // Otherwise retry on a new port.
    auto alive = [] { return dnsmasq_pid > 0 && ::waitpid(dnsmasq_pid, nullptr, WNOHANG) == 0; };
    bool up = false;
    for (int attempt = 0; attempt < 5 && !up; ++attempt) {
      dns_port = free_udp_port();
      std::vector<std::string> args = {
          bin, "--no-daemon", "--no-resolv", "--no-hosts", "--conf-file=/dev/null", "--user=root",
          "--pid-file=", "--bind-interfaces", "--listen-address=127.0.0.1", "--bogus-priv",
          "--port=" + std::to_string(dns_port),
          "--address=/name.test/10.1.2.3",
          "--address=/both.test/10.1.2.4", "--address=/both.test/fd00::4",
          "--host-record=canon.test,10.1.2.7",
          "--cname=alias.test,canon.test",
          "--address=/name.weft.test/10.1.2.9", "--address=/weft.test/",
          "--address=/nx.test/", "--local=/test/",
      };
      std::vector<char*> argv;
      for (auto& a : args) argv.push_back(a.data());
      argv.push_back(nullptr);
      ASSERT_EQ(::posix_spawn(&dnsmasq_pid, bin, nullptr, nullptr, argv.data(), environ), 0);
      for (int i = 0; i < 500; ++i) {
        if (!alive()) break;  // it gave up
        if (udp_port_taken(dns_port)) {
          ::usleep(50000);
          up = alive();
          break;
        }
        ::usleep(10000);
      }
      if (!up) {
        if (alive()) {
          ::kill(dnsmasq_pid, SIGTERM);
          ::waitpid(dnsmasq_pid, nullptr, 0);
        }
        dnsmasq_pid = -1;
      }
    }
    ASSERT_TRUE(up) << "dnsmasq did not start";
  }
  void TearDown() override {
    if (dnsmasq_pid > 0) {
      ::kill(dnsmasq_pid, SIGTERM);
      ::waitpid(dnsmasq_pid, nullptr, 0);
    }
    std::string cmd = "rm -rf " + tmpdir;
    if (std::system(cmd.c_str()) != 0) std::perror("rm");
  }
};
const auto* env = ::testing::AddGlobalTestEnvironment(new dnsmasq_env);

// on_fiber() runs fn as weft's root fiber (hooks act).
template <class F>
auto on_fiber(F fn) {
  return weft::run([&] { return fn(); });
}
// on_thread() runs fn on a plain thread (hooks pass through to glibc).
template <class F>
auto on_thread(F fn) {
  decltype(fn()) r{};
  std::thread t([&] { r = fn(); });
  t.join();
  return r;
}

std::string hex(const void* p, std::size_t n) {
  std::string s;
  char b[4];
  for (std::size_t i = 0; i < n; ++i) {
    std::snprintf(b, sizeof b, "%02x", static_cast<const unsigned char*>(p)[i]);
    s += b;
  }
  return s;
}

// describe() lists a getaddrinfo result, one string per entry with every
// field; the first element is the return code.
std::vector<std::string> describe(int rc, addrinfo* res) {
  std::vector<std::string> v{"rc=" + std::to_string(rc)};
  for (addrinfo* p = res; p; p = p->ai_next) {
    char host[INET6_ADDRSTRLEN] = "?";
    int port = -1;
    if (p->ai_family == AF_INET) {
      auto* s = reinterpret_cast<sockaddr_in*>(p->ai_addr);
      ::inet_ntop(AF_INET, &s->sin_addr, host, sizeof host);
      port = ntohs(s->sin_port);
    } else if (p->ai_family == AF_INET6) {
      auto* s = reinterpret_cast<sockaddr_in6*>(p->ai_addr);
      ::inet_ntop(AF_INET6, &s->sin6_addr, host, sizeof host);
      port = ntohs(s->sin6_port);
    }
    v.push_back("flags=" + std::to_string(p->ai_flags) + " family=" + std::to_string(p->ai_family) +
                " socktype=" + std::to_string(p->ai_socktype) + " proto=" + std::to_string(p->ai_protocol) +
                " addrlen=" + std::to_string(p->ai_addrlen) + " host=" + host + " port=" + std::to_string(port) +
                " raw=" + hex(p->ai_addr, p->ai_addrlen) +
                " canon=" + (p->ai_canonname ? p->ai_canonname : "(null)"));
  }
  if (res) ::freeaddrinfo(res);
  return v;
}

struct gai_case {
  const char* node;
  const char* service;
  bool has_hints;
  int flags, family, socktype, protocol;
};

std::vector<std::string> gai(const gai_case& c) {
  addrinfo h{};
  h.ai_flags = c.flags;
  h.ai_family = c.family;
  h.ai_socktype = c.socktype;
  h.ai_protocol = c.protocol;
  addrinfo* res = nullptr;
  int rc = ::getaddrinfo(c.node, c.service, c.has_hints ? &h : nullptr, &res);
  return describe(rc, rc == 0 ? res : nullptr);
}

std::string case_name(const gai_case& c) {
  return std::string(c.node ? c.node : "(null)") + "/" + (c.service ? c.service : "(null)") + " hints=" +
         (c.has_hints ? std::to_string(c.flags) + "," + std::to_string(c.family) + "," +
                            std::to_string(c.socktype) + "," + std::to_string(c.protocol)
                      : "none");
}

// The hint variations every host below is tried with.
std::vector<gai_case> variations(const char* node) {
  return {
      {node, "80", false, 0, 0, 0, 0},
      {node, nullptr, true, 0, AF_UNSPEC, 0, 0},
      {node, "http", true, 0, AF_INET, SOCK_STREAM, 0},
      {node, "53", true, 0, AF_UNSPEC, SOCK_DGRAM, 0},
      {node, "80", true, AI_CANONNAME, AF_UNSPEC, 0, 0},
      {node, "80", true, AI_PASSIVE, AF_INET, 0, IPPROTO_TCP},
      {node, "80", true, AI_ADDRCONFIG, AF_UNSPEC, SOCK_STREAM, 0},
      {node, "80", true, AI_V4MAPPED, AF_INET6, SOCK_STREAM, 0},
      {node, "80", true, AI_V4MAPPED | AI_ALL, AF_INET6, 0, 0},
      {node, "80", true, AI_NUMERICSERV, AF_INET, 0, 0},
      {node, "nosuchservice", true, 0, AF_UNSPEC, 0, 0},
      {node, "80", true, 0, 12345, 0, 0},
      {node, "80", true, 0x40000000, AF_UNSPEC, 0, 0},
      {node, "80", true, 0, AF_INET, SOCK_STREAM, IPPROTO_UDP},
  };
}

void compare_with_glibc(const std::vector<gai_case>& cases) {
  for (const gai_case& c : cases) {
    auto mine = on_fiber([&] { return gai(c); });
    auto theirs = on_thread([&] { return gai(c); });
    EXPECT_EQ(mine, theirs) << case_name(c);
  }
}

TEST(HooksDns, NumericHostsMatchGlibc) {
  ::unsetenv("WEFT_HOSTS");
  use_resolv("numeric.conf", dnsmasq_resolv());
  for (const char* host : {"127.0.0.1", "10.1.2.3", "127.1", "::1", "fd00::4", "::ffff:10.1.2.3"}) {
    compare_with_glibc(variations(host));
  }
  // Numeric-only and passive cases.
  compare_with_glibc({{"name.test", "80", true, AI_NUMERICHOST, AF_UNSPEC, 0, 0},
                      {nullptr, "80", true, AI_PASSIVE, AF_UNSPEC, SOCK_STREAM, 0},
                      {nullptr, "80", true, 0, AF_INET6, 0, 0},
                      {nullptr, nullptr, true, 0, AF_UNSPEC, 0, 0},
                      {"", "80", true, AI_NUMERICHOST, AF_UNSPEC, 0, 0}});
}

// system_hosts_lists_localhost() is true when the real /etc/hosts maps
// localhost to 127.0.0.1: the premise of comparing hosts-file answers with
// glibc, which always reads the real file. (A debootstrap root may have no
// /etc/hosts at all; then glibc would ask DNS and there is nothing to compare.)
bool system_hosts_lists_localhost() {
  std::ifstream f("/etc/hosts");
  std::string line;
  while (std::getline(f, line)) {
    std::istringstream in(line.substr(0, line.find('#')));
    std::string addr, name;
    if (!(in >> addr) || addr != "127.0.0.1") continue;
    while (in >> name)
      if (name == "localhost") return true;
  }
  return false;
}

#define REQUIRE_SYSTEM_LOCALHOST()                                                                  \
  if (!system_hosts_lists_localhost())                                                             \
  GTEST_SKIP() << "/etc/hosts has no \"127.0.0.1 localhost\" line: glibc would answer from DNS, " \
                  "so there is no hosts-file answer to compare with"

TEST(HooksDns, HostsFileNamesMatchGlibc) {
  REQUIRE_SYSTEM_LOCALHOST();
  ::unsetenv("WEFT_HOSTS");  // the real /etc/hosts, as glibc reads it
  use_resolv("hostsfile.conf", dnsmasq_resolv());
  std::vector<gai_case> cases;
  for (auto& c : variations("localhost"))
    if (c.family != AF_INET6 || (c.flags & AI_V4MAPPED)) cases.push_back(c);  // no AAAA: glibc would ask DNS
  compare_with_glibc(cases);
  compare_with_glibc({{"LOCALHOST", "80", true, AI_CANONNAME, AF_INET, SOCK_STREAM, 0}});
}

// describe_host() lists a hostent, every field.
std::vector<std::string> describe_host(const hostent* h, int herr) {
  if (!h) return {"null herr=" + std::to_string(herr)};
  std::vector<std::string> v{std::string("name=") + h->h_name, "type=" + std::to_string(h->h_addrtype),
                             "len=" + std::to_string(h->h_length)};
  for (char** a = h->h_aliases; *a; ++a) v.push_back(std::string("alias=") + *a);
  for (char** a = h->h_addr_list; *a; ++a) v.push_back("addr=" + hex(*a, h->h_length));
  return v;
}

std::vector<std::string> all_host_calls(const char* name, const void* addr, socklen_t len, int af) {
  std::vector<std::string> v;
  auto add = [&](const char* what, std::vector<std::string> r) {
    v.push_back(what);
    v.insert(v.end(), r.begin(), r.end());
  };
  hostent* h = ::gethostbyname(name);
  add("gethostbyname", describe_host(h, h ? 0 : h_errno));
  h = ::gethostbyname2(name, AF_INET);
  add("gethostbyname2", describe_host(h, h ? 0 : h_errno));
  hostent he;
  char buf[1024];
  hostent* out = nullptr;
  int herr = 0;
  int rc = ::gethostbyname_r(name, &he, buf, sizeof buf, &out, &herr);
  add(("gethostbyname_r rc=" + std::to_string(rc)).c_str(), describe_host(out, herr));
  rc = ::gethostbyname2_r(name, AF_INET, &he, buf, sizeof buf, &out, &herr);
  add(("gethostbyname2_r rc=" + std::to_string(rc)).c_str(), describe_host(out, herr));
  rc = ::gethostbyname_r(name, &he, buf, 8, &out, &herr);
  v.push_back("small buffer rc=" + std::to_string(rc) + " out=" + (out ? "set" : "null"));
  h = ::gethostbyaddr(addr, len, af);
  add("gethostbyaddr", describe_host(h, h ? 0 : h_errno));
  rc = ::gethostbyaddr_r(addr, len, af, &he, buf, sizeof buf, &out, &herr);
  add(("gethostbyaddr_r rc=" + std::to_string(rc)).c_str(), describe_host(out, herr));
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_port = htons(80);
  std::memcpy(&sa.sin_addr, addr, 4);
  for (int flags : {0, NI_NUMERICSERV, NI_NAMEREQD, NI_NUMERICHOST, NI_DGRAM}) {
    char host[256] = "", serv[32] = "";
    rc = ::getnameinfo(reinterpret_cast<sockaddr*>(&sa), sizeof sa, host, sizeof host, serv, sizeof serv, flags);
    v.push_back("getnameinfo flags=" + std::to_string(flags) + " rc=" + std::to_string(rc) + " host=" + host +
                " serv=" + serv);
  }
  char tiny[3];
  rc = ::getnameinfo(reinterpret_cast<sockaddr*>(&sa), sizeof sa, tiny, sizeof tiny, nullptr, 0, 0);
  v.push_back("getnameinfo tiny rc=" + std::to_string(rc));
  return v;
}

TEST(HooksDns, HostentCallsMatchGlibcForHostsFile) {
  REQUIRE_SYSTEM_LOCALHOST();
  ::unsetenv("WEFT_HOSTS");
  use_resolv("hostent.conf", dnsmasq_resolv());
  in_addr lo{htonl(INADDR_LOOPBACK)};
  auto mine = on_fiber([&] { return all_host_calls("localhost", &lo, 4, AF_INET); });
  auto theirs = on_thread([&] { return all_host_calls("localhost", &lo, 4, AF_INET); });
  EXPECT_EQ(mine, theirs);
  for (std::size_t i = 0; i < std::min(mine.size(), theirs.size()); ++i) EXPECT_EQ(mine[i], theirs[i]);
  in_addr num{};
  ::inet_pton(AF_INET, "10.1.2.3", &num);
  mine = on_fiber([&] { return all_host_calls("10.1.2.3", &lo, 4, AF_INET); });
  theirs = on_thread([&] { return all_host_calls("10.1.2.3", &lo, 4, AF_INET); });
  EXPECT_EQ(mine, theirs);
}

// expect_entry() builds describe()'s line for one expected entry.
std::string entry(int flags, int family, int socktype, int proto, const char* host, int port,
                  const char* canon = nullptr) {
  addrinfo ai{};
  sockaddr_storage ss{};
  ai.ai_flags = flags;
  ai.ai_family = family;
  ai.ai_socktype = socktype;
  ai.ai_protocol = proto;
  ai.ai_addr = reinterpret_cast<sockaddr*>(&ss);
  if (family == AF_INET) {
    auto* s = reinterpret_cast<sockaddr_in*>(&ss);
    s->sin_family = AF_INET;
    s->sin_port = htons(static_cast<uint16_t>(port));
    ::inet_pton(AF_INET, host, &s->sin_addr);
    ai.ai_addrlen = sizeof(sockaddr_in);
  } else {
    auto* s = reinterpret_cast<sockaddr_in6*>(&ss);
    s->sin6_family = AF_INET6;
    s->sin6_port = htons(static_cast<uint16_t>(port));
    ::inet_pton(AF_INET6, host, &s->sin6_addr);
    ai.ai_addrlen = sizeof(sockaddr_in6);
  }
  auto* copy = static_cast<addrinfo*>(std::calloc(1, sizeof(addrinfo) + ai.ai_addrlen));
  *copy = ai;
  copy->ai_addr = reinterpret_cast<sockaddr*>(copy + 1);
  std::memcpy(copy->ai_addr, ai.ai_addr, ai.ai_addrlen);
  copy->ai_canonname = canon ? ::strdup(canon) : nullptr;
  return describe(0, copy)[1];
}

TEST(HooksDns, DnsNamesFromDnsmasq) {
  ::unsetenv("WEFT_HOSTS");
  use_resolv("dns.conf", dnsmasq_resolv());
  using V = std::vector<std::string>;
  on_fiber([&] {
    EXPECT_EQ(gai({"name.test", "80", true, 0, AF_INET, SOCK_STREAM, 0}),
              (V{"rc=0", entry(0, AF_INET, SOCK_STREAM, IPPROTO_TCP, "10.1.2.3", 80)}));
    EXPECT_EQ(gai({"name.test", "80", true, AI_CANONNAME, AF_INET, SOCK_DGRAM, 0}),
              (V{"rc=0", entry(AI_CANONNAME, AF_INET, SOCK_DGRAM, IPPROTO_UDP, "10.1.2.3", 80, "name.test")}));
    // Socket types as glibc gives them for that address.
    auto glibc_shape = on_thread([] { return gai({"10.1.2.3", "80", false, 0, 0, 0, 0}); });
    EXPECT_EQ(gai({"name.test", "80", false, 0, 0, 0, 0}), glibc_shape);
    // CNAME: the canonical name is the chain's end.
    EXPECT_EQ(gai({"alias.test", "443", true, AI_CANONNAME, AF_INET, SOCK_STREAM, 0}),
              (V{"rc=0", entry(AI_CANONNAME, AF_INET, SOCK_STREAM, IPPROTO_TCP, "10.1.2.7", 443, "canon.test")}));
    // A and AAAA: IPv4 first (RFC 3484 precedence: fd00::/7 is 3, IPv4 35).
    EXPECT_EQ(gai({"both.test", "80", true, 0, AF_UNSPEC, SOCK_STREAM, 0}),
              (V{"rc=0", entry(0, AF_INET, SOCK_STREAM, IPPROTO_TCP, "10.1.2.4", 80),
                 entry(0, AF_INET6, SOCK_STREAM, IPPROTO_TCP, "fd00::4", 80)}));
    EXPECT_EQ(gai({"both.test", "80", true, 0, AF_INET6, SOCK_STREAM, 0}),
              (V{"rc=0", entry(0, AF_INET6, SOCK_STREAM, IPPROTO_TCP, "fd00::4", 80)}));
    // AI_V4MAPPED: an IPv4-only name as ::ffff:a.b.c.d.
    EXPECT_EQ(gai({"name.test", "80", true, AI_V4MAPPED, AF_INET6, SOCK_STREAM, 0}),
              (V{"rc=0", entry(AI_V4MAPPED, AF_INET6, SOCK_STREAM, IPPROTO_TCP, "::ffff:10.1.2.3", 80)}));
    // Search domain (ndots 1): "name" is name.weft.test.
    EXPECT_EQ(gai({"name", "80", true, 0, AF_INET, SOCK_STREAM, 0}),
              (V{"rc=0", entry(0, AF_INET, SOCK_STREAM, IPPROTO_TCP, "10.1.2.9", 80)}));
    // Errors as glibc names them.
    EXPECT_EQ(gai({"missing.nx.test", "80", true, 0, AF_UNSPEC, 0, 0}), V{"rc=" + std::to_string(EAI_NONAME)});
    EXPECT_EQ(gai({"canon.test", "80", true, 0, AF_INET6, 0, 0}), V{"rc=" + std::to_string(EAI_NODATA)});
    EXPECT_EQ(gai({"name.test", "nosuchservice", true, 0, AF_INET, 0, 0}), V{"rc=" + std::to_string(EAI_SERVICE)});
    EXPECT_EQ(gai({"name.test", "80", true, AI_NUMERICHOST, AF_INET, 0, 0}), V{"rc=" + std::to_string(EAI_NONAME)});
    return 0;
  });
}

TEST(HooksDns, HostentAndNameinfoFromDnsmasq) {
  ::unsetenv("WEFT_HOSTS");
  use_resolv("dns2.conf", dnsmasq_resolv());
  on_fiber([&] {
    hostent* h = ::gethostbyname("name.test");
    in_addr a{};
    ::inet_pton(AF_INET, "10.1.2.3", &a);
    EXPECT_EQ(describe_host(h, h_errno),
              (std::vector<std::string>{"name=name.test", "type=2", "len=4", "addr=" + hex(&a, 4)}));
    h = ::gethostbyname2("both.test", AF_INET6);
    in6_addr a6{};
    ::inet_pton(AF_INET6, "fd00::4", &a6);
    EXPECT_EQ(describe_host(h, h_errno),
              (std::vector<std::string>{"name=both.test", "type=10", "len=16", "addr=" + hex(&a6, 16)}));
    h = ::gethostbyname("missing.nx.test");
    EXPECT_EQ(h, nullptr);
    EXPECT_EQ(h_errno, HOST_NOT_FOUND);
    hostent he, *out = nullptr;
    char buf[512];
    int herr = 0;
    EXPECT_EQ(::gethostbyname_r("alias.test", &he, buf, sizeof buf, &out, &herr), 0);
    ::inet_pton(AF_INET, "10.1.2.7", &a);
    EXPECT_EQ(describe_host(out, herr), (std::vector<std::string>{"name=canon.test", "type=2", "len=4",
                                                                   "alias=alias.test", "addr=" + hex(&a, 4)}));
    EXPECT_EQ(::gethostbyname_r("alias.test", &he, buf, 16, &out, &herr), ERANGE);
    EXPECT_EQ(out, nullptr);
    // Reverse: PTR of the host-record.
    h = ::gethostbyaddr(&a, 4, AF_INET);
    EXPECT_EQ(describe_host(h, h_errno),
              (std::vector<std::string>{"name=canon.test", "type=2", "len=4", "addr=" + hex(&a, 4)}));
    sockaddr_in sa = loopback(80);
    sa.sin_addr = a;
    char host[64], serv[16];
    EXPECT_EQ(::getnameinfo(reinterpret_cast<sockaddr*>(&sa), sizeof sa, host, sizeof host, serv, sizeof serv, 0), 0);
    EXPECT_STREQ(host, "canon.test");
    EXPECT_STREQ(serv, "http");
    ::inet_pton(AF_INET, "10.1.2.99", &sa.sin_addr);  // no PTR (--bogus-priv: NXDOMAIN)
    EXPECT_EQ(::getnameinfo(reinterpret_cast<sockaddr*>(&sa), sizeof sa, host, sizeof host, serv, sizeof serv,
                            NI_NAMEREQD),
              EAI_NONAME);
    EXPECT_EQ(::getnameinfo(reinterpret_cast<sockaddr*>(&sa), sizeof sa, host, sizeof host, serv, sizeof serv,
                            NI_NUMERICSERV),
              0);
    EXPECT_STREQ(host, "10.1.2.99");
    EXPECT_STREQ(serv, "80");
    return 0;
  });
}

TEST(HooksDns, HostsFileComesBeforeDnsAndOffFiberPassesThrough) {
  std::string hosts = tmpdir + "/hosts";
  write_file(hosts, "# test hosts\n10.9.8.7 Name.test nick.test\nfd00::9 name.test\n10.9.8.8 name.test\n"
                    "10.7.7.7 localhost\n");
  ::setenv("WEFT_HOSTS", hosts.c_str(), 1);
  use_resolv("files.conf", dnsmasq_resolv());
  using V = std::vector<std::string>;
  on_fiber([&] {
    EXPECT_EQ(gai({"name.test", "80", true, AI_CANONNAME, AF_INET, SOCK_STREAM, 0}),
              (V{"rc=0", entry(AI_CANONNAME, AF_INET, SOCK_STREAM, IPPROTO_TCP, "10.9.8.7", 80, "Name.test"),
                 entry(AI_CANONNAME, AF_INET, SOCK_STREAM, IPPROTO_TCP, "10.9.8.8", 80)}));
    EXPECT_EQ(gai({"nick.test", "80", true, 0, AF_UNSPEC, SOCK_STREAM, 0}),
              (V{"rc=0", entry(0, AF_INET, SOCK_STREAM, IPPROTO_TCP, "10.9.8.7", 80)}));
    hostent* h = ::gethostbyname("nick.test");
    EXPECT_EQ(describe_host(h, h_errno)[0], "name=Name.test");
    EXPECT_EQ(gai({"localhost", "80", true, 0, AF_INET, SOCK_STREAM, 0})[1],
              entry(0, AF_INET, SOCK_STREAM, IPPROTO_TCP, "10.7.7.7", 80));
    // Off a fiber glibc answers (from the real /etc/hosts).
    if (system_hosts_lists_localhost()) {
      auto theirs = on_thread([] { return gai({"localhost", "80", true, 0, AF_INET, SOCK_STREAM, 0}); });
      // More entries follow if a "::1 localhost" line maps to 127.0.0.1 too.
      EXPECT_GE(theirs.size(), 2u);
      if (theirs.size() >= 2) {
        EXPECT_EQ(theirs[0], "rc=0");
        EXPECT_EQ(theirs[1], entry(0, AF_INET, SOCK_STREAM, IPPROTO_TCP, "127.0.0.1", 80));
      }
    }
    return 0;
  });
  ::unsetenv("WEFT_HOSTS");
}

TEST(HooksDns, ThousandConcurrentLookupsTakeAboutOneRoundTrip) {
  ::unsetenv("WEFT_HOSTS");
  use_resolv("many.conf", dnsmasq_resolv());
  constexpr int n = 1000;
  std::vector<std::vector<std::string>> got(n);
  int in_flight = 0, max_in_flight = 0;
  unsigned long parks0 = weft::hooks::parks();
  auto t0 = clock_type::now();
  long ms = on_fiber([&] {
    std::vector<weft::fiber<void>> fs;
    for (int i = 0; i < n; ++i)
      fs.push_back(weft::spawn([&, i] {
        std::string name = "host" + std::to_string(i) + ".name.test";
        max_in_flight = std::max(max_in_flight, ++in_flight);
        got[i] = gai({name.c_str(), "80", true, 0, AF_INET, SOCK_STREAM, 0});
        --in_flight;
      }));
    for (auto& f : fs) f.join();
    return ms_since(t0);
  });
  std::vector<std::string> want{"rc=0", entry(0, AF_INET, SOCK_STREAM, IPPROTO_TCP, "10.1.2.3", 80)};
  for (int i = 0; i < n; ++i) ASSERT_EQ(got[i], want) << i;
  EXPECT_GE(max_in_flight, n / 10) << "lookups did not overlap";
  EXPECT_LT(ms, 1000);
  EXPECT_GT(weft::hooks::parks(), parks0);
  std::printf("1000 lookups: %ld ms, up to %d at once\n", ms, max_in_flight);
}

// silent_server() binds a UDP socket that never answers; returns its port.
int silent_server(int* fd) {
  *fd = ::socket(AF_INET, SOCK_DGRAM, 0);
  sockaddr_in a = loopback(0);
  ::bind(*fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
  socklen_t len = sizeof a;
  ::getsockname(*fd, reinterpret_cast<sockaddr*>(&a), &len);
  return ntohs(a.sin_port);
}

TEST(HooksDns, SilentServerFailsWithEaiAgainAfterTimeout) {
  ::unsetenv("WEFT_HOSTS");
  int sfd;
  int port = silent_server(&sfd);
  use_resolv("silent.conf", "nameserver 127.0.0.1:" + std::to_string(port) + "\noptions timeout:1 attempts:1\n");
  int ticks = 0;
  auto t0 = clock_type::now();
  auto r = on_fiber([&] {
    auto ticker = weft::spawn([&] {
      for (int i = 0; i < 5; ++i) {
        weft::this_fiber::sleep_for(100ms);
        ++ticks;
      }
    });
    auto v = gai({"name.test", "80", true, 0, AF_INET, SOCK_STREAM, 0});
    ticker.join();
    return v;
  });
  long ms = ms_since(t0);
  EXPECT_EQ(r, std::vector<std::string>{"rc=" + std::to_string(EAI_AGAIN)});
  EXPECT_GE(ms, 900);
  EXPECT_LT(ms, 1800);
  EXPECT_EQ(ticks, 5) << "the thread was blocked";
  // gethostbyname: TRY_AGAIN, after timeout x attempts (1 s each, not
  // doubled: glibc's rule).
  use_resolv("silent2.conf", "nameserver 127.0.0.1:" + std::to_string(port) + "\noptions timeout:1 attempts:2\n");
  t0 = clock_type::now();
  int herr = on_fiber([] {
    hostent* h = ::gethostbyname("name.test");
    return h ? 0 : h_errno;
  });
  EXPECT_EQ(herr, TRY_AGAIN);
  ms = ms_since(t0);
  EXPECT_GE(ms, 1900);
  EXPECT_LT(ms, 2900);
  ::close(sfd);
}

TEST(HooksDns, DnsPortFromEnvironment) {
  ::unsetenv("WEFT_HOSTS");
  use_resolv("port.conf", "nameserver 127.0.0.1\n");
  ::setenv("WEFT_DNS_PORT", std::to_string(dns_port).c_str(), 1);
  auto r = on_fiber([] { return gai({"name.test", "80", true, 0, AF_INET, SOCK_STREAM, 0}); });
  ::unsetenv("WEFT_DNS_PORT");
  EXPECT_EQ(r, (std::vector<std::string>{"rc=0", entry(0, AF_INET, SOCK_STREAM, IPPROTO_TCP, "10.1.2.3", 80)}));
}

// A port where nothing listens answers with ICMP port unreachable: glibc
// and weft give up at once (no timeout to wait for) with EAI_AGAIN.
TEST(HooksDns, RefusedServerFailsWithEaiAgain) {
  ::unsetenv("WEFT_HOSTS");
  int port = free_udp_port();
  use_resolv("refused.conf", "nameserver 127.0.0.1:" + std::to_string(port) + "\noptions timeout:1 attempts:1\n");
  auto t0 = clock_type::now();
  auto r = on_fiber([] { return gai({"name.test", "80", true, 0, AF_INET, SOCK_STREAM, 0}); });
  EXPECT_EQ(r, std::vector<std::string>{"rc=" + std::to_string(EAI_AGAIN)});
  EXPECT_LT(ms_since(t0), 1800);
}

TEST(HooksDns, CancelAndTimeoutEndALookup) {
  ::unsetenv("WEFT_HOSTS");
  int sfd;
  int port = silent_server(&sfd);
  use_resolv("cancel.conf", "nameserver 127.0.0.1:" + std::to_string(port) + "\noptions timeout:3 attempts:1\n");
  on_fiber([&] {
    res a, b;
    auto f = weft::spawn([&] {
      addrinfo* out = nullptr;
      a.r = ::getaddrinfo("name.test", "80", nullptr, &out);
      a.err = errno;
    });
    auto g = weft::spawn([&] {  // a second waiter: takes over the driving
      addrinfo* out = nullptr;
      b.r = ::getaddrinfo("other.test", "80", nullptr, &out);
      b.err = errno;
    });
    weft::this_fiber::sleep_for(100ms);
    auto t0 = clock_type::now();
    f.cancel();
    f.join();
    EXPECT_EQ(a.r, EAI_SYSTEM);
    EXPECT_EQ(a.err, ECANCELED);
    EXPECT_LT(ms_since(t0), 500);
    t0 = clock_type::now();
    {
      weft::timeout t(200ms);
      addrinfo* out = nullptr;
      int rc = ::getaddrinfo("third.test", "80", nullptr, &out);
      int e = errno;
      EXPECT_EQ(rc, EAI_SYSTEM);
      EXPECT_EQ(e, ETIMEDOUT);
    }
    EXPECT_LT(ms_since(t0), 700);
    g.join();  // ends with the server's timeout
    EXPECT_EQ(b.r, EAI_AGAIN);
    return 0;
  });
  ::close(sfd);
}

}  // namespace
