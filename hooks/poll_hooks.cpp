// hooks/poll_hooks.cpp — poll (and __poll_chk) on fibers, event-driven.
//
// poll first looks without waiting. If nothing is ready, one fd waiting for
// exactly POLLIN or POLLOUT parks on the scheduler's poller directly; any
// other set goes into a private level-triggered epoll instance, and the
// fiber parks on that epoll fd (readable when any member is ready). Either
// way the fiber sleeps until an event or the deadline — never busy-polls —
// then poll(…, 0) fills in revents. poll(NULL, 0, ms) just sleeps.
// A weft::timeout scope gives -1/ETIMEDOUT, a cancel -1/ECANCELED, a caught
// signal -1/EINTR (poll is never restarted).
#include "hook_core.hpp"

#include <poll.h>
#include <sys/epoll.h>

namespace hk = weft::hooks;
namespace rt = weft::rt;
using weft::io_event;
using weft::detail::ns_t;
using weft::detail::wake;

namespace {

// watch_set() builds a private epoll instance over the fds of the set;
// -1 if it cannot (the caller then blocks in the real poll).
int watch_set(pollfd* fds, nfds_t n) noexcept {
  int ep = epoll_create1(EPOLL_CLOEXEC);
  if (ep < 0) return -1;
  for (nfds_t i = 0; i < n; ++i) {
    if (fds[i].fd < 0) continue;
    epoll_event e{};
    e.data.fd = fds[i].fd;
    e.events = static_cast<std::uint16_t>(fds[i].events);  // POLL* bits are EPOLL* bits on Linux
    if (epoll_ctl(ep, EPOLL_CTL_ADD, fds[i].fd, &e) == 0) continue;
    if (errno != EEXIST) continue;  // EPERM: a file poll reports ready anyway
    for (nfds_t j = 0; j < i; ++j)  // the same fd twice: watch the union
      if (fds[j].fd == fds[i].fd) e.events |= static_cast<std::uint16_t>(fds[j].events);
    epoll_ctl(ep, EPOLL_CTL_MOD, fds[i].fd, &e);
  }
  return ep;
}

// real_poll() is libc's poll.
int real_poll(pollfd* fds, nfds_t n, int timeout) { return WEFT_REAL(poll)(fds, n, timeout); }

// fiber_poll() is poll on a fiber whose set is not ready yet.
int fiber_poll(pollfd* fds, nfds_t n, int timeout) {
  ns_t deadline = timeout < 0 ? weft::detail::no_deadline : weft::detail::now_ns() + ns_t(timeout) * 1000000;
  int single = -1;
  io_event ev = io_event::readable;
  if (n == 1 && fds[0].fd >= 0 && (fds[0].events == POLLIN || fds[0].events == POLLOUT)) {
    single = fds[0].fd;
    ev = fds[0].events == POLLIN ? io_event::readable : io_event::writable;
  }
  int ep = -1;
  if (single < 0 && n > 0) {
    ep = watch_set(fds, n);
    if (ep < 0) return real_poll(fds, n, timeout);
  }
  int r;
  for (;;) {
    wake w = n == 0 ? rt::park_until(deadline)
                    : rt::park_fd(single >= 0 ? single : ep, single >= 0 ? ev : io_event::readable, deadline,
                                  rt::sig_mode::always);
    if (w == wake::notified) {
      r = real_poll(fds, n, 0);
      if (r != 0) break;
      continue;
    }
    if (w == wake::timeout) {
      r = 0;
    } else if (w == wake::closed && single >= 0) {
      r = real_poll(fds, n, 0);  // POLLNVAL, as poll reports a closed fd
      if (r == 0) continue;
    } else {
      errno = hk::wake_errno(w, 0);
      r = -1;
    }
    break;
  }
  if (ep >= 0) {
    rt::fd_closing(ep);
    WEFT_REAL(close)(ep);
  }
  return r;
}

int do_poll(pollfd* fds, nfds_t n, int timeout) {
  if (timeout == 0 || !rt::on_fiber()) return real_poll(fds, n, timeout);
  int saved = errno;
  if (n > 0) {
    int r = real_poll(fds, n, 0);
    if (r != 0) return r;
  }
  int r = fiber_poll(fds, n, timeout);
  if (r >= 0) errno = saved;
  return r;
}

}  // namespace

WEFT_HOOK int poll(pollfd* fds, nfds_t n, int timeout) { return do_poll(fds, n, timeout); }

WEFT_HOOK int __poll_chk(pollfd* fds, nfds_t n, int timeout, size_t fdslen) {
  if (fdslen / sizeof(pollfd) < n)
    return WEFT_REAL_AS(int (*)(pollfd*, nfds_t, int, size_t), "__poll_chk")(fds, n, timeout, fdslen);
  return do_poll(fds, n, timeout);
}
