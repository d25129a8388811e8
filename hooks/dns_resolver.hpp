// hooks/dns_resolver.hpp — name and address lookups for the DNS hooks, on
// a fiber, through c-ares driven by the fiber's own scheduler.
//
// One ares channel per thread (c-ares has no locking; a thread runs one
// scheduler at a time), made at the first lookup and remade when the
// resolv.conf in use changes while no query is outstanding. c-ares reports
// its sockets through ARES_OPT_SOCK_STATE_CB into a private epoll instance;
// one fiber at a time (the "driver", any fiber with a lookup outstanding)
// parks on that epoll fd through the scheduler's poller, with the deadline
// from ares_timeout, and runs ares_process_fd; the other lookup fibers wait
// on their own event and take over driving when the driver leaves.
//
// Sources follow nsswitch.conf's hosts line (files, dns); the hosts file is
// read here, c-ares only does DNS (lookups "b").
#pragma once
#include "dns_config.hpp"

#include <string>
#include <vector>

namespace weft::hooks::dns {

// The outcome of a forward lookup.
struct name_result {
  int eai = 0;        // 0, EAI_NONAME, EAI_NODATA, EAI_AGAIN, EAI_FAIL, EAI_MEMORY, EAI_SYSTEM
  int sys_errno = 0;  // with EAI_SYSTEM: ECANCELED (fiber cancelled), ETIMEDOUT (weft::timeout)
  std::string canon;  // the canonical name
  std::vector<std::string> aliases;
  std::vector<host_addr> addrs;  // sorted as glibc sorts (RFC 3484 rules 1 and 6)
};

// lookup_name() resolves name for family (AF_INET, AF_INET6, AF_UNSPEC)
// through the sources of nsswitch.conf. Fiber only (parks the fiber).
name_result lookup_name(const char* name, int family);

// The outcome of a reverse lookup.
struct addr_result {
  int eai = 0;  // 0, EAI_NONAME, EAI_AGAIN, EAI_FAIL, EAI_MEMORY, EAI_SYSTEM
  int sys_errno = 0;
  std::string name;
};

// lookup_addr() finds the name of an address (4 or 16 bytes, by family):
// hosts file, then PTR through DNS, in nsswitch order. Fiber only.
addr_result lookup_addr(int family, const void* addr);

// sort_addrs() orders addresses as glibc's getaddrinfo does, by RFC 3484
// rule 1 (reachable first) and rule 6 (precedence); stable otherwise.
// Callable anywhere.
void sort_addrs(std::vector<host_addr>& v);

}  // namespace weft::hooks::dns
