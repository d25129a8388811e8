// tests/hooks/test_hooks_preload.cpp — preload mode: weft-run runs
// unmodified programs with libweft_preload.so. A plain C program, Debian's
// python3 and curl must print the same as without weft-run, with the hooks
// visibly active (fibers parked: WEFT_HOOKS_STATS). weft-run's own options,
// errors and exit status are checked too.
//
// This binary is not linked with the hooks. Paths come from the
// environment set by meson: WEFT_RUN, PRELOAD_PROG, STATIC_PROG, and
// PYTHON3 / CURL for the tests meson registers only when those exist.
#include "run_prog.hpp"
#include "watchdog.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iterator>
#include <string>
#include <thread>
#include <vector>

namespace {

using weft_test::env;
using weft_test::outcome;
using weft_test::run;

// parks() is N from the "weft-hooks: parks=N" line, or -1.
long parks(const std::string& err) {
  auto p = err.find("weft-hooks: parks=");
  return p == std::string::npos ? -1 : std::atol(err.c_str() + p + 18);
}

// stripped() removes the weft-hooks line (stderr of the weft-run side).
std::string stripped(std::string err) {
  auto p = err.find("weft-hooks: parks=");
  if (p != std::string::npos) err.erase(p, err.find('\n', p) + 1 - p);
  return err;
}

// one_line() is true for a single "weft-run: ..." error line.
bool one_line(const std::string& err) {
  return err.rfind("weft-run: ", 0) == 0 && err.find('\n') == err.size() - 1;
}

const std::vector<std::string> stats = {"WEFT_HOOKS_STATS=1"};

TEST(WeftRun, HelpAndVersion) {
  outcome h = run({env("WEFT_RUN"), "--help"});
  EXPECT_EQ(h.status, 0);
  EXPECT_NE(h.out.find("usage: weft-run [options] [--] program [args...]"), std::string::npos) << h.out;
  for (const char* opt : {"--workers", "--threads=fibers|os", "--no-threads", "--no-dns", "--no-signals",
                          "--monitor[=MS]", "--log FILE", "--verbose", "--help", "--version"})
    EXPECT_NE(h.out.find(opt), std::string::npos) << opt << " is not in --help";
  outcome v = run({env("WEFT_RUN"), "--version"});
  EXPECT_EQ(v.status, 0);
  EXPECT_EQ(v.out.rfind("weft-run (weft) ", 0), 0u) << v.out;
}

TEST(WeftRun, RefusesWhatItCannotHookWithOneLine) {
  outcome none = run({env("WEFT_RUN")});
  EXPECT_EQ(none.status, 2);
  EXPECT_TRUE(one_line(none.err)) << none.err;

  outcome bad = run({env("WEFT_RUN"), "--frobnicate", "true"});
  EXPECT_EQ(bad.status, 2);
  EXPECT_TRUE(one_line(bad.err)) << bad.err;

  outcome missing = run({env("WEFT_RUN"), "no-such-program-weft-test"});
  EXPECT_EQ(missing.status, 127);
  EXPECT_TRUE(one_line(missing.err)) << missing.err;
  EXPECT_NE(missing.err.find("not found"), std::string::npos) << missing.err;

  outcome stat = run({env("WEFT_RUN"), env("STATIC_PROG")});
  EXPECT_EQ(stat.status, 126);
  EXPECT_TRUE(one_line(stat.err)) << stat.err;
  EXPECT_NE(stat.err.find("statically linked"), std::string::npos) << stat.err;

  // A setuid copy of the test program.
  char dir[] = "/tmp/weft_suid_XXXXXX";
  ASSERT_NE(::mkdtemp(dir), nullptr);
  std::string copy = std::string(dir) + "/prog";
  {
    std::ifstream in(env("PRELOAD_PROG"), std::ios::binary);
    std::ofstream out(copy, std::ios::binary);
    out << in.rdbuf();
  }
  ASSERT_EQ(::chmod(copy.c_str(), 04755), 0);
  outcome suid = run({env("WEFT_RUN"), "--", copy});
  EXPECT_EQ(suid.status, 126);
  EXPECT_TRUE(one_line(suid.err)) << suid.err;
  EXPECT_NE(suid.err.find("setuid"), std::string::npos) << suid.err;
  ::unlink(copy.c_str());
  ::rmdir(dir);
}

TEST(WeftRun, PlainCProgramPrintsTheSameWithTheHooksActive) {
  outcome plain = run({env("PRELOAD_PROG")}, stats);
  outcome hooked = run({env("WEFT_RUN"), "--", env("PRELOAD_PROG")}, stats);
  EXPECT_EQ(plain.status, 0) << plain.err;
  EXPECT_EQ(hooked.status, 0) << hooked.err;
  EXPECT_NE(plain.out.find("reply 2: pong:ping2"), std::string::npos) << plain.out;
  EXPECT_EQ(hooked.out, plain.out);
  EXPECT_EQ(plain.err, "real_nonblock=0\n");
  EXPECT_EQ(stripped(hooked.err), "real_nonblock=0\n") << "the hooks never change a description's flags";
  EXPECT_GT(parks(hooked.err), 3) << "main() must run on a fiber with the hooks active: " << hooked.err;
}

// --no-signals: sigaction is glibc's, so a caught signal ends no parked
// call: the read waits for its data, where the plain run (and the hooks)
// fail it with EINTR.
TEST(WeftRun, NoSignalsLeavesSigactionToGlibc) {
  outcome plain = run({env("PRELOAD_PROG"), "sigread"});
  EXPECT_EQ(plain.out, "read=-1 Interrupted system call\n") << plain.err;
  outcome hooked = run({env("WEFT_RUN"), env("PRELOAD_PROG"), "sigread"});
  EXPECT_EQ(hooked.out, plain.out) << hooked.err;
  outcome off = run({env("WEFT_RUN"), "--no-signals", env("PRELOAD_PROG"), "sigread"});
  EXPECT_EQ(off.out, "read=1 data\n") << off.err;
}

// --no-dns: the resolver calls are glibc's. WEFT_HOSTS points only the
// hooks' resolver at another hosts file, which tells the two apart.
TEST(WeftRun, NoDnsLeavesTheResolverToGlibc) {
  char path[] = "/tmp/weft_hosts_XXXXXX";
  int fd = ::mkstemp(path);
  ASSERT_GE(fd, 0);
  const char line[] = "10.11.12.13 weft-run-test-host\n";
  ASSERT_EQ(::write(fd, line, sizeof line - 1), static_cast<ssize_t>(sizeof line - 1));
  ::close(fd);
  std::string hosts = std::string("WEFT_HOSTS=") + path;
  const char* py = "import socket\ntry: print(socket.gethostbyname('weft-run-test-host'))\nexcept OSError: print('none')";
  if (env("PYTHON3").empty()) GTEST_SKIP() << "no python3";
  outcome hooked = run({env("WEFT_RUN"), env("PYTHON3"), "-c", py}, {hosts});
  EXPECT_EQ(hooked.out, "10.11.12.13\n") << hooked.err;
  outcome off = run({env("WEFT_RUN"), "--no-dns", env("PYTHON3"), "-c", py}, {hosts});
  EXPECT_NE(off.out, "10.11.12.13\n") << "glibc knows nothing of WEFT_HOSTS: " << off.err;
  ::unlink(path);
}

// --no-threads is --threads=os: a Python thread runs on a thread of its own.
TEST(WeftRun, NoThreadsKeepsOsThreads) {
  if (env("PYTHON3").empty()) GTEST_SKIP() << "no python3";
  const char* py =
      "import threading\nids = []\nt = threading.Thread(target=lambda: ids.append(threading.get_native_id()))\n"
      "t.start(); t.join()\nprint('same carrier' if ids[0] == threading.get_native_id() else 'own thread')";
  EXPECT_EQ(run({env("WEFT_RUN"), env("PYTHON3"), "-c", py}).out, "same carrier\n");
  EXPECT_EQ(run({env("WEFT_RUN"), "--no-threads", env("PYTHON3"), "-c", py}).out, "own thread\n");
  EXPECT_EQ(run({env("WEFT_RUN"), "--threads=os", env("PYTHON3"), "-c", py}).out, "own thread\n");
}

// The monitor is off unless asked; --monitor=MS reports a fiber that holds
// its carrier in one line; --log FILE sends it (with the backtrace) there;
// --verbose says what is hooked on stderr and changes nothing else.
TEST(WeftRun, MonitorLogAndVerbose) {
  if (env("PYTHON3").empty()) GTEST_SKIP() << "no python3";
  const char* py = "import time\nt = time.time()\nwhile time.time() - t < 0.3: pass\nprint('done')";
  outcome quiet = run({env("WEFT_RUN"), env("PYTHON3"), "-c", py});
  EXPECT_EQ(quiet.out, "done\n");
  EXPECT_EQ(quiet.err, "") << "weft adds nothing to the program's output unless asked";
  outcome mon = run({env("WEFT_RUN"), "--monitor=50", env("PYTHON3"), "-c", py});
  EXPECT_EQ(mon.out, "done\n");
  EXPECT_EQ(mon.err.rfind("weft: monitor: fiber ", 0), 0u) << mon.err;
  EXPECT_NE(mon.err.find("held its carrier"), std::string::npos) << mon.err;
  EXPECT_EQ(std::count(mon.err.begin(), mon.err.end(), '\n'), 1) << "one short line: " << mon.err;
  char dir[] = "/tmp/weft_log_XXXXXX";
  ASSERT_NE(::mkdtemp(dir), nullptr);
  std::string log = std::string(dir) + "/weft.log";
  outcome logged = run({env("WEFT_RUN"), "--monitor=50", "--log", log, env("PYTHON3"), "-c", py});
  EXPECT_EQ(logged.out, "done\n");
  EXPECT_EQ(logged.err, "") << "reports go to the log file";
  std::ifstream in(log);
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_NE(text.find("held its carrier"), std::string::npos) << text;
  EXPECT_NE(text.find("backtrace follows"), std::string::npos) << text;
  EXPECT_GT(std::count(text.begin(), text.end(), '\n'), 3) << "the backtrace is in the log: " << text;
  ::unlink(log.c_str());
  ::rmdir(dir);
  outcome v = run({env("WEFT_RUN"), "--verbose", "--no-dns", env("PYTHON3"), "-c", "print('hi')"});
  EXPECT_EQ(v.out, "hi\n");
  EXPECT_NE(v.err.find("weft-run: hooked: "), std::string::npos) << v.err;
  EXPECT_EQ(v.err.find(", DNS"), std::string::npos) << "--no-dns shows: " << v.err;
  EXPECT_EQ(run({env("WEFT_RUN"), "--monitor=x", "/bin/true"}).status, 2);
  EXPECT_EQ(run({env("WEFT_RUN"), "--log"}).status, 2);
}

TEST(WeftRun, ExitsWithTheProgramsStatus) {
  outcome e = run({env("WEFT_RUN"), env("PRELOAD_PROG"), "exit", "7"}, stats);
  EXPECT_EQ(e.status, 7) << e.err;
  EXPECT_GT(parks(e.err), 0) << "exit() inside main runs the exit handlers: " << e.err;
  outcome r = run({env("WEFT_RUN"), "--workers", "1", env("PRELOAD_PROG"), "ret", "5"});
  EXPECT_EQ(r.status, 5) << r.err;
  outcome w = run({env("WEFT_RUN"), "--workers", "2", env("PRELOAD_PROG"), "ret", "3"});
  EXPECT_EQ(w.status, 3) << w.err;
  EXPECT_EQ(w.out, r.out);
  outcome bad = run({env("WEFT_RUN"), "--workers", "65", env("PRELOAD_PROG")});
  EXPECT_EQ(bad.status, 127);
  EXPECT_TRUE(one_line(bad.err)) << bad.err;
}

// Registered by meson only where /usr/bin/python3 exists.
TEST(WeftRunDebian, Python3SocketScript) {
  const char* script = R"PY(
import ctypes, os, socket, sys, threading, time
srv = socket.socket()
srv.bind(('127.0.0.1', 0))
srv.listen(8)
port = srv.getsockname()[1]
def serve():
    for i in range(3):
        c, _ = srv.accept()
        data = c.recv(100)
        time.sleep(0.03)
        c.sendall(b'pong:' + data)
        c.close()
t = threading.Thread(target=serve)
t.start()
for i in range(3):
    s = socket.create_connection(('127.0.0.1', port))
    if i == 0:
        libc = ctypes.CDLL(None)
        real = libc.syscall(72, s.fileno(), 3)  # SYS_fcntl, F_GETFL
        print('real_nonblock=%d' % ((real & os.O_NONBLOCK) != 0), file=sys.stderr)
    s.sendall(b'ping%d' % i)
    print(s.recv(100).decode())
    s.close()
t.join()
r, w = os.pipe()
os.write(w, b'through a pipe')
print(os.read(r, 100).decode())
time.sleep(0.02)
print('done')
)PY";
  ASSERT_FALSE(env("PYTHON3").empty());
  outcome plain = run({env("PYTHON3"), "-c", script}, stats);
  outcome hooked = run({env("WEFT_RUN"), env("PYTHON3"), "-c", script}, stats);
  EXPECT_EQ(plain.status, 0) << plain.err;
  EXPECT_EQ(hooked.status, 0) << hooked.err;
  EXPECT_NE(plain.out.find("pong:ping2\nthrough a pipe\ndone\n"), std::string::npos) << plain.out;
  EXPECT_EQ(hooked.out, plain.out);
  EXPECT_EQ(plain.err, "real_nonblock=0\n");
  EXPECT_EQ(stripped(hooked.err), "real_nonblock=0\n");
  EXPECT_GT(parks(hooked.err), 2) << hooked.err;
}

// http_server() answers `n` HTTP requests with a fixed body after 100 ms,
// on a plain thread of this (unhooked) process. Returns the port.
int http_server(int n, std::thread& t) {
  int l = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof a;
  if (::bind(l, reinterpret_cast<sockaddr*>(&a), sizeof a) || ::listen(l, 8) ||
      ::getsockname(l, reinterpret_cast<sockaddr*>(&a), &len))
    return -1;
  t = std::thread([l, n] {
    for (int i = 0; i < n; ++i) {
      int c = ::accept(l, nullptr, nullptr);
      if (c < 0) break;
      std::string req;
      char buf[1024];
      while (req.find("\r\n\r\n") == std::string::npos) {
        ssize_t k = ::read(c, buf, sizeof buf);
        if (k <= 0) break;
        req.append(buf, static_cast<std::size_t>(k));
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
      std::string body = "hello from the weft test server\n";
      std::string resp = "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: " +
                         std::to_string(body.size()) + "\r\nConnection: close\r\n\r\n" + body;
      (void)!::write(c, resp.data(), resp.size());
      ::close(c);
    }
    ::close(l);
  });
  return ntohs(a.sin_port);
}

// Registered by meson only where curl exists.
TEST(WeftRunDebian, CurlAgainstALoopbackServer) {
  ASSERT_FALSE(env("CURL").empty());
  std::thread server;
  int port = http_server(2, server);
  ASSERT_GT(port, 0);
  std::string url = "http://127.0.0.1:" + std::to_string(port) + "/hello";
  outcome plain = run({env("CURL"), "-sS", "--noproxy", "*", url}, stats);
  outcome hooked = run({env("WEFT_RUN"), env("CURL"), "-sS", "--noproxy", "*", url}, stats);
  server.join();
  EXPECT_EQ(plain.status, 0) << plain.err;
  EXPECT_EQ(hooked.status, 0) << hooked.err;
  EXPECT_EQ(plain.out, "hello from the weft test server\n");
  EXPECT_EQ(hooked.out, plain.out);
  EXPECT_EQ(stripped(hooked.err), plain.err);
  EXPECT_GT(parks(hooked.err), 0) << "curl's wait for the 100 ms answer must park its fiber: " << hooked.err;
}

}  // namespace
