// hooks/hook_core.cpp — parking for the hooks: fibers through the
// scheduler's poller, plain threads through the real poll(2).
#include "hook_core.hpp"

#include <poll.h>

#include <algorithm>
#include <atomic>

namespace weft::hooks {
namespace {
constinit std::atomic<unsigned long> g_parks{0};
}

unsigned long parks() noexcept { return g_parks.load(std::memory_order_relaxed); }

int wake_errno(detail::wake r, int expiry) noexcept {
  switch (r) {
    case detail::wake::closed: return EBADF;
    case detail::wake::timeout: return expiry;
    case detail::wake::scope_timeout: return ETIMEDOUT;
    case detail::wake::cancelled: return ECANCELED;
    default: return EIO;  // not reached: notified is handled by the callers
  }
}

detail::wake park_fd(detail::scheduler* s, int fd, io_event ev, ns_t deadline) {
  g_parks.fetch_add(1, std::memory_order_relaxed);
  return s->io().wait_fd(fd, ev,
                         {.deadline = deadline,
                          .interruptible = true,
                          .reason = ev == io_event::readable ? detail::wait_reason::fd_read
                                                             : detail::wait_reason::fd_write,
                          .arg = static_cast<std::uint64_t>(fd)});
}

detail::wake park_until(ns_t deadline) {
  g_parks.fetch_add(1, std::memory_order_relaxed);
  detail::waiter w;
  return detail::block_local(w, {.deadline = deadline, .reason = detail::wait_reason::sleep});
}

detail::wake thread_wait(int fd, io_event ev, ns_t deadline) noexcept {
  pollfd p{fd, static_cast<short>(ev == io_event::readable ? POLLIN : POLLOUT), 0};
  for (;;) {
    int ms = -1;
    if (deadline != detail::no_deadline) {
      ns_t left = deadline - detail::now_ns();
      if (left <= 0) return detail::wake::timeout;
      ms = static_cast<int>(std::min<ns_t>((left + 999999) / 1000000, 1 << 30));
    }
    int n = real::fns().poll(&p, 1, ms);
    if (n > 0) return (p.revents & POLLNVAL) ? detail::wake::closed : detail::wake::notified;
    if (n < 0 && errno != EINTR) return detail::wake::closed;
  }
}

}  // namespace weft::hooks
