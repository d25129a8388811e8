// runtime/child_io.cpp — a child's pipes: reads and writes that park the
// fiber (child.hpp note 3) and communicate() (note 4).
#include "child.hpp"

#include "io_op.hpp"
#include "os_thread.hpp"
#include "poller.hpp"
#include "raw_syscall.hpp"
#include "scheduler.hpp"
#include "wait_ctx.hpp"

#include <weft/group.hpp>
#include <weft/io.hpp>
#include <weft/run.hpp>

#include <limits.h>
#include <sys/syscall.h>

#include <algorithm>
#include <system_error>

namespace weft::detail {
namespace {

// run_op() makes op as a blocking call would, parking between attempts:
// its result or -errno, or -EAGAIN with *why set when the wait ended
// first. On a carrier through the poller's perform(), else attempts and
// wait_fd() (ppoll). A description someone made O_NONBLOCK is waited for
// the same way. Fiber or plain thread.
ssize_t run_op(io_op& op, ns_t deadline, wake* why) {
  io_event ev = direction(op);
  for (;;) {
    fd_facts f = facts_of(op.fd);
    scheduler* s = scheduler::current();
    if (s && f.pollable() && !f.nonblock) {
      io_result r = s->io().perform(
          op, f,
          {.deadline = deadline,
           .reason = ev == io_event::readable ? wait_reason::fd_read : wait_reason::fd_write,
           .arg = static_cast<std::uint64_t>(op.fd)});
      if (r.ended == wake::notified) return r.value;
      *why = r.ended;
      return -EAGAIN;
    }
    ssize_t r = attempt(op, f, false);
    if (r != -EAGAIN) return r;
    wake w = wait_fd(op.fd, ev, deadline);
    if (w != wake::notified) {
      *why = w;
      return -EAGAIN;
    }
  }
}

// One write attempt's arguments (op_code::custom context).
struct write_ctx {
  int fd;
  const char* p;
  std::size_t n;
};

// write_attempt() is one write with SIGPIPE blocked: an EPIPE it causes
// takes its own SIGPIPE back (unless one was pending already), so a child
// that closed its stdin gives EPIPE instead of killing the parent.
ssize_t write_attempt(void* ctx, bool blocking) {
  auto* c = static_cast<write_ctx*>(ctx);
  sigset_t pipe_only, old, pending;
  sigemptyset(&pipe_only);
  sigaddset(&pipe_only, SIGPIPE);
  thread_sigmask(SIG_BLOCK, &pipe_only, &old);
  sys(SYS_rt_sigpending, &pending, _NSIG / 8);
  bool was_pending = sigismember(&pending, SIGPIPE) == 1;
  fd_facts f = facts_of(c->fd);
  // Where RWF_NOWAIT is refused the attempt polls, then writes plainly: at
  // most PIPE_BUF bytes then, which a writable pipe takes without blocking.
  std::size_t n = f.no_nowait ? std::min<std::size_t>(c->n, PIPE_BUF) : c->n;
  iovec iov{const_cast<char*>(c->p), n};
  io_op w{.code = op_code::write, .fd = c->fd, .iov = &iov, .iovcnt = 1};
  ssize_t r = attempt(w, f, blocking);
  if (r == -EPIPE && !was_pending) {
    timespec zero{};
    sys(SYS_rt_sigtimedwait, &pipe_only, nullptr, &zero, _NSIG / 8);
  }
  if (sigismember(&old, SIGPIPE) != 1) thread_sigmask(SIG_SETMASK, &old, nullptr);
  return r;
}

// drain() reads fd to its end into out; false with *why when the wait
// ended first.
bool drain(int fd, std::string& out, ns_t deadline, wake* why) {
  constexpr std::size_t chunk = 64 * 1024;
  for (;;) {
    std::size_t len = out.size();
    out.resize(len + chunk);
    ssize_t r = pipe_read(fd, out.data() + len, chunk, deadline, why);
    out.resize(len + static_cast<std::size_t>(std::max<ssize_t>(r, 0)));
    if (r <= 0) return r == 0;
  }
}

// check() throws for a wait that ended early other than by its own
// deadline: cancelled, a weft::timeout scope, or a closed fd.
void check(wake why, const char* what) {
  if (why == wake::closed) throw std::system_error(EBADF, std::generic_category(), what);
  raise(why);
}

}  // namespace

ssize_t pipe_read(int fd, void* buf, std::size_t n, ns_t deadline, wake* why) {
  iovec iov{buf, n};
  io_op op{.code = op_code::read, .fd = fd, .iov = &iov, .iovcnt = 1};
  ssize_t r = run_op(op, deadline, why);
  if (r == -EAGAIN) return -1;
  if (r < 0) throw std::system_error(static_cast<int>(-r), std::generic_category(), "weft::process: read");
  return r;
}

std::size_t pipe_write(int fd, const void* buf, std::size_t n, ns_t deadline, wake* why) {
  std::size_t done = 0;
  while (done < n) {
    write_ctx c{fd, static_cast<const char*>(buf) + done, n - done};
    io_op op{.code = op_code::custom, .fd = fd, .custom = &write_attempt, .ctx = &c,
             .custom_dir = io_event::writable};
    ssize_t r = run_op(op, deadline, why);
    if (r == -EAGAIN) return done;
    if (r == -EPIPE) {
      *why = wake::closed;
      return done;
    }
    if (r < 0) throw std::system_error(static_cast<int>(-r), std::generic_category(), "weft::process: write");
    done += static_cast<std::size_t>(r);
  }
  return done;
}

}  // namespace weft::detail

namespace weft {

namespace {

using detail::check;
using detail::drain;

// pipe_fd() is weft's end of stream i, or usage_error.
int pipe_fd(detail::child& c, int i, const char* what) {
  if (c.fds[i] < 0)
    throw usage_error(std::string("weft::process::") + what + ": that stream is not a pipe (or was closed)");
  return c.fds[i];
}

// exchange() runs communicate's three parts (child.hpp note 4) on the
// calling fiber and two more.
process_output exchange(detail::child& c, std::string_view input, detail::ns_t deadline) {
  using detail::wake;
  process_output out;
  wake why_in = wake::none, why_out = wake::none, why_err = wake::none;
  {
    group g;
    if (c.fds[0] >= 0)
      g.spawn([&] {
        if (!input.empty()) detail::pipe_write(c.fds[0], input.data(), input.size(), deadline, &why_in);
        c.close_pipe(0);  // the child sees end of file
      });
    if (c.fds[2] >= 0) g.spawn([&] { drain(c.fds[2], out.err, deadline, &why_err); });
    if (c.fds[1] >= 0 && !drain(c.fds[1], out.out, deadline, &why_out) && why_out != wake::timeout)
      check(why_out, "weft::process::communicate");
    g.wait();
  }
  for (wake w : {why_in, why_err})
    if (w != wake::none && w != wake::timeout && w != wake::closed) check(w, "weft::process::communicate");
  bool expired = why_in == wake::timeout || why_out == wake::timeout || why_err == wake::timeout;
  for (int i = 0; i < 3; ++i) c.close_pipe(i);
  if (!expired) out.status = c.wait_until(deadline);
  return out;
}

}  // namespace

bool process::write_stdin(std::string_view data) {
  detail::child& c = self("write_stdin");
  int fd = pipe_fd(c, 0, "write_stdin");
  detail::wake why = detail::wake::none;
  std::size_t n = detail::pipe_write(fd, data.data(), data.size(), detail::no_deadline, &why);
  if (n == data.size()) return true;
  if (why == detail::wake::closed) return false;
  check(why, "weft::process::write_stdin");
  return false;
}

void process::close_stdin() { self("close_stdin").close_pipe(0); }

std::size_t process::read_stdout(void* buf, std::size_t n) {
  detail::child& c = self("read_stdout");
  detail::wake why = detail::wake::none;
  ssize_t r = detail::pipe_read(pipe_fd(c, 1, "read_stdout"), buf, n, detail::no_deadline, &why);
  if (r < 0) check(why, "weft::process::read_stdout");
  return static_cast<std::size_t>(r);
}

std::size_t process::read_stderr(void* buf, std::size_t n) {
  detail::child& c = self("read_stderr");
  detail::wake why = detail::wake::none;
  ssize_t r = detail::pipe_read(pipe_fd(c, 2, "read_stderr"), buf, n, detail::no_deadline, &why);
  if (r < 0) check(why, "weft::process::read_stderr");
  return static_cast<std::size_t>(r);
}

process_output process::communicate_ns(std::string_view input, detail::ns_t deadline) {
  detail::child& c = self("communicate");
  if (c.communicated) throw usage_error("weft::process::communicate: called twice");
  if (!input.empty() && c.fds[0] < 0) throw usage_error("weft::process::communicate: input needs stdin = stdio::pipe");
  c.communicated = true;
  if (detail::scheduler::current()) return exchange(c, input, deadline);
  // A plain thread: the same fibers under a run of their own, to the
  // earlier of the deadline and the thread's weft::timeout scope.
  detail::ns_t scope = detail::current_ctx()->scope_deadline;
  process_output r = weft::run([&] { return exchange(c, input, std::min(deadline, scope)); });
  if (!r.status && scope < deadline && detail::now_ns() >= scope) throw timed_out();
  return r;
}

}  // namespace weft
