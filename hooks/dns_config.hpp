// hooks/dns_config.hpp — what the DNS hooks read from the system files:
// resolv.conf (nameservers, search, ndots, timeout:, attempts:), the hosts
// file and the `hosts:` line of nsswitch.conf. Plain file parsing, no
// c-ares; callable from any thread. Parses are cached per thread; a file is
// stat()ed again (and re-read if it changed) once per lookup: new_lookup().
//
// WEFT_RESOLV_CONF and WEFT_HOSTS name other files (tests). Only under
// WEFT_RESOLV_CONF may a nameserver carry a port (`nameserver
// 127.0.0.1:5353`, `nameserver [::1]:5353`); WEFT_DNS_PORT sets the port of
// every nameserver that names none.
#pragma once
#include <netinet/in.h>

#include <string>
#include <vector>

namespace weft::hooks::dns {

// One resolver configuration, as glibc would read it.
struct resolv_conf {
  std::string servers_csv;          // "ip:port,[ip6]:port,..." for ares_set_servers_ports_csv
  std::vector<std::string> search;  // search domains (the last search/domain line wins)
  int ndots = 1;
  int timeout_ms = 5000;  // timeout:N (seconds), glibc caps at 30
  int attempts = 2;       // attempts:N, glibc caps at 5
};

// new_lookup() starts a lookup on this thread: the files (and WEFT_*
// variables) are looked at again, once, by the calls that follow.
void new_lookup() noexcept;
// resolv_conf_path() is WEFT_RESOLV_CONF if set, else /etc/resolv.conf.
const char* resolv_conf_path() noexcept;
// load_resolv_conf() is resolv_conf_path() parsed; a missing file gives
// glibc's defaults (nameserver 127.0.0.1). The reference is to the
// thread's cache: copy what must survive a wait (another fiber's lookup
// may refresh it).
const resolv_conf& load_resolv_conf();
// resolv_conf_key() changes when the configuration may have changed
// (path, file mtime, size and inode, WEFT_DNS_PORT); the same cache.
const std::string& resolv_conf_key();

// One address from the hosts file.
struct host_addr {
  int family;  // AF_INET or AF_INET6
  in6_addr a;  // for AF_INET the first 4 bytes hold the in_addr
};

// What the hosts file says about a name: every line naming it (glibc's
// getaddrinfo takes them all, in file order).
struct hosts_match {
  bool found = false;
  std::string canon;                 // first name of the first matching line
  std::vector<std::string> aliases;  // the other names of that line
  std::vector<host_addr> addrs;      // addresses of every matching line
};

// hosts_path() is WEFT_HOSTS if set, else /etc/hosts.
const char* hosts_path() noexcept;
// hosts_by_name() looks name up (case-insensitive) in the hosts file;
// addresses of other families than `family` (AF_UNSPEC: any) are left out.
hosts_match hosts_by_name(const char* name, int family);
// hosts_by_addr() finds the first name given to the address in the hosts
// file; false if none.
bool hosts_by_addr(int family, const void* addr, std::string& name);

// The sources of nsswitch.conf's `hosts:` line that weft implements, in
// order ("files", "dns"); others (mdns, myhostname...) and [action] items
// are skipped. Default: files, dns.
std::vector<std::string> hosts_sources();

}  // namespace weft::hooks::dns
