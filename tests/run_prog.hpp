// tests/run_prog.hpp — runs a program as a child process and captures its
// output, for the tests that drive programs under weft-run (tests/hooks,
// tests/threads). A child running longer than `limit_s` is killed and the
// test fails.
#pragma once
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <chrono>
#include <cstdlib>
#include <string>
#include <vector>

namespace weft_test {

struct outcome {
  int status = -1;  // exit code, or 128 + signal
  std::string out, err;
};

inline std::string env(const char* name) {
  const char* v = std::getenv(name);
  return v ? v : "";
}

// run() executes argv with extra environment entries, captures stdout and
// stderr, and kills it after limit_s seconds (the test then fails).
inline outcome run(const std::vector<std::string>& argv, const std::vector<std::string>& extra_env = {},
                   int limit_s = 30) {
  int po[2], pe[2];
  EXPECT_EQ(::pipe(po), 0);
  EXPECT_EQ(::pipe(pe), 0);
  pid_t pid = ::fork();
  if (pid == 0) {
    ::dup2(po[1], 1);
    ::dup2(pe[1], 2);
    ::close(po[0]);
    ::close(pe[0]);
    for (const auto& e : extra_env) ::putenv(const_cast<char*>(e.c_str()));
    std::vector<char*> args;
    for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    ::execv(args[0], args.data());
    _exit(127);
  }
  ::close(po[1]);
  ::close(pe[1]);
  outcome o;
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(limit_s);
  pollfd fds[2] = {{po[0], POLLIN, 0}, {pe[0], POLLIN, 0}};
  int open = 2;
  while (open > 0) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) {
      ::kill(pid, SIGKILL);
      ADD_FAILURE() << argv[0] << " ran longer than " << limit_s << " s";
      break;
    }
    if (::poll(fds, 2, static_cast<int>(left.count())) <= 0) continue;
    for (int i = 0; i < 2; ++i) {
      if (fds[i].fd < 0 || !fds[i].revents) continue;
      char buf[4096];
      ssize_t n = ::read(fds[i].fd, buf, sizeof buf);
      if (n <= 0) {
        ::close(fds[i].fd);
        fds[i].fd = -1;
        --open;
      } else {
        (i == 0 ? o.out : o.err).append(buf, static_cast<std::size_t>(n));
      }
    }
  }
  for (auto& f : fds)
    if (f.fd >= 0) ::close(f.fd);
  int st = 0;
  ::waitpid(pid, &st, 0);
  o.status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
  return o;
}

}  // namespace weft_test
