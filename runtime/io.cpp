// runtime/io.cpp — public fd waits: the poller on fibers, poll(2) on threads.
#include "sched_registry.hpp"
#include "scheduler.hpp"

#include <weft/io.hpp>

#include <poll.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <system_error>

namespace weft {
namespace detail {
namespace {

// thread_wait_fd() is wait_fd for a plain thread: ppoll(2) up to the
// earlier of the wait's deadline and a weft::timeout scope's. An EINTR ends
// the wait if `sig` says the interrupted call would have failed.
wake thread_wait_fd(int fd, io_event ev, ns_t deadline, sig_mode sig, const void* sigmask) {
  std::uint32_t norestart = caught_norestart();
  wait_ctx* c = current_ctx();
  bool intr = std::uncaught_exceptions() == 0;
  ns_t dl = deadline;
  bool scope = intr && c->scope_deadline < dl;
  if (scope) dl = c->scope_deadline;
  pollfd p{fd, static_cast<short>(ev == io_event::readable ? POLLIN : POLLOUT), 0};
  for (;;) {
    timespec ts, *tsp = nullptr;
    if (dl != no_deadline) {
      ns_t left = dl - now_ns();
      if (left <= 0) return scope ? wake::scope_timeout : wake::timeout;
      ts = {static_cast<time_t>(left / 1000000000), static_cast<long>(left % 1000000000)};
      tsp = &ts;
    }
    // A raw syscall: the runtime never goes through the poll hook (hooks/).
    long n = syscall(SYS_ppoll, &p, 1, tsp, sigmask, _NSIG / 8);
    if (n > 0) return (p.revents & POLLNVAL) ? wake::closed : wake::notified;
    if (n < 0 && errno != EINTR) return wake::closed;
    if (n < 0 && (sig == sig_mode::always || (sig == sig_mode::restartable && caught_norestart() != norestart)))
      return wake::interrupted;
  }
}

}  // namespace

wake wait_fd(int fd, io_event ev, ns_t deadline, sig_mode sig, const void* sigmask) {
  scheduler* s = scheduler::current();
  if (!s) return thread_wait_fd(fd, ev, deadline, sig, sigmask);
  return s->io().wait_fd(fd, ev,
                         {.deadline = deadline,
                          .reason = ev == io_event::readable ? wait_reason::fd_read : wait_reason::fd_write,
                          .arg = static_cast<std::uint64_t>(fd),
                          .sig = sig,
                          .sigmask = sigmask});
}

}  // namespace detail

bool wait_io_until_ns(int fd, io_event ev, detail::ns_t deadline) {
  detail::wake r = detail::wait_fd(fd, ev, deadline);
  if (r == detail::wake::closed) throw std::system_error(EBADF, std::generic_category(), "weft::wait_io");
  detail::raise(r);
  return r == detail::wake::notified;
}

void wait_io(int fd, io_event ev) { wait_io_until_ns(fd, ev, detail::no_deadline); }

int close_fd(int fd) noexcept {
  detail::forget_fd(fd);
  return static_cast<int>(syscall(SYS_close, fd));
}

}  // namespace weft
