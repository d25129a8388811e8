// hooks/dns_config.cpp — resolv.conf, hosts and nsswitch.conf parsing.
#include "dns_config.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <sstream>
#include <unordered_map>

namespace weft::hooks::dns {
namespace {

using words = std::vector<std::string>;

// The thread's lookup number (new_lookup()); 0 before the first.
thread_local unsigned long tl_lookup = 0;

// A configuration file as last parsed on this thread, with the stat()
// identity it had then: a lookup re-reads a file only when it changed, and
// stat()s it at most once (checked: the lookup that did).
struct parsed_file {
  dev_t dev = 0;
  ino_t ino = 0;
  off_t size = -1;
  timespec mtime{};
  std::vector<words> lines;
  unsigned long checked = 0;
};

// same_file() is true when st is the identity p was parsed with.
bool same_file(const parsed_file& p, const struct stat& st) {
  return p.dev == st.st_dev && p.ino == st.st_ino && p.size == st.st_size && p.mtime.tv_sec == st.st_mtim.tv_sec &&
         p.mtime.tv_nsec == st.st_mtim.tv_nsec;
}

// parse() reads path into lines of words, comments removed.
std::vector<words> parse(const char* path) {
  std::vector<words> lines;
  FILE* f = std::fopen(path, "re");
  if (!f) return lines;
  char buf[4096];
  while (std::fgets(buf, sizeof buf, f)) {
    char* hash = std::strpbrk(buf, "#;");
    if (hash) *hash = '\0';
    std::istringstream in(buf);
    words w;
    for (std::string s; in >> s;) w.push_back(s);
    if (!w.empty()) lines.push_back(std::move(w));
  }
  std::fclose(f);
  return lines;
}

// read_lines() calls fn(words) for each line of path, comments removed;
// the parse is cached per thread and per path until stat() shows a change.
template <class F>
void read_lines(const char* path, F&& fn) {
  thread_local std::unordered_map<std::string, parsed_file> cache;
  auto it = cache.find(path);
  if (it == cache.end() || it->second.checked != tl_lookup || tl_lookup == 0) {
    struct stat st {};
    if (::stat(path, &st) != 0) {
      if (it != cache.end()) cache.erase(it);
      return;
    }
    if (it == cache.end()) it = cache.emplace(path, parsed_file{}).first;
    parsed_file& p = it->second;
    if (!same_file(p, st)) p = parsed_file{st.st_dev, st.st_ino, st.st_size, st.st_mtim, parse(path)};
    p.checked = tl_lookup;
  }
  for (const words& w : it->second.lines) fn(w);
}

// server_entry() turns one nameserver value into c-ares' "host:port" form;
// "" if it is not an address. Ports are accepted only when allow_port.
std::string server_entry(const std::string& v, bool allow_port, const char* env_port) {
  std::string host = v, port;
  if (allow_port) {
    if (!v.empty() && v[0] == '[') {
      auto close = v.find(']');
      if (close == std::string::npos) return "";
      host = v.substr(1, close - 1);
      if (close + 1 < v.size() && v[close + 1] == ':') port = v.substr(close + 2);
    } else if (std::count(v.begin(), v.end(), ':') == 1) {
      host = v.substr(0, v.find(':'));
      port = v.substr(v.find(':') + 1);
    }
  }
  in6_addr a6;
  in_addr a4;
  bool v6 = inet_pton(AF_INET6, host.c_str(), &a6) == 1;
  if (!v6 && inet_pton(AF_INET, host.c_str(), &a4) != 1) return "";
  if (port.empty() && env_port && *env_port) port = env_port;
  if (port.empty()) port = "53";
  return v6 ? "[" + host + "]:" + port : host + ":" + port;
}

// The thread's resolv.conf as last parsed (load_resolv_conf()), with the
// key it was parsed under and the lookup that last checked it.
struct resolv_snapshot {
  std::string key;
  resolv_conf rc;
  unsigned long checked = 0;
  bool valid = false;
  parsed_file id;        // the stat() identity the key was made from (no lines)
  bool existed = false;
  std::string path, port;  // resolv_conf_path(), WEFT_DNS_PORT then
};
thread_local resolv_snapshot tl_resolv;

// parse_resolv_conf() reads the file at path into a resolv_conf.
resolv_conf parse_resolv_conf(const char* path) {
  resolv_conf rc;
  const char* custom = std::getenv("WEFT_RESOLV_CONF");
  bool allow_port = custom && *custom;
  const char* env_port = std::getenv("WEFT_DNS_PORT");
  int nservers = 0;
  for (const words& w : parse(path)) {
    if (w[0] == "nameserver" && w.size() >= 2) {
      if (nservers >= 3) continue;  // glibc's MAXNS
      std::string e = server_entry(w[1], allow_port, env_port);
      if (e.empty()) continue;
      if (!rc.servers_csv.empty()) rc.servers_csv += ",";
      rc.servers_csv += e;
      ++nservers;
    } else if ((w[0] == "search" || w[0] == "domain") && w.size() >= 2) {
      rc.search.assign(w.begin() + 1, w.end());
    } else if (w[0] == "options") {
      for (std::size_t i = 1; i < w.size(); ++i) {
        const std::string& o = w[i];
        auto num = [&](const char* pfx, int lo, int hi) -> int {
          int n = std::atoi(o.c_str() + std::strlen(pfx));
          return std::clamp(n, lo, hi);
        };
        if (o.rfind("ndots:", 0) == 0) rc.ndots = num("ndots:", 0, 15);
        else if (o.rfind("timeout:", 0) == 0) rc.timeout_ms = num("timeout:", 1, 30) * 1000;
        else if (o.rfind("attempts:", 0) == 0) rc.attempts = num("attempts:", 1, 5);
      }
    }
  }
  if (rc.servers_csv.empty()) rc.servers_csv = server_entry("127.0.0.1", false, env_port);
  return rc;
}

// current_resolv() is tl_resolv brought up to date: at most one stat() of
// resolv.conf per lookup, a parse only when its key changed.
const resolv_snapshot& current_resolv() {
  resolv_snapshot& s = tl_resolv;
  if (s.valid && s.checked == tl_lookup && tl_lookup != 0) return s;
  const char* path = resolv_conf_path();
  struct stat st {};
  bool exists = ::stat(path, &st) == 0;
  const char* port = std::getenv("WEFT_DNS_PORT");
  if (!port) port = "";
  // The key (a string, for the channel to compare) is made only when the
  // file or the variables changed.
  if (!s.valid || exists != s.existed || (exists && !same_file(s.id, st)) || s.path != path || s.port != port) {
    std::string key = path;
    if (exists)
      key += "|" + std::to_string(st.st_mtim.tv_sec) + "." + std::to_string(st.st_mtim.tv_nsec) + "|" +
             std::to_string(st.st_size) + "|" + std::to_string(st.st_ino);
    key += "|";
    key += port;
    s.rc = parse_resolv_conf(path);  // a missing file parses as empty: glibc's defaults
    s.key = std::move(key);
    s.existed = exists;
    s.id = exists ? parsed_file{st.st_dev, st.st_ino, st.st_size, st.st_mtim, {}} : parsed_file{};
    s.path = path;
    s.port = port;
    s.valid = true;
  }
  s.checked = tl_lookup;
  return s;
}

}  // namespace

void new_lookup() noexcept { ++tl_lookup; }

const char* resolv_conf_path() noexcept {
  const char* p = std::getenv("WEFT_RESOLV_CONF");
  return p && *p ? p : "/etc/resolv.conf";
}

const std::string& resolv_conf_key() { return current_resolv().key; }

const resolv_conf& load_resolv_conf() { return current_resolv().rc; }

const char* hosts_path() noexcept {
  const char* p = std::getenv("WEFT_HOSTS");
  return p && *p ? p : "/etc/hosts";
}

hosts_match hosts_by_name(const char* name, int family) {
  hosts_match m;
  std::vector<std::string> names;  // every name of every line naming the host, file order
  read_lines(hosts_path(), [&](const std::vector<std::string>& w) {
    if (w.size() < 2) return;
    host_addr ha{};
    if (inet_pton(AF_INET, w[0].c_str(), &ha.a) == 1) ha.family = AF_INET;
    else if (inet_pton(AF_INET6, w[0].c_str(), &ha.a) == 1) ha.family = AF_INET6;
    else return;
    bool hit = false;
    for (std::size_t i = 1; i < w.size() && !hit; ++i) hit = ::strcasecmp(w[i].c_str(), name) == 0;
    if (!hit) return;
    for (std::size_t i = 1; i < w.size(); ++i)
      if (std::find(names.begin(), names.end(), w[i]) == names.end()) names.push_back(w[i]);
    if (family == AF_INET && ha.family == AF_INET6) {
      // glibc's files backend, asked for AF_INET, turns a v4-mapped line
      // into its IPv4 address and ::1 into 127.0.0.1, and skips other IPv6.
      auto* b = reinterpret_cast<unsigned char*>(&ha.a);
      if (IN6_IS_ADDR_V4MAPPED(&ha.a)) {
        std::memmove(b, b + 12, 4);
      } else if (IN6_IS_ADDR_LOOPBACK(&ha.a)) {
        in_addr_t lo = htonl(INADDR_LOOPBACK);
        std::memcpy(b, &lo, 4);
      } else {
        return;
      }
      std::memset(b + 4, 0, 12);
      ha.family = AF_INET;
    }
    if (family != AF_UNSPEC && family != ha.family) return;
    if (!m.found) m.canon = w[1];
    m.found = true;
    m.addrs.push_back(ha);
  });
  // Like glibc (2.26+), the aliases merge the names of every line naming the
  // host, whatever the line's family; only the addresses are filtered.
  for (const std::string& n : names)
    if (n != m.canon) m.aliases.push_back(n);
  return m;
}

bool hosts_by_addr(int family, const void* addr, std::string& name) {
  bool found = false;
  std::size_t len = family == AF_INET ? 4 : 16;
  read_lines(hosts_path(), [&](const std::vector<std::string>& w) {
    if (found || w.size() < 2) return;
    in6_addr a{};
    if (inet_pton(family, w[0].c_str(), &a) != 1) return;
    if (std::memcmp(&a, addr, len) != 0) return;
    name = w[1];
    found = true;
  });
  return found;
}

std::vector<std::string> hosts_sources() {
  std::vector<std::string> out;
  bool seen = false;
  read_lines("/etc/nsswitch.conf", [&](const std::vector<std::string>& w) {
    if (seen || w[0] != "hosts:") return;
    seen = true;
    for (std::size_t i = 1; i < w.size(); ++i)
      if (w[i] == "files" || w[i] == "dns") out.push_back(w[i]);
  });
  if (!seen) out = {"files", "dns"};
  return out;
}

}  // namespace weft::hooks::dns
