// hooks/wait_hooks.cpp — waiting for children parks the fiber, not the
// carrier: wait, waitpid, wait3, wait4, waitid. On a fiber only, without
// WNOHANG; elsewhere they pass through.
//
// Every wait is the real call with WNOHANG added, repeated until it reports
// a child or an error, with the fiber parked in between:
//   * one child (pid > 0, or waitid(P_PID / P_PIDFD)): on a pidfd of it,
//     readable when it ends;
//   * any child (pid <= 0, P_ALL, P_PGID): on the pidfds of the children
//     the hooks saw start (rt::children), through a private epoll set, for
//     at most 1 ms at first and up to 10 ms later: children started behind
//     the hooks' back (raw clone) are found by the next try;
//   * stop and continue events (WUNTRACED, WCONTINUED, WSTOPPED) make no
//     pidfd readable: the same bounded park.
// A caught signal whose handler lacks SA_RESTART ends the wait with EINTR,
// as it ends the real call. A child a wait reaped leaves rt::children.
#include "hook_core.hpp"

#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>

namespace rt = weft::rt;
using rt::ns_t;
using rt::wake;

namespace {

constexpr ns_t ms = 1000000;

// pidfd() opens a pidfd for pid, or -1.
int pidfd(pid_t pid) noexcept { return static_cast<int>(syscall(SYS_pidfd_open, pid, 0)); }

// close_watch() closes an fd the poller may have registered.
void close_watch(int fd) noexcept {
  if (fd < 0) return;
  int e = errno;
  rt::fd_closing(fd);
  WEFT_REAL(close)(fd);
  errno = e;
}

// children_set is a private epoll set over pidfds of the tracked children
// (at most 64; the others are found by the bounded park). ep is -1 when
// there are none.
struct children_set {
  int ep = -1;
  int fds[64];
  std::size_t n = 0;

  children_set() noexcept {
    pid_t kids[64];
    std::size_t k = std::min<std::size_t>(rt::children(kids, 64), 64);
    if (k == 0) return;
    ep = static_cast<int>(syscall(SYS_epoll_create1, EPOLL_CLOEXEC));
    if (ep < 0) return;
    for (std::size_t i = 0; i < k; ++i) {
      int fd = pidfd(kids[i]);
      if (fd < 0) continue;
      epoll_event e{};
      e.events = EPOLLIN;
      syscall(SYS_epoll_ctl, ep, EPOLL_CTL_ADD, fd, &e);
      fds[n++] = fd;  // open until the wait ends: closing it would drop it from the set
    }
  }
  ~children_set() {
    close_watch(ep);
    for (std::size_t i = 0; i < n; ++i) syscall(SYS_close, fds[i]);
  }
};

// reap() runs try_once() (the real call with WNOHANG) until it reports a
// child or an error, parking between tries. `fd` is a pidfd to watch (one
// child) or -1 (any child: the tracked children, with a bounded park).
// Fiber only.
template <class F>
pid_t reap(int fd, F&& try_once) {
  ns_t backoff = ms;
  for (;;) {
    pid_t r = try_once();
    if (r != 0) return r;
    wake w;
    if (fd >= 0) {
      w = rt::park_fd(fd, weft::io_event::readable, rt::no_deadline, rt::sig_mode::restartable);
    } else {
      children_set set;
      ns_t until = rt::now_ns() + backoff;
      w = set.ep >= 0 ? rt::park_fd(set.ep, weft::io_event::readable, until, rt::sig_mode::restartable)
                      : rt::park_until(until, nullptr, rt::sig_mode::restartable);
      if (backoff < 10 * ms) backoff *= 2;
    }
    if (w == wake::interrupted || w == wake::cancelled || w == wake::scope_timeout) {
      errno = w == wake::interrupted ? EINTR : w == wake::cancelled ? ECANCELED : ETIMEDOUT;
      return -1;
    }
  }
}

// wait_for() is wait4 on a fiber: pid as waitpid takes it.
pid_t wait_for(pid_t pid, int* status, int options, struct rusage* ru) {
  int fd = pid > 0 && !(options & (WUNTRACED | WCONTINUED)) ? pidfd(pid) : -1;
  pid_t r = reap(fd, [&] { return static_cast<pid_t>(syscall(SYS_wait4, pid, status, options | WNOHANG, ru)); });
  close_watch(fd);
  bool ended = status ? WIFEXITED(*status) || WIFSIGNALED(*status) : !(options & (WUNTRACED | WCONTINUED));
  if (r > 0 && ended) rt::child_reaped(r);
  return r;
}

// parks_here() is true when a wait with these options may park.
bool parks_here(int options) noexcept { return !(options & WNOHANG) && rt::maybe_fiber() && rt::on_fiber(); }

}  // namespace

WEFT_HOOK pid_t wait4(pid_t pid, int* status, int options, struct rusage* ru) {
  if (!parks_here(options)) return WEFT_REAL(wait4)(pid, status, options, ru);
  return wait_for(pid, status, options, ru);
}

WEFT_HOOK pid_t wait3(int* status, int options, struct rusage* ru) {
  if (!parks_here(options)) return WEFT_REAL(wait3)(status, options, ru);
  return wait_for(-1, status, options, ru);
}

WEFT_HOOK pid_t waitpid(pid_t pid, int* status, int options) {
  if (!parks_here(options)) return WEFT_REAL(waitpid)(pid, status, options);
  return wait_for(pid, status, options, nullptr);
}

WEFT_HOOK pid_t wait(int* status) {
  if (!parks_here(0)) return WEFT_REAL(wait)(status);
  return wait_for(-1, status, 0, nullptr);
}

WEFT_HOOK int waitid(idtype_t type, id_t id, siginfo_t* info, int options) {
  if (!parks_here(options) || !info) return WEFT_REAL(waitid)(type, id, info, options);
  bool events = options & (WSTOPPED | WCONTINUED);
  int fd = -1;
  bool own = false;
  if (!events && type == P_PID) fd = pidfd(static_cast<pid_t>(id)), own = true;
  if (!events && type == P_PIDFD) fd = static_cast<int>(id);
  pid_t r = reap(fd, [&]() -> pid_t {
    info->si_pid = 0;
    if (syscall(SYS_waitid, type, id, info, options | WNOHANG, nullptr) < 0) return -1;
    return info->si_pid;  // 0: nothing yet (WNOHANG)
  });
  if (own) close_watch(fd);
  if (r > 0 && !(options & WNOWAIT) && (info->si_code == CLD_EXITED || info->si_code == CLD_KILLED ||
                                        info->si_code == CLD_DUMPED))
    rt::child_reaped(r);
  return r < 0 ? -1 : 0;
}
