// weft/process.hpp — child processes for fibers (gevent's subprocess, Go's
// os/exec).
//
// weft::process starts a program with posix_spawn, optionally with pipes
// on its stdin, stdout and stderr. Waiting for it (wait, wait_for,
// communicate) and reading or writing its pipes park the calling fiber,
// not its carrier: many children can run at once on one carrier. The same
// calls work from a plain thread, which then blocks.
//
//   weft::process p({"sort"}, {.in = weft::stdio::pipe, .out = weft::stdio::pipe});
//   auto r = p.communicate("b\na\n");   // r.out == "a\nb\n", r.status->code() == 0
//
// A process object is used by one fiber or thread at a time, except kill(),
// which any thread may call while another waits. Destroying it closes
// weft's ends of the pipes and forgets the child without waiting: a child
// still running runs on (as in Go, call wait() to reap it).
#pragma once
#include <weft/detail/export.hpp>
#include <weft/detail/wait.hpp>
#include <weft/errors.hpp>

#include <signal.h>
#include <sys/types.h>

#include <chrono>
#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace weft {

// How a child process ended: exited with a code, or killed by a signal.
class exit_status {
  int value_ = 0;
  bool signaled_ = false;
  bool core_ = false;

 public:
  exit_status() noexcept = default;
  // from_code()/from_signal() build a status (the runtime does, from waitid).
  static exit_status from_code(int code) noexcept { return exit_status(code, false, false); }
  static exit_status from_signal(int sig, bool core) noexcept { return exit_status(sig, true, core); }

  // exited() is true when the child called exit (or returned from main).
  bool exited() const noexcept { return !signaled_; }
  // code() is the exit code, 0..255; usage_error if the child was signaled.
  int code() const {
    if (signaled_) throw usage_error("weft::exit_status::code: the child was killed by a signal");
    return value_;
  }
  // signaled() is true when a signal ended the child.
  bool signaled() const noexcept { return signaled_; }
  // signal() is the signal that ended it; usage_error if it exited.
  int signal() const {
    if (!signaled_) throw usage_error("weft::exit_status::signal: the child exited");
    return value_;
  }
  // core_dumped() is true when the signal dumped core.
  bool core_dumped() const noexcept { return core_; }
  // success() is exited() with code 0.
  bool success() const noexcept { return !signaled_ && value_ == 0; }
  bool operator==(const exit_status&) const noexcept = default;

 private:
  exit_status(int v, bool s, bool c) noexcept : value_(v), signaled_(s), core_(c) {}
};

// What the child's stdin, stdout or stderr is.
enum class stdio : unsigned char {
  inherit,  // the parent's own fd 0/1/2
  pipe,     // a pipe to weft (process::write_stdin, read_stdout, communicate...)
  null,     // /dev/null
};

// How to start a program.
struct process_options {
  stdio in = stdio::inherit;
  stdio out = stdio::inherit;
  stdio err = stdio::inherit;
  // The child's whole environment, "NAME=value" each; empty optional: the
  // parent's environment.
  std::optional<std::vector<std::string>> env = std::nullopt;
  // The child's working directory; "" = the parent's.
  std::string cwd = {};
};

// What communicate() gives: everything read from stdout and stderr (pipes
// only), and the exit status, empty if the deadline passed first.
struct process_output {
  std::string out;
  std::string err;
  std::optional<exit_status> status;
};

namespace detail {
struct child;  // runtime/child.hpp
}

class WEFT_API process {
  std::unique_ptr<detail::child> c_;

  detail::child& self(const char* what) const;
  std::optional<exit_status> wait_until_ns(detail::ns_t deadline);
  process_output communicate_ns(std::string_view input, detail::ns_t deadline);

 public:
  // process(argv, o) starts argv[0] (searched in PATH when it has no '/')
  // with arguments argv. Throws std::system_error when the program cannot
  // be started (errno-style code: ENOENT, EACCES...), usage_error for an
  // empty argv. Fiber or plain thread; posix_spawn holds the carrier only
  // until the child has exec'd.
  explicit process(const std::vector<std::string>& argv, const process_options& o = {});
  // An empty handle (every call but the destructor is a usage_error).
  process() noexcept;
  ~process();
  process(process&&) noexcept;
  process& operator=(process&&) noexcept;
  process(const process&) = delete;
  process& operator=(const process&) = delete;

  // pid() is the child's process id. Any thread.
  pid_t pid() const;

  // wait() waits for the child to end and reaps it; later calls return the
  // same status. A cancellation point (the child then runs on; wait again
  // later). Fiber or plain thread; usage_error if another wait on this
  // object is in progress.
  exit_status wait() { return *wait_until_ns(detail::no_deadline); }
  // wait_for(d)/wait_until(tp) are wait() with a deadline: empty if the
  // child still runs when it passes.
  template <class Rep, class Period>
  std::optional<exit_status> wait_for(std::chrono::duration<Rep, Period> d) {
    return wait_until_ns(detail::deadline_after(d));
  }
  template <class Clock, class Dur>
  std::optional<exit_status> wait_until(std::chrono::time_point<Clock, Dur> tp) {
    return wait_until_ns(detail::deadline_at(tp));
  }
  // try_wait() reaps the child if it has ended, without waiting.
  std::optional<exit_status> try_wait() { return wait_until_ns(0); }

  // kill(sig) sends sig (default SIGKILL) to the child; false once the
  // child was reaped. usage_error for an invalid signal. Any thread, also
  // while another fiber waits.
  bool kill(int sig = SIGKILL);

  // communicate(input) writes input to stdin (then closes it), reads
  // stdout and stderr until both end, and waits for the child, all at once
  // (separate fibers), so no full pipe can stall it. Input needs stdin to
  // be a pipe (usage_error otherwise); output is gathered for pipes only.
  // Callable once per process (usage_error after that).
  process_output communicate(std::string_view input = {}) { return communicate_ns(input, detail::no_deadline); }
  // communicate(input, d) is communicate with a deadline: when it passes,
  // the result holds what was read so far and no status; the pipes are
  // closed and the child runs on (kill() and wait() it).
  template <class Rep, class Period>
  process_output communicate(std::string_view input, std::chrono::duration<Rep, Period> d) {
    return communicate_ns(input, detail::deadline_after(d));
  }
  template <class Clock, class Dur>
  process_output communicate(std::string_view input, std::chrono::time_point<Clock, Dur> tp) {
    return communicate_ns(input, detail::deadline_at(tp));
  }

  // write_stdin(data) writes all of data to the stdin pipe; false if the
  // child closed its end (EPIPE; no SIGPIPE is raised). close_stdin()
  // closes weft's end (the child sees end of file); idempotent.
  // read_stdout/read_stderr(buf, n) read at most n bytes, 0 at end of
  // file. Each parks while the pipe is full or empty; cancellation points.
  // usage_error when that stream is not a pipe (or closed).
  bool write_stdin(std::string_view data);
  void close_stdin();
  std::size_t read_stdout(void* buf, std::size_t n);
  std::size_t read_stderr(void* buf, std::size_t n);
  // stdin_fd()/stdout_fd()/stderr_fd() are weft's ends of the pipes, -1
  // when not a pipe (or closed). They stay blocking: weft waits with
  // per-call flags, never O_NONBLOCK, which the child would share.
  int stdin_fd() const;
  int stdout_fd() const;
  int stderr_fd() const;
};

}  // namespace weft
