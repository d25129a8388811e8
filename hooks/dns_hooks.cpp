// hooks/dns_hooks.cpp — getaddrinfo, freeaddrinfo, getnameinfo,
// gethostbyname[2][_r], gethostbyaddr[_r]: on a fiber, lookups go through
// dns_resolver (c-ares on the fiber's scheduler); off a fiber, and for
// everything that needs no lookup (numeric hosts, services, flag checks),
// glibc's own functions run, so results and EAI_* codes are glibc's.
#include "dns_resolver.hpp"
#include "hook_core.hpp"
#include "options.hpp"

#include <arpa/inet.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <netdb.h>

#include <cstdlib>
#include <cstring>
#include <string>

namespace rt = weft::rt;

namespace {
// resolve_here() is true when a lookup goes through c-ares on this fiber.
bool resolve_here() noexcept { return weft::hooks::dns_hooked() && rt::on_fiber(); }
}  // namespace

namespace weft::hooks::dns {
namespace {

// is_numeric() is true when glibc takes host as an address literal (no
// name service is asked).
bool is_numeric(const char* host) {
  addrinfo h{};
  h.ai_flags = AI_NUMERICHOST;
  addrinfo* r = nullptr;
  if (WEFT_REAL(getaddrinfo)(host, nullptr, &h, &r) != 0) return false;
  WEFT_REAL(freeaddrinfo)(r);
  return true;
}

// digits_dots() is true when glibc's gethostbyname* answers without the
// name services (__nss_hostname_digits_dots): digits and dots, or a colon.
bool digits_dots(const char* name) {
  if (std::strchr(name, ':')) return true;
  if (!*name) return false;
  for (const char* p = name; *p; ++p)
    if (!((*p >= '0' && *p <= '9') || *p == '.')) return false;
  return true;
}

// configured() tells which families have a non-loopback address, as
// glibc's AI_ADDRCONFIG sees them.
void configured(bool& v4, bool& v6) {
  v4 = v6 = false;
  ifaddrs* ifa = nullptr;
  if (::getifaddrs(&ifa) != 0) {
    v4 = v6 = true;
    return;
  }
  for (ifaddrs* p = ifa; p; p = p->ifa_next) {
    if (!p->ifa_addr) continue;
    if (p->ifa_addr->sa_family == AF_INET) {
      auto* s = reinterpret_cast<sockaddr_in*>(p->ifa_addr);
      if (s->sin_addr.s_addr != htonl(INADDR_LOOPBACK)) v4 = true;
    } else if (p->ifa_addr->sa_family == AF_INET6) {
      auto* s = reinterpret_cast<sockaddr_in6*>(p->ifa_addr);
      if (!IN6_IS_ADDR_LOOPBACK(&s->sin6_addr)) v6 = true;
    }
  }
  ::freeifaddrs(ifa);
}

// templ() asks glibc for the socket types, protocols and port of
// (service, hints) on a numeric address of `family`; also validates the
// flags, family, socktype and service exactly as glibc does.
int templ(int family, const char* service, const addrinfo& h, addrinfo** out) {
  addrinfo t = h;
  t.ai_family = family;
  t.ai_flags = (h.ai_flags & ~(AI_ADDRCONFIG | AI_CANONNAME | AI_V4MAPPED | AI_ALL)) | AI_NUMERICHOST;
  return WEFT_REAL(getaddrinfo)(family == AF_INET6 ? "::" : "0.0.0.0", service, &t, out);
}

// to_mapped() turns an IPv4 address into ::ffff:a.b.c.d.
host_addr to_mapped(const host_addr& a) {
  host_addr m{};
  m.family = AF_INET6;
  m.a.s6_addr[10] = m.a.s6_addr[11] = 0xff;
  std::memcpy(&m.a.s6_addr[12], &a.a, 4);
  return m;
}

// build() makes glibc-shaped results: one block per entry (addrinfo then
// its sockaddr), the canonical name on the first, so glibc's freeaddrinfo
// frees them.
int build(const std::vector<host_addr>& addrs, addrinfo* t4, addrinfo* t6, int flags, const std::string* canon,
          addrinfo** res) {
  addrinfo* head = nullptr;
  addrinfo** tail = &head;
  for (const host_addr& a : addrs) {
    for (addrinfo* t = a.family == AF_INET ? t4 : t6; t; t = t->ai_next) {
      auto* ai = static_cast<addrinfo*>(std::calloc(1, sizeof(addrinfo) + t->ai_addrlen));
      if (!ai) {
        WEFT_REAL(freeaddrinfo)(head);
        return EAI_MEMORY;
      }
      ai->ai_flags = flags;
      ai->ai_family = a.family;
      ai->ai_socktype = t->ai_socktype;
      ai->ai_protocol = t->ai_protocol;
      ai->ai_addrlen = t->ai_addrlen;
      ai->ai_addr = reinterpret_cast<sockaddr*>(ai + 1);
      std::memcpy(ai->ai_addr, t->ai_addr, t->ai_addrlen);
      if (a.family == AF_INET)
        std::memcpy(&reinterpret_cast<sockaddr_in*>(ai->ai_addr)->sin_addr, &a.a, 4);
      else
        reinterpret_cast<sockaddr_in6*>(ai->ai_addr)->sin6_addr = a.a;
      *tail = ai;
      tail = &ai->ai_next;
    }
  }
  if (head && canon) {
    head->ai_canonname = ::strdup(canon->c_str());
    if (!head->ai_canonname) {
      WEFT_REAL(freeaddrinfo)(head);
      return EAI_MEMORY;
    }
  }
  *res = head;
  return 0;
}

// fiber_getaddrinfo() is getaddrinfo for a host name on a fiber.
int fiber_getaddrinfo(const char* node, const char* service, const addrinfo* hints, addrinfo** res) {
  addrinfo h{};
  if (hints) h = *hints;
  else h.ai_flags = AI_V4MAPPED | AI_ADDRCONFIG;  // glibc's AI_DEFAULT
  // Checks of flags, family, socktype and service come first, as in glibc.
  addrinfo* first = nullptr;
  int rc = templ(h.ai_family, service, h, &first);
  if (rc != 0) return rc;
  WEFT_REAL(freeaddrinfo)(first);
  if (!*node) return EAI_NONAME;
  int family = h.ai_family;
  if (h.ai_flags & AI_ADDRCONFIG) {
    bool v4, v6;
    configured(v4, v6);
    if (family == AF_UNSPEC && (v4 || v6)) {
      if (v4 != v6) family = v4 ? AF_INET : AF_INET6;
    } else if ((family == AF_INET && !v4) || (family == AF_INET6 && !v6)) {
      return EAI_NONAME;
    }
  }
  bool mapped = family == AF_INET6 && (h.ai_flags & AI_V4MAPPED);
  name_result r = lookup_name(node, mapped ? AF_UNSPEC : family);
  if (r.eai == EAI_SYSTEM) errno = r.sys_errno;
  if (r.eai != 0) return r.eai;
  if (mapped) {
    std::vector<host_addr> v6;
    for (auto& a : r.addrs)
      if (a.family == AF_INET6) v6.push_back(a);
    if (v6.empty() || (h.ai_flags & AI_ALL)) {
      // The IPv4 part is an AF_INET lookup of its own, as in glibc: the hosts
      // file then also maps ::1 and v4-mapped lines to IPv4 addresses.
      name_result r4 = lookup_name(node, AF_INET);
      if (r4.eai == 0)
        for (auto& a : r4.addrs) v6.push_back(to_mapped(a));
      sort_addrs(v6);
    }
    if (v6.empty()) return EAI_NODATA;
    r.addrs = std::move(v6);
  }
  addrinfo *t4 = nullptr, *t6 = nullptr;
  bool need4 = false, need6 = false;
  for (auto& a : r.addrs) (a.family == AF_INET ? need4 : need6) = true;
  if (need4 && (rc = templ(AF_INET, service, h, &t4)) != 0) return rc;
  if (need6 && (rc = templ(AF_INET6, service, h, &t6)) != 0) {
    if (t4) WEFT_REAL(freeaddrinfo)(t4);
    return rc;
  }
  rc = build(r.addrs, t4, t6, h.ai_flags, (h.ai_flags & AI_CANONNAME) ? &r.canon : nullptr, res);
  if (t4) WEFT_REAL(freeaddrinfo)(t4);
  if (t6) WEFT_REAL(freeaddrinfo)(t6);
  return rc;
}

// set_herr() maps a lookup result to h_errno and the _r return value.
int set_herr(int eai, int sys_errno, int* h_errnop) {
  switch (eai) {
    case EAI_NONAME: *h_errnop = HOST_NOT_FOUND; return ENOENT;
    case EAI_NODATA: *h_errnop = NO_DATA; return ENOENT;
    case EAI_AGAIN: *h_errnop = TRY_AGAIN; return EAGAIN;
    case EAI_MEMORY: *h_errnop = NETDB_INTERNAL; return ENOMEM;
    case EAI_SYSTEM: *h_errnop = NETDB_INTERNAL; return sys_errno;
    default: *h_errnop = NO_RECOVERY; return ENOENT;
  }
}

// fill_hostent() lays out a hostent in buf: addresses, the address and
// alias pointer arrays, then the strings. ERANGE if buf is too small.
int fill_hostent(const std::string& name, const std::vector<std::string>& aliases,
                 const std::vector<const void*>& addrs, int af, hostent* ret, char* buf, size_t buflen) {
  int len = af == AF_INET ? 4 : 16;
  std::size_t need = addrs.size() * len + (addrs.size() + 1 + aliases.size() + 1) * sizeof(char*) +
                     name.size() + 1 + alignof(char*);
  for (auto& a : aliases) need += a.size() + 1;
  if (need > buflen) return ERANGE;
  char* p = buf;
  auto pad = reinterpret_cast<std::uintptr_t>(p) % alignof(char*);
  if (pad) p += alignof(char*) - pad;
  char** addr_list = reinterpret_cast<char**>(p);
  p += (addrs.size() + 1) * sizeof(char*);
  char** alias_list = reinterpret_cast<char**>(p);
  p += (aliases.size() + 1) * sizeof(char*);
  for (std::size_t i = 0; i < addrs.size(); ++i) {
    std::memcpy(p, addrs[i], len);
    addr_list[i] = p;
    p += len;
  }
  addr_list[addrs.size()] = nullptr;
  for (std::size_t i = 0; i < aliases.size(); ++i) {
    std::memcpy(p, aliases[i].c_str(), aliases[i].size() + 1);
    alias_list[i] = p;
    p += aliases[i].size() + 1;
  }
  alias_list[aliases.size()] = nullptr;
  std::memcpy(p, name.c_str(), name.size() + 1);
  ret->h_name = p;
  ret->h_aliases = alias_list;
  ret->h_addrtype = af;
  ret->h_length = len;
  ret->h_addr_list = addr_list;
  return 0;
}

// Static storage of the non-_r forms (glibc's is per process; this is per
// thread, which is at least as safe).
struct static_host {
  hostent h;
  char buf[8192];
};
thread_local static_host tl_host;

}  // namespace
}  // namespace weft::hooks::dns

using namespace weft::hooks;
using namespace weft::hooks::dns;

WEFT_HOOK int getaddrinfo(const char* node, const char* service, const addrinfo* hints, addrinfo** res) {
  if (!resolve_here() || node == nullptr || is_numeric(node) || (hints && (hints->ai_flags & AI_NUMERICHOST)))
    return WEFT_REAL(getaddrinfo)(node, service, hints, res);
  int saved = errno;  // a successful call leaves errno alone
  int rc = fiber_getaddrinfo(node, service, hints, res);
  if (rc == 0) errno = saved;
  return rc;
}

WEFT_HOOK void freeaddrinfo(addrinfo* ai) { WEFT_REAL(freeaddrinfo)(ai); }

WEFT_HOOK int getnameinfo(const sockaddr* sa, socklen_t salen, char* host, socklen_t hostlen, char* serv,
                          socklen_t servlen, int flags) {
  if (!resolve_here() || !host || hostlen == 0 || (flags & NI_NUMERICHOST) || !sa ||
      (sa->sa_family != AF_INET && sa->sa_family != AF_INET6))
    return WEFT_REAL(getnameinfo)(sa, salen, host, hostlen, serv, servlen, flags);
  int saved = errno;
  // glibc checks the arguments and makes the service and numeric host.
  char num[INET6_ADDRSTRLEN + IF_NAMESIZE + 2];
  int rc = WEFT_REAL(getnameinfo)(sa, salen, num, sizeof num, serv, servlen, (flags | NI_NUMERICHOST) & ~NI_NAMEREQD);
  if (rc != 0) return rc;
  const void* addr = sa->sa_family == AF_INET
                         ? static_cast<const void*>(&reinterpret_cast<const sockaddr_in*>(sa)->sin_addr)
                         : static_cast<const void*>(&reinterpret_cast<const sockaddr_in6*>(sa)->sin6_addr);
  addr_result r = lookup_addr(sa->sa_family, addr);
  if (r.eai == EAI_SYSTEM) {
    errno = r.sys_errno;
    return EAI_SYSTEM;
  }
  if (r.eai == EAI_AGAIN) return EAI_AGAIN;
  const std::string* out = nullptr;
  std::string numeric = num;
  if (r.eai == 0) out = &r.name;
  else if (flags & NI_NAMEREQD) return EAI_NONAME;
  else out = &numeric;
  if (out->size() + 1 > hostlen) return EAI_OVERFLOW;
  std::memcpy(host, out->c_str(), out->size() + 1);
  errno = saved;
  return 0;
}

// answer_r() ends a *_r hook: the lookup's error (h_errno and errno as
// glibc sets them), or the hostent laid out in buf and errno as it was.
static int answer_r(int eai, int sys_errno, const std::string& name, const std::vector<std::string>& aliases,
             const std::vector<const void*>& addrs, int af, hostent* ret, char* buf, size_t buflen,
             hostent** result, int* h_errnop, int saved) {
  if (eai != 0) {
    int e = set_herr(eai, sys_errno, h_errnop);
    errno = e;
    return e;
  }
  if (fill_hostent(name, aliases, addrs, af, ret, buf, buflen) != 0) {
    *h_errnop = NETDB_INTERNAL;
    errno = ERANGE;
    return ERANGE;
  }
  *result = ret;
  errno = saved;
  return 0;
}

WEFT_HOOK int gethostbyname2_r(const char* name, int af, hostent* ret, char* buf, size_t buflen, hostent** result,
                               int* h_errnop) {
  if (!resolve_here() || !name || (af != AF_INET && af != AF_INET6) || digits_dots(name))
    return WEFT_REAL(gethostbyname2_r)(name, af, ret, buf, buflen, result, h_errnop);
  *result = nullptr;
  int saved = errno;
  name_result r = lookup_name(name, af);
  std::vector<const void*> addrs;
  for (auto& a : r.addrs) addrs.push_back(&a.a);
  return answer_r(r.eai, r.sys_errno, r.canon, r.aliases, addrs, af, ret, buf, buflen, result, h_errnop, saved);
}

WEFT_HOOK int gethostbyname_r(const char* name, hostent* ret, char* buf, size_t buflen, hostent** result,
                              int* h_errnop) {
  if (!resolve_here()) return WEFT_REAL(gethostbyname_r)(name, ret, buf, buflen, result, h_errnop);
  return gethostbyname2_r(name, AF_INET, ret, buf, buflen, result, h_errnop);
}

WEFT_HOOK hostent* gethostbyname2(const char* name, int af) {
  if (!resolve_here()) return WEFT_REAL(gethostbyname2)(name, af);
  hostent* out = nullptr;
  int herr = 0;
  gethostbyname2_r(name, af, &tl_host.h, tl_host.buf, sizeof tl_host.buf, &out, &herr);
  if (!out) h_errno = herr;
  return out;
}

WEFT_HOOK hostent* gethostbyname(const char* name) {
  if (!resolve_here()) return WEFT_REAL(gethostbyname)(name);
  return gethostbyname2(name, AF_INET);
}

WEFT_HOOK int gethostbyaddr_r(const void* addr, socklen_t len, int type, hostent* ret, char* buf, size_t buflen,
                              hostent** result, int* h_errnop) {
  if (!resolve_here() || !addr || !((type == AF_INET && len == 4) || (type == AF_INET6 && len == 16)))
    return WEFT_REAL(gethostbyaddr_r)(addr, len, type, ret, buf, buflen, result, h_errnop);
  *result = nullptr;
  int saved = errno;
  addr_result r = lookup_addr(type, addr);
  return answer_r(r.eai, r.sys_errno, r.name, {}, {addr}, type, ret, buf, buflen, result, h_errnop, saved);
}

WEFT_HOOK hostent* gethostbyaddr(const void* addr, socklen_t len, int type) {
  if (!resolve_here()) return WEFT_REAL(gethostbyaddr)(addr, len, type);
  hostent* out = nullptr;
  int herr = 0;
  gethostbyaddr_r(addr, len, type, &tl_host.h, tl_host.buf, sizeof tl_host.buf, &out, &herr);
  if (!out) h_errno = herr;
  return out;
}
