// docs/examples/deadlock.cpp — a deadlock weft reports (docs/api.md).
// The deadlocked run is in a child process with on_deadlock = abort, so
// that this example ends: the parent shows the child's report.
#include <weft/weft.hpp>

#include <sys/wait.h>
#include <unistd.h>

#include <csignal>
#include <cstdio>
#include <string>

int main() {
  int p[2];
  if (pipe(p) != 0) return 1;
  pid_t pid = fork();
  if (pid == 0) {
    dup2(p[1], 2);  // the report goes to stderr (or WEFT_LOG)
    weft::config c;
    c.on_deadlock = weft::deadlock_action::abort;  // default: report, and keep waiting
    weft::run(c, [] {
      weft::channel<int> a(0), b(0);
      auto x = weft::spawn([&] { b.send(*a.recv()); });  // waits for y
      auto y = weft::spawn([&] { a.send(*b.recv()); });  // waits for x
      x.join();
    });
    _exit(0);  // not reached
  }
  close(p[1]);
  std::string report;
  char buf[512];
  for (ssize_t n; (n = read(p[0], buf, sizeof buf)) > 0;) report.append(buf, std::size_t(n));
  int st = 0;
  waitpid(pid, &st, 0);
  std::fputs(report.c_str(), stdout);  // weft: all fibers are asleep - deadlock! + the dump
  bool ok = WIFSIGNALED(st) && WTERMSIG(st) == SIGABRT &&
            report.find("all fibers are asleep - deadlock!") != std::string::npos;
  return ok ? 0 : 1;
}
