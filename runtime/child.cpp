// runtime/child.cpp — starting, waiting for and signalling a child
// (child.hpp notes 1 and 2), and weft::process's members that do so.
#include "child.hpp"

#include "libc_next.hpp"
#include "process.hpp"
#include "raw_syscall.hpp"
#include "sched_registry.hpp"

#include <weft/io.hpp>

#include <fcntl.h>
#include <spawn.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <system_error>
#include <utility>

extern char** environ;

namespace weft::detail {
namespace {

using spawn_fn = int (*)(pid_t*, const char*, const posix_spawn_file_actions_t*, const posix_spawnattr_t*,
                         char* const[], char* const[]);

[[noreturn]] void fail(int err, const char* what) { throw std::system_error(err, std::generic_category(), what); }

// close_fd_quiet() closes fd (poller state first), keeping errno.
void close_fd_quiet(int fd) noexcept {
  if (fd < 0) return;
  int e = errno;
  forget_fd(fd);
  sys(SYS_close, fd);
  errno = e;
}

// c_strings() is a NULL-terminated array of pointers into v.
std::vector<char*> c_strings(const std::vector<std::string>& v) {
  std::vector<char*> out;
  out.reserve(v.size() + 1);
  for (const std::string& s : v) out.push_back(const_cast<char*>(s.c_str()));
  out.push_back(nullptr);
  return out;
}

// What posix_spawn needs, destroyed in every case.
struct spawn_plan {
  posix_spawn_file_actions_t fa;
  posix_spawnattr_t attr;
  int child_ends[3] = {-1, -1, -1};
  spawn_plan() {
    posix_spawn_file_actions_init(&fa);
    posix_spawnattr_init(&attr);
  }
  ~spawn_plan() {
    posix_spawn_file_actions_destroy(&fa);
    posix_spawnattr_destroy(&attr);
    for (int fd : child_ends)
      if (fd >= 0) sys(SYS_close, fd);
  }
};

// to_status() turns waitid's report into an exit_status.
exit_status to_status(const siginfo_t& si) noexcept {
  if (si.si_code == CLD_EXITED) return exit_status::from_code(si.si_status);
  return exit_status::from_signal(si.si_status, si.si_code == CLD_DUMPED);
}

}  // namespace

child::child(const std::vector<std::string>& argv, const process_options& o) {
  if (argv.empty() || argv[0].empty()) throw usage_error("weft::process: argv must name a program");
  spawn_plan p;
  const stdio modes[3] = {o.in, o.out, o.err};
  auto cleanup = [&] {
    for (int& fd : fds) close_fd_quiet(std::exchange(fd, -1));
  };
  for (int i = 0; i < 3; ++i) {
    int r = 0;
    if (modes[i] == stdio::pipe) {
      int pp[2];
      if (long e = sys(SYS_pipe2, pp, O_CLOEXEC); e < 0) {
        cleanup();
        fail(static_cast<int>(-e), "weft::process: pipe2");
      }
      // stdin: the child reads pp[0]; stdout/stderr: the child writes pp[1].
      fds[i] = i == 0 ? pp[1] : pp[0];
      p.child_ends[i] = i == 0 ? pp[0] : pp[1];
      r = posix_spawn_file_actions_adddup2(&p.fa, p.child_ends[i], i);
    } else if (modes[i] == stdio::null) {
      r = posix_spawn_file_actions_addopen(&p.fa, i, "/dev/null", i == 0 ? O_RDONLY : O_WRONLY, 0);
    }
    if (r != 0) {
      cleanup();
      fail(r, "weft::process: file actions");
    }
  }
  if (!o.cwd.empty()) {
    if (int r = posix_spawn_file_actions_addchdir_np(&p.fa, o.cwd.c_str()); r != 0) {
      cleanup();
      fail(r, "weft::process: chdir action");
    }
  }
  // The mask of a program thread here, and SIGPIPE back to SIG_DFL (a
  // server that ignores SIGPIPE should not hand that to `yes | head`).
  sigset_t mask, def;
  exec_mask(&mask);
  sigemptyset(&def);
  sigaddset(&def, SIGPIPE);
  posix_spawnattr_setsigmask(&p.attr, &mask);
  posix_spawnattr_setsigdefault(&p.attr, &def);
  posix_spawnattr_setflags(&p.attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);

  std::vector<char*> args = c_strings(argv);
  std::vector<char*> envs;
  if (o.env) envs = c_strings(*o.env);
  static const auto real_spawnp = libc_fn<spawn_fn>("posix_spawnp");
  pid_t child_pid = -1;
  int r = real_spawnp(&child_pid, args[0], &p.fa, &p.attr, args.data(), o.env ? envs.data() : environ);
  if (r != 0) {
    cleanup();
    fail(r, ("weft::process: cannot start " + argv[0]).c_str());
  }
  pid = child_pid;
  child_started(pid);  // a wait for any child (the hooks') can see it
  long pfd = sys(SYS_pidfd_open, pid, 0);
  if (pfd < 0) {
    // Without a pidfd there is no parking wait: end the child now.
    sys(SYS_kill, pid, SIGKILL);
    siginfo_t si{};
    while (sys(SYS_waitid, P_PID, pid, &si, WEXITED, nullptr) == -EINTR) {
    }
    child_reaped(pid);
    cleanup();
    fail(static_cast<int>(-pfd), "weft::process: pidfd_open");
  }
  pidfd = static_cast<int>(pfd);  // pidfds are always close-on-exec
}

child::~child() {
  for (int i = 0; i < 3; ++i) close_pipe(i);
  close_fd_quiet(pidfd);
}

void child::close_pipe(int i) noexcept { close_fd_quiet(std::exchange(fds[i], -1)); }

std::optional<exit_status> child::wait_until(ns_t deadline) {
  if (waiting.exchange(true, std::memory_order_acquire))
    throw usage_error("weft::process::wait: another wait on this process is in progress");
  struct done {
    std::atomic<bool>& w;
    ~done() { w.store(false, std::memory_order_release); }
  } guard{waiting};
  if (status) return status;
  for (;;) {
    siginfo_t si{};
    long r = sys(SYS_waitid, P_PIDFD, pidfd, &si, WEXITED | WNOHANG, nullptr);
    if (r == 0 && si.si_pid != 0) {
      status = to_status(si);
      child_reaped(pid);
      return status;
    }
    if (r == -EINTR) continue;
    if (r < 0) fail(static_cast<int>(-r), "weft::process::wait");  // ECHILD: something else reaped it
    if (deadline != no_deadline && now_ns() >= deadline) return std::nullopt;
    wake w = wait_fd(pidfd, io_event::readable, deadline);
    if (w == wake::timeout) return std::nullopt;
    if (w == wake::closed) fail(EBADF, "weft::process::wait");
    raise(w);
  }
}

}  // namespace weft::detail

namespace weft {

process::process() noexcept = default;
process::process(const std::vector<std::string>& argv, const process_options& o)
    : c_(std::make_unique<detail::child>(argv, o)) {}
process::~process() = default;
process::process(process&&) noexcept = default;
process& process::operator=(process&&) noexcept = default;

detail::child& process::self(const char* what) const {
  if (!c_) throw usage_error(std::string("weft::process::") + what + ": the handle is empty");
  return *c_;
}

pid_t process::pid() const { return self("pid").pid; }

std::optional<exit_status> process::wait_until_ns(detail::ns_t deadline) { return self("wait").wait_until(deadline); }

bool process::kill(int sig) {
  detail::child& c = self("kill");
  if (sig < 0 || sig >= NSIG) throw usage_error("weft::process::kill: invalid signal");
  long r = detail::sys(SYS_pidfd_send_signal, c.pidfd, sig, nullptr, 0);
  if (r == 0) return true;
  if (r == -ESRCH) return false;
  if (r == -EINVAL) throw usage_error("weft::process::kill: invalid signal");
  detail::fail(static_cast<int>(-r), "weft::process::kill");
}

int process::stdin_fd() const { return self("stdin_fd").fds[0]; }
int process::stdout_fd() const { return self("stdout_fd").fds[1]; }
int process::stderr_fd() const { return self("stderr_fd").fds[2]; }

}  // namespace weft
