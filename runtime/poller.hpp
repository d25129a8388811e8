// runtime/poller.hpp — the contract between the scheduler and an I/O backend.
//
// One poller per scheduler. The basic operation is not "report readiness
// bits" but "park this fiber until fd F can be read / written, or its
// deadline passes", so completion backends (io_uring, IOCP) fit the same
// contract later: they report a finished operation as "ready".
//
// Every backend implements these five operations (like Go's netpoll):
//   wait_fd(fd, ev, opts)  park the running fiber until fd is ready for ev;
//                          returns the wake reason (notified = ready,
//                          closed = forget() ran, timeout / cancelled ...).
//                          A readiness edge that arrived while nobody waited
//                          is remembered per fd and consumed by the next
//                          wait, so wait_fd may return at once; the caller
//                          retries its syscall and waits again on EAGAIN.
//   forget(fd)             wake every waiter of fd with `closed` and drop
//                          the backend's state, before the fd is closed.
//   forget_incarnation(fd, inc)  forget(fd) if the backend's registration
//                          of fd is of incarnation inc (sched_registry.hpp):
//                          another thread closed that file.
//   poll(timeout_ns, mask) block up to timeout (-1 forever, 0 = just look)
//                          and make the fibers whose fds became ready
//                          runnable (scheduler::ready). Returns how many.
//                          A non-null mask is the signal mask to wait with
//                          (applied atomically, like epoll_pwait's); a
//                          signal it lets through is delivered even when
//                          the timeout is 0.
//   interrupt()            make a blocked poll() return; any thread.
//   name()                 the backend's name for dumps and config.
//   drained(fd)            the last read of fd (a byte stream) came back
//                          short, so its receive queue was empty: a read
//                          now would fail with EAGAIN unless an edge came
//                          since. note_drained() records it; drained() is
//                          true until an input edge or a readable wake-up.
//                          The hooks then park before trying the read,
//                          saving the EAGAIN syscall (edge backends only;
//                          others keep the defaults: never drained).
//   after_fork()           in a fork()ed child: replace kernel objects
//                          shared with the parent (epoll set, eventfd) with
//                          fresh ones, keeping every fd's waiters.
// Per-fd state is registered once (edge-triggered on epoll), not re-armed
// per wait. All calls but interrupt() are made on the scheduler's own thread.
// Backends live in poller_<name>.cpp; the build compiles exactly one.
#pragma once
#include <weft/detail/wait.hpp>
#include <weft/io.hpp>

#include <signal.h>

#include <memory>
#include <string_view>

namespace weft::detail {

class scheduler;

class poller {
 public:
  virtual ~poller() = default;
  virtual wake wait_fd(int fd, io_event ev, const wait_opts& o) = 0;
  virtual void forget(int fd) noexcept = 0;
  virtual void forget_incarnation(int fd, std::uint32_t inc) noexcept = 0;
  virtual int poll(ns_t timeout_ns, const sigset_t* mask = nullptr) = 0;
  virtual void interrupt() noexcept = 0;
  virtual std::string_view name() const noexcept = 0;
  virtual void after_fork() noexcept = 0;
  virtual bool drained(int fd) noexcept {
    (void)fd;
    return false;
  }
  virtual void note_drained(int fd) noexcept { (void)fd; }
};

// make_poller() builds the backend named `name` ("" = the build's default)
// for scheduler s; throws usage_error for a backend this build lacks.
std::unique_ptr<poller> make_poller(std::string_view name, scheduler& s);

}  // namespace weft::detail
