// runtime/child.hpp — the state behind weft::process (include/weft/process.hpp).
//
// Design notes
//  1. Starting: libc's real posix_spawnp (libc_next: never the hooks'
//     wrapper; the runtime knows nothing of hooks), with the pipes' child
//     ends dup2'ed onto 0/1/2 by file actions, the working directory by
//     posix_spawn_file_actions_addchdir_np, the signal mask a program
//     thread would have here (process.hpp exec_mask: worker carriers block
//     asynchronous signals, the child must not inherit that) and SIGPIPE
//     back to its default. glibc's posix_spawn runs the child on a separate
//     stack with CLONE_VFORK, so the carrier is held only until the exec.
//     Every pipe is made O_CLOEXEC, so that children started at the same
//     time by other carriers or threads never inherit weft's ends.
//  2. Waiting: a pidfd (pidfd_open right after the spawn, before anything
//     but a wait for any child could reap it) becomes readable
//     when the child ends. The waiter parks on it through the poller
//     (wait_fd: the carrier's poller on a fiber, ppoll on a plain thread),
//     then reaps with waitid(P_PIDFD, WNOHANG). The pidfd stays open until
//     the object dies, so kill() (pidfd_send_signal) can never hit another
//     process that reused the pid, however it races with the wait.
//  3. Pipe I/O (child_io.cpp) goes through the runtime's perform path:
//     non-blocking attempts with RWF_NOWAIT (io_attempt.cpp), parking on
//     readiness in between. O_NONBLOCK is never set: the child shares the
//     pipe's open file descriptions. Writes block SIGPIPE for the one
//     attempt and take back a SIGPIPE their own EPIPE raised, so a child
//     that closes its stdin early yields EPIPE, not a dead parent.
//  4. communicate() runs a writer fiber for stdin and a reader fiber for
//     stderr beside the caller reading stdout (a weft::group, so a cancel
//     or exception unwinds all three before the call returns); no full
//     pipe can then stall the child or weft. On a plain thread it runs the
//     same fibers under a weft::run of its own.
#pragma once
#include <weft/process.hpp>

#include <atomic>
#include <optional>

namespace weft::detail {

struct child {
  pid_t pid = -1;
  int pidfd = -1;
  int fds[3] = {-1, -1, -1};            // weft's ends of stdin, stdout, stderr pipes; -1: none
  std::optional<exit_status> status;    // set once reaped
  std::atomic<bool> waiting{false};     // a wait is in progress (one at a time)
  bool communicated = false;            // communicate() was called

  // child() starts the program (note 1); throws system_error / usage_error.
  child(const std::vector<std::string>& argv, const process_options& o);
  // ~child() closes the pipes and the pidfd; never waits (an unreaped
  // child stays in the children list: a wait for any child may reap it).
  ~child();
  child(const child&) = delete;
  child& operator=(const child&) = delete;

  // wait_until() reaps the child, parking until it ends or the deadline
  // passes (empty result). Fiber or plain thread.
  std::optional<exit_status> wait_until(ns_t deadline);
  // close_pipe() closes weft's end of stream i (0..2), if open.
  void close_pipe(int i) noexcept;
};

// pipe_read() reads at most n bytes from fd, parking while it is empty:
// the count (0 at end of file), or -1 with *why saying why the wait ended
// first (timeout, cancelled, scope_timeout, closed). Throws system_error
// for a failed read. Fiber or plain thread.
ssize_t pipe_read(int fd, void* buf, std::size_t n, ns_t deadline, wake* why);
// pipe_write() writes all n bytes to fd, parking while it is full: n, or
// the count written before EPIPE (*why = closed) or before the wait ended
// (*why says why). Fiber or plain thread.
std::size_t pipe_write(int fd, const void* buf, std::size_t n, ns_t deadline, wake* why);

}  // namespace weft::detail
