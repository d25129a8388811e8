// tests/samples/sample_proc.hpp — what the sample integration tests share:
// starting a real program (a sample server, redis-server) with its output
// captured, waiting for its "listening"/ready line, stopping it on teardown,
// and small blocking loopback TCP client helpers with timeouts.
//
// The tests themselves are plain threads (no weft): they drive the samples
// from outside, as a user would. Every wait here is bounded.
#pragma once
#include "watchdog.hpp"

#include <gtest/gtest.h>

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <cstring>
#include <optional>
#include <string>
#include <vector>

extern char** environ;

namespace sample_test {

using namespace std::chrono_literals;
using ms = std::chrono::milliseconds;
using clk = std::chrono::steady_clock;

// sample_path(name) is <build>/samples/<name> (WEFT_SAMPLES_DIR, set by meson).
inline std::string sample_path(const char* name) {
  const char* dir = std::getenv("WEFT_SAMPLES_DIR");
  return std::string(dir ? dir : "samples") + "/" + name;
}

// A child process with stdout and stderr merged into one pipe we read.
// The destructor kills (SIGKILL) and reaps it if it still runs.
class process {
 public:
  explicit process(const std::vector<std::string>& argv) {
    int p[2];
    if (::pipe2(p, O_CLOEXEC) < 0) throw std::runtime_error("pipe2 failed");
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_adddup2(&fa, p[1], 1);
    posix_spawn_file_actions_adddup2(&fa, p[1], 2);
    std::vector<char*> args;
    for (const std::string& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    int rc = posix_spawnp(&pid_, args[0], &fa, nullptr, args.data(), environ);
    posix_spawn_file_actions_destroy(&fa);
    ::close(p[1]);
    out_fd_ = p[0];
    if (rc != 0) {
      pid_ = -1;
      throw std::runtime_error("cannot start " + argv[0] + ": " + std::strerror(rc));
    }
  }
  ~process() {
    if (pid_ > 0) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, nullptr, 0);
    }
    if (out_fd_ >= 0) ::close(out_fd_);
  }
  process(const process&) = delete;
  process& operator=(const process&) = delete;

  // wait_for(needle, limit) reads output until a line containing needle has
  // arrived; returns that line, or nullopt at EOF or when limit passes.
  std::optional<std::string> wait_for(const std::string& needle, ms limit = 10s) {
    auto deadline = clk::now() + limit;
    for (;;) {
      for (std::size_t start = scanned_, nl; (nl = out_.find('\n', start)) != std::string::npos; start = nl + 1) {
        scanned_ = nl + 1;
        std::string line = out_.substr(start, nl - start);
        if (line.find(needle) != std::string::npos) return line;
      }
      if (!read_some(deadline)) return std::nullopt;
    }
  }

  // port() waits for the sample's "listening on HOST:PORT" line; 0 if none came.
  int port(ms limit = 10s) {
    auto line = wait_for("listening on", limit);
    if (!line) return 0;
    return std::atoi(line->c_str() + line->rfind(':') + 1);
  }

  // pid() is the child's process id (-1 once reaped).
  pid_t pid() const { return pid_; }

  // signal(sig) sends sig to the child.
  void signal(int sig) { ::kill(pid_, sig); }

  // wait_exit(limit) reads the rest of the output and reaps the child;
  // its exit code (128 + signal if killed), or nullopt if still running at limit.
  std::optional<int> wait_exit(ms limit = 10s) {
    auto deadline = clk::now() + limit;
    while (read_some(deadline)) {
    }
    for (;;) {
      int st = 0;
      pid_t r = ::waitpid(pid_, &st, WNOHANG);
      if (r == pid_) {
        pid_ = -1;
        return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
      }
      if (clk::now() >= deadline) return std::nullopt;
      ::usleep(2000);
    }
  }

  // output() is everything the child printed so far.
  const std::string& output() const { return out_; }

 private:
  pid_t pid_ = -1;
  int out_fd_ = -1;
  std::string out_;
  std::size_t scanned_ = 0;  // out_[0, scanned_) holds lines already looked at

  // read_some(deadline) appends what the child wrote; false at EOF or deadline.
  bool read_some(clk::time_point deadline) {
    auto left = std::chrono::duration_cast<ms>(deadline - clk::now()).count();
    if (left <= 0) return false;
    pollfd p{out_fd_, POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(left)) <= 0) return false;
    char buf[4096];
    ssize_t n = ::read(out_fd_, buf, sizeof buf);
    if (n <= 0) return false;
    out_.append(buf, static_cast<std::size_t>(n));
    return true;
  }
};

// run_to_end(argv, limit) runs a program to completion; {exit code, output}.
// The exit code is -1 if it ran past limit (it is then killed).
inline std::pair<int, std::string> run_to_end(const std::vector<std::string>& argv, ms limit = 30s) {
  process p(argv);
  auto code = p.wait_exit(limit);
  return {code.value_or(-1), p.output()};
}

// free_port() is a loopback TCP port that was free a moment ago.
inline int free_port() {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof a;
  ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  ::close(fd);
  return ntohs(a.sin_port);
}

// connect_to(port, rcvbuf) connects to 127.0.0.1:port with 5 s send and
// receive timeouts (rcvbuf > 0 shrinks the receive buffer first); -1 on failure.
inline int connect_to(int port, int rcvbuf = 0) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (rcvbuf > 0) ::setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf);
  timeval tv{5, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  int one = 1;
  ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<uint16_t>(port));
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) < 0) {
    ::close(fd);
    return -1;
  }
  return fd;
}

// send_all(fd, s) writes all of s; false on error or timeout.
inline bool send_all(int fd, const std::string& s) {
  for (std::size_t off = 0; off < s.size();) {
    ssize_t n = ::send(fd, s.data() + off, s.size() - off, MSG_NOSIGNAL);
    if (n <= 0) return false;
    off += static_cast<std::size_t>(n);
  }
  return true;
}

// A line/byte reader over a connected socket (timeouts from connect_to).
class conn_reader {
 public:
  explicit conn_reader(int fd) : fd_(fd) {}
  // line() is the next '\n'-terminated line without the '\n'; nullopt at EOF/error/timeout.
  std::optional<std::string> line() {
    for (;;) {
      if (auto nl = buf_.find('\n'); nl != std::string::npos) {
        std::string l = buf_.substr(0, nl);
        buf_.erase(0, nl + 1);
        return l;
      }
      if (!fill()) return std::nullopt;
    }
  }
  // bytes(n) is the next n bytes; nullopt if they did not all come.
  std::optional<std::string> bytes(std::size_t n) {
    while (buf_.size() < n)
      if (!fill()) return std::nullopt;
    std::string b = buf_.substr(0, n);
    buf_.erase(0, n);
    return b;
  }
  // at_eof() is true if the peer closed (or reset) with nothing more to read.
  bool at_eof() {
    if (!buf_.empty()) return false;
    char c;
    ssize_t n = ::recv(fd_, &c, 1, 0);
    if (n == 1) buf_.push_back(c);
    return n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK);
  }

 private:
  int fd_;
  std::string buf_;
  bool fill() {
    char b[65536];
    ssize_t n = ::recv(fd_, b, sizeof b, 0);
    if (n <= 0) return false;
    buf_.append(b, static_cast<std::size_t>(n));
    return true;
  }
};

// A loopback TCP connection closed on destruction.
struct conn {
  int fd;
  conn_reader in;
  explicit conn(int port, int rcvbuf = 0) : fd(connect_to(port, rcvbuf)), in(fd) {}
  ~conn() {
    if (fd >= 0) ::close(fd);
  }
  conn(const conn&) = delete;
  conn& operator=(const conn&) = delete;
};

}  // namespace sample_test
