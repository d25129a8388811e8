// hooks/mux_hooks.cpp — ppoll, select, pselect, epoll_wait, epoll_pwait and
// epoll_pwait2 on fibers, event-driven.
//
// Every call first looks without waiting (the real call with a zero
// timeout, and the caller's sigmask for the p- variants), so errors
// (EBADF, EINVAL), results and fd_set/revents contents are the kernel's.
// If nothing is ready the fiber parks on one fd until it is readable or the
// deadline passes — never busy-polls — and then looks again:
//   * ppoll/select/pselect: a private level-triggered epoll instance over
//     the set (readable when any member is ready);
//   * epoll_wait/epoll_pwait[2]: the user's own epoll fd (itself pollable).
// With no fds at all they sleep. A weft::timeout scope gives -1/ETIMEDOUT,
// a cancel -1/ECANCELED. select updates its timeval to the time not slept,
// as Linux does.
//
// Signals: a caught signal ends the wait with -1/EINTR (these calls are
// never restarted; runtime/signals.hpp says which parked call it ends).
// The sigmask of ppoll/pselect/epoll_pwait[2] is applied (atomically, by
// the kernel) during each look, so a signal pending at the start or at a
// wake-up that the mask unblocks is delivered and gives -1/EINTR like the
// real call; while the fiber is parked, the carrier's poller waits with the
// signals the mask unblocks let through, so one arriving then ends the wait
// too (delivered within about a millisecond if other fibers keep the
// carrier busy).
#include "hook_core.hpp"

#include <poll.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/select.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <vector>

namespace hk = weft::hooks;
using weft::io_event;
using weft::detail::ns_t;
using weft::detail::wake;

namespace {

namespace rt = weft::rt;

// The real calls (the hooks would call themselves).
int real_ppoll(pollfd* f, nfds_t n, const timespec* t, const sigset_t* m) { return WEFT_REAL(ppoll)(f, n, t, m); }
int real_pselect(int n, fd_set* r, fd_set* w, fd_set* x, const timespec* t, const sigset_t* m) {
  return WEFT_REAL(pselect)(n, r, w, x, t, m);
}
int real_select(int n, fd_set* r, fd_set* w, fd_set* x, timeval* t) { return WEFT_REAL(select)(n, r, w, x, t); }
using pwait2_fn = int (*)(int, epoll_event*, int, const timespec*, const sigset_t*);
// real_pwait2() is libc's epoll_pwait2, or nullptr if this libc lacks it.
pwait2_fn real_pwait2() noexcept {
  static const auto f = reinterpret_cast<pwait2_fn>(weft::detail::libc_next_opt("epoll_pwait2"));
  return f;
}

constexpr timespec zero_ts{0, 0};

// deadline_of() is now + the timespec (nullptr: no deadline).
ns_t deadline_of(const timespec* t) noexcept {
  if (!t) return weft::detail::no_deadline;
  if (t->tv_sec > 1000000000L) return weft::detail::no_deadline;  // > 31 years: never
  return weft::detail::now_ns() + ns_t(t->tv_sec) * 1000000000 + t->tv_nsec;
}

// private_epoll() builds a level-triggered epoll instance over (fd, events)
// pairs (POLL* bits are EPOLL* bits on Linux; the same fd twice is watched
// for the union); -1 if it cannot. Fds epoll refuses (regular files) are
// skipped: the looks report them ready anyway.
int private_epoll(const std::vector<pollfd>& set) noexcept {
  int ep = epoll_create1(EPOLL_CLOEXEC);
  if (ep < 0) return -1;
  for (std::size_t i = 0; i < set.size(); ++i) {
    if (set[i].fd < 0) continue;
    epoll_event e{};
    e.data.fd = set[i].fd;
    e.events = static_cast<std::uint16_t>(set[i].events);
    if (epoll_ctl(ep, EPOLL_CTL_ADD, set[i].fd, &e) == 0 || errno != EEXIST) continue;
    for (std::size_t j = 0; j < i; ++j)
      if (set[j].fd == set[i].fd) e.events |= static_cast<std::uint16_t>(set[j].events);
    epoll_ctl(ep, EPOLL_CTL_MOD, set[i].fd, &e);
  }
  return ep;
}

// wait_loop() parks on `fd` (or just sleeps when fd < 0) until look()
// reports something (> 0) or an error (< 0), or the deadline passes (then a
// last look decides: 0 or what it found). Returns look()'s result, or -1
// with ETIMEDOUT / ECANCELED. Fiber only.
// An fd the poller cannot watch (ELOOP for a deeply nested epoll fd) costs
// no spin: the poller itself then wakes the fiber once per millisecond.
template <class Look>
int wait_loop(int fd, ns_t deadline, const sigset_t* mask, Look&& look) {
  for (;;) {
    wake w = fd < 0 ? rt::park_until(deadline, mask)
                    : rt::park_fd(fd, io_event::readable, deadline, rt::sig_mode::always, mask);
    if (w == wake::notified || w == wake::timeout || w == wake::closed) {
      int r = look();
      if (r != 0 || w == wake::timeout) return r;
      if (w == wake::closed) {  // the fd went away and its number holds nothing now
        errno = EBADF;
        return -1;
      }
      continue;
    }
    errno = weft::hooks::wake_errno(w, 0);
    return -1;
  }
}

// poll_set() waits for a poll set on a fiber: first look was empty.
template <class Look>
int poll_set(const std::vector<pollfd>& set, ns_t deadline, const sigset_t* mask, Look&& look) {
  bool any = std::any_of(set.begin(), set.end(), [](const pollfd& p) { return p.fd >= 0; });
  int ep = -1;
  if (any) {
    ep = private_epoll(set);
    if (ep < 0) return -2;  // caller blocks in the real call
  }
  int r = wait_loop(ep, deadline, mask, look);
  if (ep >= 0) {
    int e = errno;
    rt::fd_closing(ep);
    WEFT_REAL(close)(ep);
    errno = e;
  }
  return r;
}

int do_ppoll(pollfd* fds, nfds_t n, const timespec* t, const sigset_t* mask) {
  if (!rt::on_fiber() || (t && t->tv_sec == 0 && t->tv_nsec == 0)) return real_ppoll(fds, n, t, mask);
  if (t && (t->tv_sec < 0 || t->tv_nsec < 0 || t->tv_nsec >= 1000000000)) return real_ppoll(fds, n, t, mask);
  int saved = errno;
  ns_t deadline = deadline_of(t);
  auto look = [&] { return real_ppoll(fds, n, &zero_ts, mask); };
  int r = look();
  if (r != 0) return r;
  std::vector<pollfd> set(fds, fds + n);
  r = poll_set(set, deadline, mask, look);
  if (r == -2) return real_ppoll(fds, n, t, mask);
  if (r >= 0) errno = saved;
  return r;
}

// fdset_words() is how many longs hold nfds bits.
std::size_t fdset_words(int nfds) noexcept {
  constexpr int bits = 8 * sizeof(long);
  return nfds <= 0 ? 0 : static_cast<std::size_t>((nfds + bits - 1) / bits);
}

// sel_state: copies of the caller's sets (exactly nfds bits, as the kernel
// reads them), so every look starts from the original request.
struct sel_state {
  int nfds;
  fd_set* user[3];
  std::vector<unsigned long> orig[3];
  std::vector<unsigned long> work[3];

  sel_state(int n, fd_set* r, fd_set* w, fd_set* x) : nfds(clamp(n)), user{r, w, x} {
    std::size_t words = fdset_words(nfds);
    for (int k = 0; k < 3; ++k) {
      if (!user[k]) continue;
      orig[k].resize(words);
      if (words) std::memcpy(orig[k].data(), user[k], words * sizeof(long));
      work[k] = orig[k];
    }
  }
  // clamp() bounds nfds like the kernel (which stops at its fd table size,
  // at least as large as the open fds allow): at RLIMIT_NOFILE, never
  // below FD_SETSIZE, so a big nfds does not read past the caller's sets.
  static int clamp(int n) noexcept {
    if (n <= FD_SETSIZE) return n;
    rlimit rl{};
    if (getrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur == RLIM_INFINITY) return n;
    return static_cast<int>(std::min<rlim_t>(static_cast<rlim_t>(n), std::max<rlim_t>(rl.rlim_cur, FD_SETSIZE)));
  }
  // set() makes the work sets the original request again.
  fd_set* set(int k) noexcept {
    if (!user[k]) return nullptr;
    work[k] = orig[k];
    return reinterpret_cast<fd_set*>(work[k].data());
  }
  // publish() copies the kernel's answer back to the caller's sets.
  void publish() noexcept {
    for (int k = 0; k < 3; ++k)
      if (user[k] && !work[k].empty()) std::memcpy(user[k], work[k].data(), work[k].size() * sizeof(long));
  }
  // as_poll() lists the requested fds: read -> POLLIN, write -> POLLOUT,
  // except -> POLLPRI (what select waits for).
  std::vector<pollfd> as_poll() const {
    std::vector<pollfd> v;
    constexpr int bits = 8 * sizeof(long);
    static constexpr short ev[3] = {POLLIN, POLLOUT, POLLPRI};
    for (int fd = 0; fd < nfds; ++fd) {
      short want = 0;
      for (int k = 0; k < 3; ++k)
        if (user[k] && (orig[k][fd / bits] >> (fd % bits) & 1UL)) want |= ev[k];
      if (want) v.push_back({fd, want, 0});
    }
    return v;
  }
};

// do_select() is select (tv) or pselect (ts, mask) on a fiber.
int do_select(int nfds, fd_set* r, fd_set* w, fd_set* x, ns_t deadline, bool is_p,
              const sigset_t* mask) {
  int saved = errno;
  sel_state st(nfds, r, w, x);
  auto look = [&] {
    int n;
    if (is_p) {
      n = real_pselect(st.nfds, st.set(0), st.set(1), st.set(2), &zero_ts, mask);
    } else {
      timeval z{0, 0};
      n = real_select(st.nfds, st.set(0), st.set(1), st.set(2), &z);
    }
    if (n >= 0) st.publish();  // on 0 this clears the sets, as the real call does
    return n;
  };
  int n = look();
  if (n != 0) return n;
  std::vector<pollfd> set = st.as_poll();
  n = poll_set(set, deadline, mask, look);
  if (n == -2) {  // no private epoll: block in the real call for the time left
    ns_t left = deadline == weft::detail::no_deadline ? -1 : std::max<ns_t>(0, deadline - weft::detail::now_ns());
    timespec ts{static_cast<time_t>(left / 1000000000), static_cast<long>(left % 1000000000)};
    n = real_pselect(st.nfds, st.set(0), st.set(1), st.set(2), left < 0 ? nullptr : &ts, mask);
    if (n >= 0) st.publish();
  }
  if (n >= 0) errno = saved;
  return n;
}

// do_epoll() is epoll_wait / epoll_pwait / epoll_pwait2 on the user's epoll
// fd; `t` is nullptr for no deadline.
int do_epoll(int ep, epoll_event* ev, int max, const timespec* t, const sigset_t* mask, bool p) {
  auto look = [&] {
    int r = p ? WEFT_REAL(epoll_pwait)(ep, ev, max, 0, mask) : WEFT_REAL(epoll_wait)(ep, ev, max, 0);
    // epoll with a zero timeout never reports EINTR; ppoll does: it delivers
    // a pending signal the mask unblocks, as the waiting call would.
    if (r == 0 && mask && real_ppoll(nullptr, 0, &zero_ts, mask) < 0) return -1;
    return r;
  };
  int saved = errno;
  int r = look();
  if (r != 0) return r;
  if (t && t->tv_sec == 0 && t->tv_nsec == 0) return 0;
  r = wait_loop(ep, deadline_of(t), mask, look);
  if (r >= 0) errno = saved;
  return r;
}

// ms_ts() turns a millisecond timeout (< 0: none) into a timespec.
const timespec* ms_ts(int ms, timespec* buf) noexcept {
  if (ms < 0) return nullptr;
  *buf = {ms / 1000, (ms % 1000) * 1000000L};
  return buf;
}

}  // namespace

WEFT_HOOK int ppoll(pollfd* fds, nfds_t n, const timespec* t, const sigset_t* mask) {
  return do_ppoll(fds, n, t, mask);
}

WEFT_HOOK int __ppoll_chk(pollfd* fds, nfds_t n, const timespec* t, const sigset_t* mask, size_t fdslen) {
  if (fdslen / sizeof(pollfd) < n)
    return WEFT_REAL_AS(int (*)(pollfd*, nfds_t, const timespec*, const sigset_t*, size_t), "__ppoll_chk")(
        fds, n, t, mask, fdslen);
  return do_ppoll(fds, n, t, mask);
}

WEFT_HOOK int select(int nfds, fd_set* r, fd_set* w, fd_set* x, timeval* tv) {
  if (!rt::on_fiber() || (tv && tv->tv_sec == 0 && tv->tv_usec == 0)) return real_select(nfds, r, w, x, tv);
  if (tv && (tv->tv_sec < 0 || tv->tv_usec < 0 || tv->tv_usec >= 1000000)) return real_select(nfds, r, w, x, tv);
  timespec ts{};
  if (tv) ts = {tv->tv_sec, tv->tv_usec * 1000L};
  ns_t deadline = deadline_of(tv ? &ts : nullptr);
  int n = do_select(nfds, r, w, x, deadline, false, nullptr);
  if (tv && (n >= 0 || errno == ETIMEDOUT || errno == ECANCELED || errno == EINTR) &&
      deadline != weft::detail::no_deadline) {
    // Linux stores the time not slept.
    ns_t left = std::max<ns_t>(0, deadline - weft::detail::now_ns());
    tv->tv_sec = static_cast<time_t>(left / 1000000000);
    tv->tv_usec = static_cast<suseconds_t>(left % 1000000000 / 1000);
  }
  return n;
}

WEFT_HOOK int pselect(int nfds, fd_set* r, fd_set* w, fd_set* x, const timespec* t, const sigset_t* mask) {
  if (!rt::on_fiber() || (t && t->tv_sec == 0 && t->tv_nsec == 0)) return real_pselect(nfds, r, w, x, t, mask);
  if (t && (t->tv_sec < 0 || t->tv_nsec < 0 || t->tv_nsec >= 1000000000)) return real_pselect(nfds, r, w, x, t, mask);
  return do_select(nfds, r, w, x, deadline_of(t), true, mask);
}

WEFT_HOOK int epoll_wait(int ep, epoll_event* ev, int max, int timeout) {
  if (!rt::on_fiber() || timeout == 0) return WEFT_REAL(epoll_wait)(ep, ev, max, timeout);
  timespec buf;
  return do_epoll(ep, ev, max, ms_ts(timeout, &buf), nullptr, false);
}

WEFT_HOOK int epoll_pwait(int ep, epoll_event* ev, int max, int timeout, const sigset_t* mask) {
  if (!rt::on_fiber() || timeout == 0) return WEFT_REAL(epoll_pwait)(ep, ev, max, timeout, mask);
  timespec buf;
  return do_epoll(ep, ev, max, ms_ts(timeout, &buf), mask, true);
}

WEFT_HOOK int epoll_pwait2(int ep, epoll_event* ev, int max, const timespec* t, const sigset_t* mask) {
  pwait2_fn real = real_pwait2();
  if (!real) {
    errno = ENOSYS;
    return -1;
  }
  if (!rt::on_fiber() || (t && t->tv_sec == 0 && t->tv_nsec == 0)) return real(ep, ev, max, t, mask);
  if (t && (t->tv_sec < 0 || t->tv_nsec < 0 || t->tv_nsec >= 1000000000)) return real(ep, ev, max, t, mask);
  return do_epoll(ep, ev, max, t, mask, true);
}
