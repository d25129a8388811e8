// hooks/shell_hooks.cpp — system, popen and pclose on fibers.
//
// glibc's versions spawn /bin/sh and then wait in an internal waitpid that
// no hook sees, so the whole carrier would block until the command ends.
// On a fiber they are rebuilt here from the same parts glibc 2.36 uses, in
// the same order, so that what the shell and the program see is the same:
//   system: SIGINT and SIGQUIT ignored in the caller while any system() runs
//     (a count, as glibc keeps), SIGCHLD blocked on the calling thread, the
//     shell spawned with those two reset to default unless they were
//     ignored and with the caller's original mask, then a waitpid (the
//     hooked one: it parks the fiber) retried on EINTR; 127 as exit status
//     if the shell cannot be spawned.
//   popen: a pipe made with O_CLOEXEC, the shell spawned with the child's
//     end on its stdin or stdout and every stream of earlier popen() calls
//     closed in the child (POSIX), the parent's end close-on-exec only with
//     the "e" mode flag. pclose: fclose, then the hooked waitpid.
// Off a fiber, glibc's own functions run; a stream popen() made there is
// closed by glibc's pclose.
#include "hook_core.hpp"

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>
#include <new>

extern char** environ;

namespace rt = weft::rt;

namespace {

const char shell_path[] = "/bin/sh";

// ---- system ------------------------------------------------------------

weft::detail::spinlock g_sys_lk;  // guards the three below
int g_sys_refs = 0;               // system() calls in progress
struct sigaction g_intr, g_quit;  // the dispositions before the first of them

// run_shell() is glibc's do_system() for a non-null command.
int run_shell(const char* cmd) {
  struct sigaction ign{};
  ign.sa_handler = SIG_IGN;
  sigemptyset(&ign.sa_mask);
  struct sigaction intr, quit;
  g_sys_lk.lock();
  if (g_sys_refs++ == 0) {
    ::sigaction(SIGINT, &ign, &g_intr);
    ::sigaction(SIGQUIT, &ign, &g_quit);
  }
  intr = g_intr;
  quit = g_quit;
  g_sys_lk.unlock();

  sigset_t child_mask, block, omask;
  rt::exec_sigmask(&child_mask);
  sigemptyset(&block);
  sigaddset(&block, SIGCHLD);
  pthread_sigmask(SIG_BLOCK, &block, &omask);

  sigset_t reset;
  sigemptyset(&reset);
  if (intr.sa_handler != SIG_IGN) sigaddset(&reset, SIGINT);
  if (quit.sa_handler != SIG_IGN) sigaddset(&reset, SIGQUIT);
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  posix_spawnattr_setsigmask(&attr, &child_mask);
  posix_spawnattr_setsigdefault(&attr, &reset);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK);
  char* argv[] = {const_cast<char*>("sh"), const_cast<char*>("-c"), const_cast<char*>(cmd), nullptr};
  pid_t pid;
  int err = ::posix_spawn(&pid, shell_path, nullptr, &attr, argv, environ);
  posix_spawnattr_destroy(&attr);
  int status;
  if (err == 0) {
    pid_t r;
    do r = ::waitpid(pid, &status, 0);
    while (r < 0 && errno == EINTR);
    if (r != pid) status = -1;
  } else {
    status = W_EXITCODE(127, 0);
  }

  g_sys_lk.lock();
  if (--g_sys_refs == 0) {
    ::sigaction(SIGINT, &g_intr, nullptr);
    ::sigaction(SIGQUIT, &g_quit, nullptr);
  }
  g_sys_lk.unlock();
  pthread_sigmask(SIG_SETMASK, &omask, nullptr);
  if (err) errno = err;
  return status;
}

// ---- popen / pclose -----------------------------------------------------------

// The streams popen() made on fibers and their shells' pids.
struct proc_stream {
  FILE* f;
  pid_t pid;
  proc_stream* next;
};
weft::detail::spinlock g_proc_lk;  // guards g_procs
proc_stream* g_procs = nullptr;

// spawn_stream() spawns the shell for popen with the child's end on
// child_fd (0 or 1); returns its pid or -1 with errno.
pid_t spawn_stream(const char* cmd, int child_end, int child_fd) {
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  int err = 0;
  if (child_end != child_fd) {
    err = posix_spawn_file_actions_adddup2(&fa, child_end, child_fd);
  } else {
    // Already the fd the child uses, with O_CLOEXEC: move it, so that the
    // dup2 in the child clears the flag (as glibc does).
    int tmp = WEFT_REAL(fcntl)(child_end, F_DUPFD_CLOEXEC, 0);
    if (tmp < 0) err = errno;
    else {
      WEFT_REAL(close)(child_end);
      child_end = tmp;
      err = posix_spawn_file_actions_adddup2(&fa, child_end, child_fd);
    }
  }
  g_proc_lk.lock();
  for (proc_stream* p = g_procs; p && !err; p = p->next) {
    int fd = fileno(p->f);
    if (fd != child_fd) err = posix_spawn_file_actions_addclose(&fa, fd);
  }
  g_proc_lk.unlock();
  pid_t pid = -1;
  if (!err) {
    sigset_t m;
    rt::exec_sigmask(&m);
    posix_spawnattr_t attr;
    posix_spawnattr_init(&attr);
    posix_spawnattr_setsigmask(&attr, &m);
    posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK);
    char* argv[] = {const_cast<char*>("sh"), const_cast<char*>("-c"), const_cast<char*>(cmd), nullptr};
    err = ::posix_spawn(&pid, shell_path, &fa, &attr, argv, environ);
    posix_spawnattr_destroy(&attr);
  }
  posix_spawn_file_actions_destroy(&fa);
  ::close(child_end);
  if (err) {
    errno = err;
    return -1;
  }
  return pid;
}

// fiber_popen() is popen on a fiber.
FILE* fiber_popen(const char* cmd, const char* mode) {
  bool rd = mode[0] == 'r', cloexec = std::strchr(mode, 'e') != nullptr;
  if ((mode[0] != 'r' && mode[0] != 'w') || (mode[1] != '\0' && mode[1] != 'e')) {
    errno = EINVAL;
    return nullptr;
  }
  auto* rec = new (std::nothrow) proc_stream{};
  if (!rec) return nullptr;
  int p[2];
  if (::pipe2(p, O_CLOEXEC) != 0) {
    delete rec;
    return nullptr;
  }
  int parent_end = rd ? p[0] : p[1], child_end = rd ? p[1] : p[0];
  pid_t pid = spawn_stream(cmd, child_end, rd ? 1 : 0);
  if (pid < 0) {
    int e = errno;
    ::close(parent_end);
    delete rec;
    errno = e;
    return nullptr;
  }
  if (!cloexec) WEFT_REAL(fcntl)(parent_end, F_SETFD, 0);
  FILE* f = fdopen(parent_end, rd ? "r" : "w");
  if (!f) {
    int e = errno;
    ::close(parent_end);
    int st;
    ::waitpid(pid, &st, 0);
    delete rec;
    errno = e;
    return nullptr;
  }
  *rec = {f, pid, nullptr};
  g_proc_lk.lock();
  rec->next = g_procs;
  g_procs = rec;
  g_proc_lk.unlock();
  return f;
}

// take_stream() unlinks f's record; nullptr if popen() did not make it here.
proc_stream* take_stream(FILE* f) noexcept {
  g_proc_lk.lock();
  proc_stream** pp = &g_procs;
  while (*pp && (*pp)->f != f) pp = &(*pp)->next;
  proc_stream* r = *pp;
  if (r) *pp = r->next;
  g_proc_lk.unlock();
  return r;
}

}  // namespace

WEFT_HOOK int system(const char* cmd) {
  if (!rt::on_fiber()) return WEFT_REAL(system)(cmd);
  if (!cmd) return run_shell("exit 0") == 0;
  return run_shell(cmd);
}

WEFT_HOOK FILE* popen(const char* cmd, const char* mode) {
  if (!rt::on_fiber()) return WEFT_REAL(popen)(cmd, mode);
  return fiber_popen(cmd, mode);
}

WEFT_HOOK int pclose(FILE* f) {
  proc_stream* rec = take_stream(f);
  if (!rec) return WEFT_REAL(pclose)(f);
  pid_t pid = rec->pid;
  delete rec;
  ::fclose(f);
  int status;
  pid_t r;
  do r = ::waitpid(pid, &status, 0);
  while (r < 0 && errno == EINTR);
  return r < 0 ? -1 : status;
}
