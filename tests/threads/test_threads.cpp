// tests/threads/test_threads.cpp — pthreads become fibers under weft-run.
//
// Plain C programs (no weft include) run three ways — directly, under
// `weft-run --threads=os` and under `weft-run` (fibers, the default) — and
// must print the same. The thread-per-connection echo server
// (samples/tpc_port.c) is driven by tests/threads/loadgen.cpp at 10, 1,000
// and 10,000 connections; under fibers the server must have at most
// workers + 2 OS threads. limits.c shows each limit docs/porting.md claims.
// Debian's xz (-T2) and python3 (threading) are the unmodified binaries.
//
// Paths come from meson: WEFT_RUN, PROG_DIR (the test programs), TPC_PORT,
// LOADGEN, XZ, PYTHON3. Meson runs the suite twice, with WEFT_WORKERS
// unset (1 carrier) and =2; weft-run passes it on.
#include "run_prog.hpp"
#include "samples/sample_proc.hpp"  // sample_test::process: a server in the background
#include "watchdog.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <string>
#include <vector>

namespace {

using weft_test::env;
using weft_test::outcome;
using weft_test::run;

// The ways a program is run: argv prefixes.
std::vector<std::string> direct() { return {}; }
std::vector<std::string> os_threads() { return {env("WEFT_RUN"), "--threads=os", "--"}; }
std::vector<std::string> fibers() { return {env("WEFT_RUN"), "--"}; }

std::vector<std::string> cat(std::vector<std::string> a, const std::vector<std::string>& b) {
  a.insert(a.end(), b.begin(), b.end());
  return a;
}

// prog() is a test program: its executable is named threads_<name>.
std::string prog(const char* name) { return env("PROG_DIR") + "/threads_" + name; }

// same_three_ways() runs argv directly, on OS threads and on fibers; each
// must exit 0 with the same stdout.
void same_three_ways(const std::vector<std::string>& argv) {
  outcome a = run(argv);
  ASSERT_EQ(a.status, 0) << a.err;
  ASSERT_NE(a.out, "");
  outcome b = run(cat(os_threads(), argv));
  EXPECT_EQ(b.status, 0) << b.err;
  EXPECT_EQ(b.out, a.out);
  outcome c = run(cat(fibers(), argv));
  EXPECT_EQ(c.status, 0) << c.err;
  EXPECT_EQ(c.out, a.out) << c.err;
}

TEST(Threads, ProducerConsumer1000Threads) { same_three_ways({prog("prodcons")}); }
// A busy loop calling sigaction/raise yields its carrier after 10 ms.
TEST(Threads, BusyLoopsThatCallSigactionOrRaiseLetOthersRun) { same_three_ways({prog("preempt")}); }
// Each thread's own signal mask, and children inheriting their starter's.
// A CPU-bound thread does not starve the threads created after it once
// there are two carriers: they have not started, so the idle one steals them
// (repeated: which carrier takes which is a race).
TEST(Threads, CpuBoundThreadDoesNotStarveUnstartedOnes) {
  outcome a = run({prog("spread")});
  ASSERT_EQ(a.status, 0) << a.err;
  ASSERT_EQ(a.out, "workers ran: 8\n");
  for (int i = 0; i < 20; ++i) {
    outcome c = run({env("WEFT_RUN"), "--workers", "2", "--", prog("spread")}, {}, 20);
    ASSERT_EQ(c.status, 0) << "run " << i << ": " << c.err;
    ASSERT_EQ(c.out, a.out) << "run " << i;
  }
}

TEST(Threads, SignalMasksPerThreadAndInherited) { same_three_ways({prog("masks")}); }
TEST(Threads, LifecycleKeysDetachedOnceExitJoinMutexKinds) { same_three_ways({prog("lifecycle")}); }
TEST(Threads, WorkerPoolBarrierRwlockSemaphores) { same_three_ways({prog("pool")}); }
// OS threads started before main and fiber threads share a mutex, condvars,
// a semaphore and a rwlock through the one parking table.
TEST(Threads, OsThreadsAndFibersShareSyncObjects) { same_three_ways({prog("mixed")}); }
// pthread_kill ends the target's blocking read with EINTR; pause and
// sigsuspend in main return EINTR.
TEST(Threads, SignalsEndBlockingCalls) { same_three_ways({prog("signals")}); }
// pthread_exit in main: the other threads finish, then the process exits 0.
TEST(Threads, PthreadExitInMain) { same_three_ways({prog("exit_main")}); }
// waitpid/wait/sigwait/sigtimedwait park the fiber: a ticker thread keeps
// running meanwhile, even on one carrier.
TEST(Threads, ChildAndSignalWaitsPark) {
  same_three_ways({prog("waits")});
  outcome one = run({env("WEFT_RUN"), "--workers", "1", "--", prog("waits")});
  EXPECT_EQ(one.status, 0) << one.err;
  EXPECT_EQ(one.out.find("ticked_meanwhile=0"), std::string::npos) << one.out;
}

struct echo_result {
  std::string server_out, load_out;
  long server_threads = -1;
};

// echo() runs tpc_port the given way and drives it with `conns`
// connections of `msgs` 64-byte round trips each.
echo_result echo(const std::vector<std::string>& how, long conns, long msgs) {
  echo_result r;
  sample_test::process s(cat(how, {env("TPC_PORT"), "--port", "0", "--conns", std::to_string(conns)}));
  int port = s.port();
  EXPECT_GT(port, 0) << s.output();
  if (port <= 0) return r;
  outcome l = run({env("LOADGEN"), "--port", std::to_string(port), "--conns", std::to_string(conns), "--msgs",
                   std::to_string(msgs), "--watch-pid", std::to_string(s.pid())},
                  {}, 60);
  EXPECT_EQ(l.status, 0) << l.out << l.err;
  EXPECT_EQ(s.wait_exit(std::chrono::seconds(30)), 0) << s.output();
  auto served = s.output().find("served ");  // stdout and stderr arrive merged
  if (served != std::string::npos) r.server_out = s.output().substr(served, s.output().find('\n', served) + 1 - served);
  auto p = l.out.find("server_threads=");
  if (p != std::string::npos) {
    r.server_threads = std::atol(l.out.c_str() + p + 15);
    l.out.erase(p, l.out.find('\n', p) + 1 - p);
  }
  r.load_out = l.out;
  return r;
}

void echo_same(long conns, long msgs) {
  echo_result a = echo(direct(), conns, msgs);
  EXPECT_EQ(a.load_out, "conns=" + std::to_string(conns) + " round_trips=" + std::to_string(conns * msgs) +
                            " errors=0\n");
  EXPECT_EQ(a.server_out, "served " + std::to_string(conns) + " connections, " + std::to_string(conns * msgs * 64) +
                              " bytes\n");
  echo_result f = echo(fibers(), conns, msgs);
  EXPECT_EQ(f.load_out, a.load_out);
  EXPECT_EQ(f.server_out, a.server_out);
  // At most workers + 2 OS threads.
  long workers = env("WEFT_WORKERS").empty() ? 1 : std::atol(env("WEFT_WORKERS").c_str());
  EXPECT_GE(f.server_threads, workers);
  EXPECT_LE(f.server_threads, workers + 2);
}

TEST(ThreadsEcho, Connections10) { echo_same(10, 100); }
TEST(ThreadsEcho, Connections1000) { echo_same(1000, 10); }
// The fd limit here is 20,000: 10,000 per process (server, load generator).
TEST(ThreadsEcho, Connections10000) { echo_same(10000, 2); }

// The documented limits (docs/porting.md), each visible: the line differs
// between OS threads and fibers exactly as documented. One carrier, so that
// the two threads of each pair share it.
TEST(Threads, DocumentedLimits) {
  outcome os = run({prog("limits")});
  ASSERT_EQ(os.status, 0);
  EXPECT_EQ(os.out,
            "tls_shared=0\nstdio_lock_excludes=1\ncpu_bound_starves=0\nraw_syscall_blocks=0\ncancel=ok\n");
  outcome f = run({env("WEFT_RUN"), "--workers", "1", "--monitor", "--", prog("limits")});
  ASSERT_EQ(f.status, 0) << f.err;
  EXPECT_EQ(f.out,
            "tls_shared=1\nstdio_lock_excludes=0\ncpu_bound_starves=1\nraw_syscall_blocks=1\n"
            "cancel=Operation not supported\n");
  // Detected at run time when asked: the monitor (--monitor) reports the
  // CPU-bound thread (and the raw syscall) holding the carrier.
  EXPECT_NE(f.err.find("held its carrier"), std::string::npos) << f.err;
  outcome quiet = run({env("WEFT_RUN"), "--workers", "1", "--", prog("limits")});
  EXPECT_EQ(quiet.out, f.out);
  EXPECT_EQ(quiet.err.find("monitor"), std::string::npos) << "the monitor is off unless asked: " << quiet.err;
  // Reported once on stderr, with the fix.
  EXPECT_NE(f.err.find("pthread_cancel is not supported on fiber threads"), std::string::npos) << f.err;
  EXPECT_NE(f.err.find("--threads=os"), std::string::npos);
}

// weft-run's --threads option: bad values are refused with a clear error.
TEST(Threads, WeftRunThreadsOption) {
  outcome bad = run({env("WEFT_RUN"), "--threads=green", "/bin/true"});
  EXPECT_EQ(bad.status, 2);
  EXPECT_NE(bad.err.find("--threads needs 'fibers' or 'os'"), std::string::npos) << bad.err;
  outcome help = run({env("WEFT_RUN"), "--help"});
  EXPECT_NE(help.out.find("--threads=fibers|os"), std::string::npos);
}

// Unmodified Debian binaries.
TEST(ThreadsDebian, XzTwoThreads) {
  char path[] = "/tmp/weft-xz-in-XXXXXX";
  int fd = ::mkstemp(path);
  std::string text;
  for (int i = 0; i < 200000; ++i) text += "line " + std::to_string(i * 7919 % 100003) + " of the xz input\n";
  ASSERT_EQ(::write(fd, text.data(), text.size()), static_cast<ssize_t>(text.size()));
  ::close(fd);
  // -T2 with a small block size: two compressor threads and the main
  // thread hand blocks over through mutexes and condition variables.
  std::vector<std::string> xz = {env("XZ"), "-T2", "--block-size=256KiB", "-3", "-c", path};
  same_three_ways(xz);
  ::unlink(path);
}

TEST(ThreadsDebian, Python3Threading) { same_three_ways({env("PYTHON3"), env("PROG_DIR") + "/python_threads.py"}); }

}  // namespace
