// hooks/dns_resolver.cpp — the per-thread ares channel and its driving by
// fibers (see dns_resolver.hpp).
#include "dns_resolver.hpp"

#include "hook_core.hpp"

#include <ares.h>
#include <arpa/inet.h>
#include <netdb.h>
#include <sys/epoll.h>
#include <pthread.h>
#include <sys/eventfd.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <weft/errors.hpp>
#include <weft/sync.hpp>

#include <algorithm>
#include <cstring>
#include <memory>
#include <mutex>

namespace weft::hooks::dns {
namespace {

// One outstanding c-ares request. Shared by the asking fiber and the
// c-ares callback, so a fiber that gives up (cancel, weft::timeout) leaves
// the callback something valid to write to.
struct query {
  weft::event ev;  // set when done, or when this fiber must take over driving
  bool done = false;
  int status = ARES_SUCCESS;
  ares_addrinfo* ai = nullptr;  // forward answer
  std::string name;             // reverse answer
  ~query() {
    if (ai) ares_freeaddrinfo(ai);
  }
};
using query_ptr = std::shared_ptr<query>;

// The calling thread's channel.
struct channel {
  ares_channel ch = nullptr;
  int epfd = -1;
  int wakefd = -1;               // eventfd in epfd: wakes the driver
  query* driver_q = nullptr;     // the driver's own query
  std::string key;               // resolv_conf_key() it was made from
  int outstanding = 0;           // requests whose callback has not run
  // Requests in flight at once; later lookups wait here for a slot (and
  // count as in progress meanwhile). Both ends of a burst bound it: c-ares
  // 1.18 sends every request from one UDP socket per server, and a small
  // datagram takes about 830 bytes of a socket's receive buffer, so a
  // server's socket with the default net.core.rmem_default (208 KiB) holds
  // about 256 queries; beyond that a local server (dnsmasq) drops part of a
  // burst, and each lost query costs a whole timeout. Our own socket asks
  // for 1 MiB (capped by rmem_max, 208 KiB by default: about 500 answers).
  // 192 in flight hide a 20 ms server's latency 192-fold: 1,000 names in
  // about 0.1 s (docs/performance.md, "DNS against a server with latency").
  static constexpr int max_in_flight = 192;
  weft::semaphore slots{max_in_flight};
  bool driving = false;          // a fiber is the driver
  std::vector<query*> waiting;   // fibers waiting for their query (hand-off)

  ~channel() {
    if (ch) ares_destroy(ch);  // runs the callbacks with ARES_EDESTRUCTION
    for (int fd : {epfd, wakefd}) {
      if (fd < 0) continue;
      rt::disown_fd(fd);
      rt::fd_closing(fd);  // the scheduler's poller watches the epoll fd
      WEFT_REAL(close)(fd);
    }
  }
};

struct channel_holder {
  std::unique_ptr<channel> c;
};
thread_local channel_holder tl_chan;

// sock_state() mirrors c-ares' interest in its sockets into the channel's
// epoll instance. Called by c-ares, on the channel's thread.
void sock_state(void* data, ares_socket_t fd, int readable, int writable) {
  auto* c = static_cast<channel*>(data);
  int saved = errno;
  epoll_event e{};
  e.events = (readable ? EPOLLIN : 0u) | (writable ? EPOLLOUT : 0u);
  e.data.fd = fd;
  if (!readable && !writable) {
    ::epoll_ctl(c->epfd, EPOLL_CTL_DEL, fd, &e);
  } else if (::epoll_ctl(c->epfd, EPOLL_CTL_MOD, fd, &e) != 0 && errno == ENOENT) {
    ::epoll_ctl(c->epfd, EPOLL_CTL_ADD, fd, &e);
  }
  errno = saved;
}

// make_channel() builds a channel from the current resolv.conf; nullptr if
// c-ares cannot be set up.
std::unique_ptr<channel> make_channel(const std::string& key) {
  static std::once_flag once;
  std::call_once(once, [] { ares_library_init(ARES_LIB_INIT_ALL); });
  auto c = std::make_unique<channel>();
  c->key = key;
  c->epfd = rt::own_fd(::epoll_create1(EPOLL_CLOEXEC));
  if (c->epfd < 0) return nullptr;
  c->wakefd = rt::own_fd(::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC));
  if (c->wakefd < 0) return nullptr;
  epoll_event we{};
  we.events = EPOLLIN;
  we.data.fd = c->wakefd;
  if (::epoll_ctl(c->epfd, EPOLL_CTL_ADD, c->wakefd, &we) != 0) return nullptr;
  const resolv_conf& rc = load_resolv_conf();  // nothing here waits
  char lookups[] = "b";
  ares_options o{};
  o.sock_state_cb = sock_state;
  o.sock_state_cb_data = c.get();
  o.timeout = rc.timeout_ms;
  o.tries = 1;  // attempts: are retried by attempt() with a fresh timeout each, as glibc
  o.ndots = rc.ndots;
  o.domains = nullptr;  // dns_name() does the search list itself
  o.ndomains = 0;
  o.lookups = lookups;
  o.socket_receive_buffer_size = 1 << 20;  // a burst of answers must not be dropped
  // ARES_FLAG_STAYOPEN: without it c-ares closes its UDP socket whenever no
  // request is outstanding, and against a fast server (a loopback dnsmasq)
  // that is after nearly every lookup: a socket, its options, its epoll
  // registration and a close per lookup, about 12 syscalls. Every request
  // of a burst goes out of the one socket either way (c-ares 1.18 has no
  // ARES_OPT_UDP_MAX_QUERIES); max_in_flight keeps its answers within the
  // receive buffer.
  o.flags = ARES_FLAG_STAYOPEN;
  int mask = ARES_OPT_SOCK_STATE_CB | ARES_OPT_TIMEOUTMS | ARES_OPT_TRIES | ARES_OPT_NDOTS |
             ARES_OPT_DOMAINS | ARES_OPT_LOOKUPS | ARES_OPT_SOCK_RCVBUF | ARES_OPT_FLAGS;
  if (ares_init_options(&c->ch, &o, mask) != ARES_SUCCESS) {
    c->ch = nullptr;
    return nullptr;
  }
  if (ares_set_servers_ports_csv(c->ch, rc.servers_csv.c_str()) != ARES_SUCCESS) return nullptr;
  return c;
}

// get_channel() is the thread's channel, remade if the configuration
// changed and nothing is outstanding; nullptr if none can be made.
channel* get_channel() {
  // A fork()ed child must not use the parent's channel: its queries belong
  // to fibers the child does not have, and its sockets are shared. The old
  // one is left alone (destroying it would run those fibers' callbacks).
  static const int forget_in_child = pthread_atfork(nullptr, nullptr, [] { (void)tl_chan.c.release(); });
  (void)forget_in_child;
  const std::string& key = resolv_conf_key();
  auto& c = tl_chan.c;
  if (c && c->key != key && c->outstanding == 0 && !c->driving && c->waiting.empty()) c.reset();
  if (!c) c = make_channel(key);
  return c.get();
}

// pump() handles whatever c-ares' sockets have ready and c-ares' expired
// timeouts, without waiting. Channel's thread.
void pump(channel& c) {
  epoll_event evs[64];
  for (;;) {
    // The raw syscall: epoll_wait may itself be hooked.
    int n = static_cast<int>(::syscall(SYS_epoll_pwait, c.epfd, evs, 64, 0, nullptr, 8));
    for (int i = 0; i < n; ++i) {
      ares_socket_t fd = evs[i].data.fd;
      if (fd == c.wakefd) {
        std::uint64_t n;
        while (WEFT_REAL(read)(fd, &n, sizeof n) > 0) {
        }
        continue;
      }
      bool r = evs[i].events & (EPOLLIN | EPOLLERR | EPOLLHUP);
      bool w = evs[i].events & (EPOLLOUT | EPOLLERR | EPOLLHUP);
      ares_process_fd(c.ch, r ? fd : ARES_SOCKET_BAD, w ? fd : ARES_SOCKET_BAD);
    }
    if (n < 64) break;
  }
  ares_process_fd(c.ch, ARES_SOCKET_BAD, ARES_SOCKET_BAD);
}

// drive() runs the channel until q is done: parks on the epoll fd with
// c-ares' next timeout. 0, or the errno of a cancel / weft::timeout.
int drive(channel& c, query& q) {
  for (;;) {
    pump(c);
    if (q.done) return 0;
    timeval max{1, 0}, tv;
    timeval* t = ares_timeout(c.ch, &max, &tv);
    ns_t dl = detail::now_ns() + static_cast<ns_t>(t->tv_sec) * 1000000000 + t->tv_usec * 1000 + 1000000;
    detail::wake w = rt::park_fd(c.epfd, io_event::readable, dl);
    if (w == detail::wake::notified || w == detail::wake::timeout) continue;
    if (w == detail::wake::cancelled) return ECANCELED;
    if (w == detail::wake::scope_timeout) return ETIMEDOUT;
    return EIO;
  }
}

// wait_query() parks the fiber until q is done, driving the channel when
// nobody else does. 0, or ECANCELED / ETIMEDOUT (q is then abandoned).
int wait_query(channel& c, query& q) {
  if (q.done) return 0;
  // No pump() here while another fiber drives: the driver takes the
  // answers in batches when the poller wakes it (max_in_flight keeps them
  // within the socket's buffer meanwhile). A pump per submitted lookup cost
  // an epoll_pwait and a failed recvfrom per lookup.
  c.waiting.push_back(&q);
  int err = 0;
  while (!q.done) {
    if (!c.driving) {
      c.driving = true;
      c.driver_q = &q;
      err = drive(c, q);
      c.driving = false;
      c.driver_q = nullptr;
      if (err) break;
      continue;
    }
    try {
      q.ev.wait();
    } catch (const weft::cancelled&) {
      err = ECANCELED;
      break;
    } catch (const weft::timed_out&) {
      err = ETIMEDOUT;
      break;
    }
    q.ev.clear();
  }
  c.waiting.erase(std::find(c.waiting.begin(), c.waiting.end(), &q));
  if (!c.driving) {
    for (query* w : c.waiting)
      if (!w->done) {
        w->ev.set();  // hand the driving over
        break;
      }
  }
  return err;
}

int ares_to_eai(int st) {
  switch (st) {
    case ARES_SUCCESS: return 0;
    case ARES_ENOTFOUND:
    case ARES_EBADNAME: return EAI_NONAME;
    case ARES_ENODATA: return EAI_NODATA;
    case ARES_ENOMEM: return EAI_MEMORY;
    case ARES_ETIMEOUT:
    case ARES_ECONNREFUSED:
    case ARES_ESERVFAIL:
    case ARES_EREFUSED:
    case ARES_EDESTRUCTION:
    case ARES_ECANCELLED: return EAI_AGAIN;
    default: return EAI_FAIL;
  }
}

// request_ended() frees a request's slot; from c-ares callbacks. Not while
// the channel is being destroyed (tl_chan.c is already empty then).
void request_ended() noexcept {
  if (auto& c = tl_chan.c) {
    --c->outstanding;
    c->slots.release();
  }
}

void on_addrinfo(void* arg, int status, int, ares_addrinfo* res) {
  auto* qp = static_cast<query_ptr*>(arg);
  query& q = **qp;
  q.status = status;
  q.ai = res;
  q.done = true;
  q.ev.set();
  request_ended();
  delete qp;
}

void on_host(void* arg, int status, int, hostent* h) {
  auto* qp = static_cast<query_ptr*>(arg);
  query& q = **qp;
  q.status = status;
  if (status == ARES_SUCCESS && h && h->h_name) q.name = h->h_name;
  q.done = true;
  q.ev.set();
  request_ended();
  delete qp;
}

// attempt() sends a request (submit(arg) with the callback's argument)
// and waits for it, again after a timeout, up to resolv.conf's attempts:
// c-ares doubles the timeout of each retry, glibc does not. 0, or the
// errno of a cancel / weft::timeout; q is the last request.
template <class F>
int attempt(channel& c, query_ptr& q, F&& submit) {
  int attempts = load_resolv_conf().attempts;
  for (int i = 0;; ++i) {
    try {
      c.slots.acquire();
    } catch (const weft::cancelled&) {
      return ECANCELED;
    } catch (const weft::timed_out&) {
      return ETIMEDOUT;
    }
    q = std::make_shared<query>();
    ++c.outstanding;
    submit(new query_ptr(q));
    if (int err = wait_query(c, *q)) return err;
    if (q->status != ARES_ETIMEOUT || i + 1 >= attempts) return 0;
  }
}

// dns_query() asks DNS for the addresses of one absolute name (no search).
name_result dns_query(const char* name, int family, int* ares_status) {
  name_result r;
    channel* c = get_channel();
  if (!c || !rt::on_fiber()) {
    r.eai = EAI_FAIL;
    return r;
  }
  ares_addrinfo_hints h{};
  h.ai_family = family;
  h.ai_flags = ARES_AI_CANONNAME | ARES_AI_NOSORT;
  std::string fqdn = name;
  if (fqdn.empty() || fqdn.back() != '.') fqdn += '.';  // absolute: c-ares must not search
  query_ptr q;
  int err = attempt(*c, q, [&](void* arg) {
    ares_getaddrinfo(c->ch, fqdn.c_str(), nullptr, &h, on_addrinfo, arg);
  });
  if (err) {
    r.eai = EAI_SYSTEM;
    r.sys_errno = err;
    return r;
  }
  *ares_status = q->status;
  r.eai = ares_to_eai(q->status);
  if (r.eai) return r;
  r.canon = name;
  if (!r.canon.empty() && r.canon.back() == '.') r.canon.pop_back();
  // The canonical name is the end of the CNAME chain.
  for (bool moved = true; moved;) {
    moved = false;
    for (auto* cn = q->ai->cnames; cn; cn = cn->next)
      if (cn->alias && cn->name && ::strcasecmp(cn->alias, r.canon.c_str()) == 0 &&
          ::strcasecmp(cn->name, r.canon.c_str()) != 0) {
        r.aliases.push_back(r.canon);
        r.canon = cn->name;
        moved = true;
        break;
      }
    if (r.aliases.size() > 16) break;
  }
  if (!q->ai->cnames) r.aliases.clear();
  for (auto* n = q->ai->nodes; n; n = n->ai_next) {
    host_addr a{};
    a.family = n->ai_family;
    if (n->ai_family == AF_INET)
      std::memcpy(&a.a, &reinterpret_cast<sockaddr_in*>(n->ai_addr)->sin_addr, 4);
    else if (n->ai_family == AF_INET6)
      a.a = reinterpret_cast<sockaddr_in6*>(n->ai_addr)->sin6_addr;
    else
      continue;
    bool dup = false;
    for (auto& x : r.addrs) dup = dup || (x.family == a.family && std::memcmp(&x.a, &a.a, 16) == 0);
    if (!dup) r.addrs.push_back(a);
  }
  if (r.addrs.empty()) r.eai = EAI_NODATA;
  return r;
}

// dns_name() resolves name through DNS with resolv.conf's search list
// and ndots, as glibc's res_nsearch does (including which error wins).
name_result dns_name(const char* name, int family) {
  resolv_conf rc = load_resolv_conf();
  std::size_t len = std::strlen(name);
  int dots = static_cast<int>(std::count(name, name + len, '.'));
  bool trailing = len && name[len - 1] == '.';
  int st = ARES_SUCCESS;
  if (trailing) return dns_query(name, family, &st);
  name_result saved;
  bool have_saved = false, got_nodata = false, got_servfail = false;
  bool tried_as_is = false;
  if (dots >= rc.ndots) {
    tried_as_is = true;
    name_result r = dns_query(name, family, &st);
    if (r.eai == 0 || r.eai == EAI_SYSTEM) return r;
    saved = std::move(r);
    have_saved = true;
  }
  name_result last;
  last.eai = EAI_NONAME;
  bool done = false;
  for (const std::string& d : rc.search) {
    std::string q = std::string(name) + "." + d;
    last = dns_query(q.c_str(), family, &st);
    if (last.eai == 0 || last.eai == EAI_SYSTEM) return last;
    if (st == ARES_ENODATA) got_nodata = true;
    else if (st == ARES_ESERVFAIL) got_servfail = true;
    else if (st != ARES_ENOTFOUND) {
      done = true;  // a timeout or a refusal ends the search, as in glibc
      break;
    }
  }
  if (!done && !tried_as_is) {
    last = dns_query(name, family, &st);
    if (last.eai == 0 || last.eai == EAI_SYSTEM) return last;
  }
  if (have_saved) return saved;
  if (got_nodata) last.eai = EAI_NODATA;
  else if (got_servfail) last.eai = EAI_AGAIN;
  return last;
}

// precedence() is RFC 3484's default policy table, as glibc has it.
int precedence(const host_addr& a) {
  if (a.family == AF_INET) return 35;
  const auto* b = a.a.s6_addr;
  static const in6_addr loop = IN6ADDR_LOOPBACK_INIT;
  if (std::memcmp(&a.a, &loop, 16) == 0) return 50;
  if (IN6_IS_ADDR_V4MAPPED(&a.a)) return 35;
  if (b[0] == 0x20 && b[1] == 0x02) return 30;
  if (b[0] == 0x20 && b[1] == 0x01 && b[2] == 0 && b[3] == 0) return 5;
  if ((b[0] & 0xfe) == 0xfc) return 3;
  if (IN6_IS_ADDR_V4COMPAT(&a.a) || (b[0] == 0xfe && (b[1] & 0xc0) == 0xc0) || (b[0] == 0x3f && b[1] == 0xfe))
    return 1;
  return 40;
}

// usable() is RFC 3484 rule 1: the kernel has a route (and a source
// address) for the destination. Real syscalls, no waiting.
bool usable(const host_addr& a) {
  int fd = WEFT_REAL(socket)(a.family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return false;
  sockaddr_storage ss{};
  socklen_t len;
  if (a.family == AF_INET) {
    auto* s4 = reinterpret_cast<sockaddr_in*>(&ss);
    s4->sin_family = AF_INET;
    s4->sin_port = htons(53);
    std::memcpy(&s4->sin_addr, &a.a, 4);
    len = sizeof *s4;
  } else {
    auto* s6 = reinterpret_cast<sockaddr_in6*>(&ss);
    s6->sin6_family = AF_INET6;
    s6->sin6_port = htons(53);
    s6->sin6_addr = a.a;
    len = sizeof *s6;
  }
  bool ok = WEFT_REAL(connect)(fd, reinterpret_cast<sockaddr*>(&ss), len) == 0;
  WEFT_REAL(close)(fd);
  return ok;
}

}  // namespace

void sort_addrs(std::vector<host_addr>& v) {
  if (v.size() < 2) return;
  int saved = errno;
  struct key {
    bool ok;
    int prec;
  };
  std::vector<std::pair<key, host_addr>> k;
  for (auto& a : v) k.push_back({{usable(a), precedence(a)}, a});
  std::stable_sort(k.begin(), k.end(), [](const auto& x, const auto& y) {
    if (x.first.ok != y.first.ok) return x.first.ok;
    return x.first.prec > y.first.prec;
  });
  for (std::size_t i = 0; i < v.size(); ++i) v[i] = k[i].second;
  errno = saved;
}

name_result lookup_name(const char* name, int family) {
  new_lookup();
  name_result r;
  r.eai = EAI_NONAME;
  for (const std::string& src : hosts_sources()) {
    if (src == "files") {
      hosts_match m = hosts_by_name(name, family);
      if (!m.found) continue;
      r.eai = 0;
      r.canon = m.canon;
      r.aliases = m.aliases;
      r.addrs = m.addrs;
      break;
    }
    name_result d = dns_name(name, family);
    if (d.eai == 0 || d.eai == EAI_SYSTEM) {
      r = std::move(d);
      if (r.eai == 0) break;
      return r;  // cancelled / timed out: no further source
    }
    r.eai = d.eai;
  }
  if (r.eai == 0) sort_addrs(r.addrs);
  return r;
}

addr_result lookup_addr(int family, const void* addr) {
  new_lookup();
  addr_result r;
  r.eai = EAI_NONAME;
  for (const std::string& src : hosts_sources()) {
    if (src == "files") {
      if (hosts_by_addr(family, addr, r.name)) {
        r.eai = 0;
        return r;
      }
      continue;
    }
        channel* c = get_channel();
    if (!c || !rt::on_fiber()) {
      r.eai = EAI_FAIL;
      continue;
    }
    query_ptr q;
    int err = attempt(*c, q, [&](void* arg) {
      ares_gethostbyaddr(c->ch, addr, family == AF_INET ? 4 : 16, family, on_host, arg);
    });
    if (err) {
      r.eai = EAI_SYSTEM;
      r.sys_errno = err;
      return r;
    }
    r.eai = ares_to_eai(q->status);
    if (r.eai == EAI_NODATA) r.eai = EAI_NONAME;
    if (r.eai == 0) {
      r.name = q->name;
      return r;
    }
  }
  return r;
}

}  // namespace weft::hooks::dns
