// runtime/poller.hpp — the contract between the scheduler and an I/O backend.
//
// One poller per scheduler. The operations are not "report readiness bits"
// but "run this blocking-style operation for the running fiber" and "park
// it until fd F is ready", so completion backends (io_uring, IOCP) fit the
// same contract: they submit the operation, or report a finished one as
// "ready". Every backend implements:
//   perform(op, facts, opts)  run a blocking-style I/O operation (io_op.hpp)
//                          on a pollable fd that the program wants blocking:
//                          the running fiber parks until the operation made
//                          progress or failed (io_result::ended = notified,
//                          value = its result or -errno), or the wait ended
//                          otherwise (closed = forget() ran, timeout,
//                          scope_timeout, cancelled, interrupted). A backend
//                          that submits operations must, when the wait ends
//                          otherwise, cancel the operation and wait for its
//                          final completion before returning; if it finished
//                          anyway, it returns that result (ended = notified).
//   wait_fd(fd, ev, opts)  park the running fiber until fd is ready for ev
//                          (poll/select/epoll emulation, the resolver):
//                          returns the wake reason. A readiness edge that
//                          arrived while nobody waited is remembered per fd
//                          and consumed by the next wait, so wait_fd may
//                          return at once; the caller looks again and waits
//                          again if nothing is there.
//   forget(fd)             wake every waiter of fd with `closed` and drop
//                          the backend's state, before the fd is closed.
//   forget_incarnation(fd, inc)  forget(fd) if the backend's registration
//                          of fd is of incarnation inc (fd_registry.hpp):
//                          another thread closed that file.
//   poll(timeout_ns, mask) block up to timeout (-1 forever, 0 = just look)
//                          and make the fibers whose waits ended runnable
//                          (scheduler::ready). Returns how many. A non-null
//                          mask is the signal mask to wait with (applied
//                          atomically, like epoll_pwait's); a signal it lets
//                          through is delivered even when the timeout is 0.
//   interrupt()            make a blocked poll() return; any thread.
//   after_fork()           in a fork()ed child: drop the kernel objects shared
//                          with the parent (epoll set, eventfd; fresh ones
//                          come at the next wait) and every waiter (their
//                          fibers do not exist in the child).
//   name()                 the backend's name for dumps and config.
// Optional (the base class answers false: "not here, use the offload pool"):
//   file_op(req, &res)     a completion backend submits a regular-file
//                          operation (file_req) and parks the fiber, not
//                          interruptibly, until it completes; res is its
//                          result or -errno. file_io.cpp asks it before the
//                          pool.
// All calls but interrupt() are made on the scheduler's own thread.
// Backends live in poller_<name>.cpp: epoll always, uring where liburing
// was found at build time; make_poller() (poller_factory.cpp) picks one per
// scheduler at run time.
#pragma once
#include "io_op.hpp"

#include <weft/detail/wait.hpp>
#include <weft/io.hpp>

#include <signal.h>

#include <memory>
#include <string_view>

namespace weft::detail {

class scheduler;

// The outcome of perform(): `ended` is notified when the operation ran
// (value: its result, or -errno); any other reason means it did not run.
struct io_result {
  ssize_t value = 0;
  wake ended = wake::notified;
};

// One regular-file operation for file_op(): read/write at pos (-1: the
// file position), or a sync of the file (sync_range: off/len/flags of
// sync_file_range).
struct file_req {
  enum class kind : std::uint8_t { readv, writev, fsync, fdatasync, sync_range } what;
  int fd;
  const iovec* iov = nullptr;
  int iovcnt = 0;
  off_t pos = -1;
  off_t off = 0, len = 0;
  unsigned flags = 0;
};

class poller {
 public:
  virtual ~poller() = default;
  virtual io_result perform(io_op& op, fd_facts& f, const wait_opts& o) = 0;
  virtual wake wait_fd(int fd, io_event ev, const wait_opts& o) = 0;
  virtual void forget(int fd) noexcept = 0;
  virtual void forget_incarnation(int fd, std::uint32_t inc) noexcept = 0;
  virtual int poll(ns_t timeout_ns, const sigset_t* mask = nullptr) = 0;
  virtual void interrupt() noexcept = 0;
  virtual std::string_view name() const noexcept = 0;
  virtual void after_fork() noexcept = 0;
  virtual bool file_op(const file_req& req, long* res) noexcept {
    (void)req;
    (void)res;
    return false;
  }
};

// make_poller() builds the backend named `name` for scheduler s: "" or
// "epoll" or "auto" (epoll: see docs/design.md, "The io_uring backend"),
// "uring"; throws usage_error for an unknown name, a backend this build
// lacks, or io_uring refused by this kernel/process (with the reason).
std::unique_ptr<poller> make_poller(std::string_view name, scheduler& s);
// The backends' own constructors, for make_poller().
std::unique_ptr<poller> make_epoll_poller(scheduler& s);
std::unique_ptr<poller> make_uring_poller(scheduler& s);
// probe_uring() tries io_uring_setup and the opcodes the uring backend
// submits: 0 if usable, else the errno that refused it. Any thread.
int probe_uring() noexcept;

}  // namespace weft::detail
