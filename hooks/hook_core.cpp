// hooks/hook_core.cpp — parking for the hooks, through the runtime's
// detail::wait_fd (the poller on a fiber, poll(2) on a plain thread).
#include "hook_core.hpp"

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
    case detail::wake::interrupted: return EINTR;
    default: return EIO;  // not reached: notified is handled by the callers
  }
}

detail::wake park_fd(int fd, io_event ev, ns_t deadline, sig_mode sig, const sigset_t* sigmask) {
  g_parks.fetch_add(1, std::memory_order_relaxed);
  return detail::wait_fd(fd, ev, deadline, sig, sigmask);
}

detail::wake park_until(ns_t deadline, const sigset_t* sigmask) {
  g_parks.fetch_add(1, std::memory_order_relaxed);
  detail::waiter w;
  return detail::block_local(
      w, {.deadline = deadline, .reason = detail::wait_reason::sleep, .sig = sig_mode::always, .sigmask = sigmask});
}

}  // namespace weft::hooks
