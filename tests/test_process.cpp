// weft::process: starting programs with pipes, env and cwd; wait, wait_for,
// communicate, kill and exit statuses; many children on one carrier; plain
// threads; two carriers; cancellation; misuse.
#include "helpers.hpp"

#include <weft/process.hpp>
#include <weft/weft.hpp>

#include <gtest/gtest.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <random>
#include <string>
#include <system_error>
#include <thread>
#include <vector>

using namespace std::chrono_literals;
using weft::process;
using weft::stdio;
using weft_test::elapsed_ms;
using weft_test::steady;

namespace {

constexpr weft::process_options out_pipe{.out = stdio::pipe};
const weft::process_options in_out_pipes{.in = stdio::pipe, .out = stdio::pipe};

// random_bytes(n) is n pseudo-random bytes (zeros and newlines included).
std::string random_bytes(std::size_t n) {
  std::mt19937 g(42);
  std::string s(n, '\0');
  for (char& c : s) c = static_cast<char>(g());
  return s;
}

TEST(Process, EchoOutputAndStatus) {
  weft::run([] {
    process p({"echo", "hello", "world"}, out_pipe);
    EXPECT_GT(p.pid(), 0);
    weft::process_output r = p.communicate();
    EXPECT_EQ(r.out, "hello world\n");
    EXPECT_EQ(r.err, "");
    ASSERT_TRUE(r.status);
    EXPECT_TRUE(r.status->exited());
    EXPECT_EQ(r.status->code(), 0);
    EXPECT_TRUE(r.status->success());
    EXPECT_EQ(p.wait(), *r.status);  // later waits give the same status
  });
}

TEST(Process, ExitCodeAndStderr) {
  weft::run([] {
    process p({"sh", "-c", "echo oops >&2; exit 7"}, {.out = stdio::pipe, .err = stdio::pipe});
    auto r = p.communicate();
    EXPECT_EQ(r.out, "");
    EXPECT_EQ(r.err, "oops\n");
    ASSERT_TRUE(r.status);
    EXPECT_EQ(r.status->code(), 7);
    EXPECT_FALSE(r.status->success());
    EXPECT_THROW((void)r.status->signal(), weft::usage_error);
  });
}

// 1 MB through cat: far more than a pipe holds, so writing all before
// reading (or the reverse) would deadlock.
TEST(Process, CatRoundTripOneMegabyte) {
  weft::run([] {
    std::string in = random_bytes(1 << 20);
    process p({"cat"}, {.in = stdio::pipe, .out = stdio::pipe, .err = stdio::pipe});
    auto r = p.communicate(in);
    EXPECT_EQ(r.out.size(), in.size());
    EXPECT_TRUE(r.out == in);
    ASSERT_TRUE(r.status);
    EXPECT_TRUE(r.status->success());
  });
}

// A child that never reads its stdin: the writer gets EPIPE, the parent
// gets no SIGPIPE (which would kill the test).
TEST(Process, ChildClosingStdinGivesNoSigpipe) {
  weft::run([] {
    for (int i = 0; i < 5; ++i) {
      process p({"true"}, {.in = stdio::pipe});
      auto r = p.communicate(random_bytes(1 << 20));
      ASSERT_TRUE(r.status);
      EXPECT_TRUE(r.status->success());
    }
    process p({"sh", "-c", "exec 0<&-; sleep 0.05"}, {.in = stdio::pipe});
    weft::this_fiber::sleep_for(20ms);
    std::string big(1 << 20, 'x');
    EXPECT_FALSE(p.write_stdin(big));  // EPIPE once the child closed it
    EXPECT_TRUE(p.wait().success());
  });
}

TEST(Process, KilledBySignal) {
  weft::run([] {
    process p({"sleep", "10"});
    auto t0 = steady::now();
    EXPECT_TRUE(p.kill(SIGTERM));
    weft::exit_status s = p.wait();
    EXPECT_LT(elapsed_ms(t0), 5000);
    EXPECT_TRUE(s.signaled());
    EXPECT_FALSE(s.exited());
    EXPECT_EQ(s.signal(), SIGTERM);
    EXPECT_FALSE(s.core_dumped());
    EXPECT_THROW((void)s.code(), weft::usage_error);
    EXPECT_FALSE(p.kill());  // reaped: nothing to signal, never another process
  });
}

TEST(Process, WaitForTimesOut) {
  weft::run([] {
    process p({"sleep", "10"});
    auto t0 = steady::now();
    EXPECT_FALSE(p.wait_for(100ms));
    EXPECT_GE(elapsed_ms(t0), 95);
    EXPECT_FALSE(p.try_wait());
    EXPECT_FALSE(p.wait_until(steady::now() + 20ms));
    p.kill();
    auto s = p.wait_for(5s);
    ASSERT_TRUE(s);
    EXPECT_EQ(s->signal(), SIGKILL);
  });
}

TEST(Process, EnvironmentAndWorkingDirectory) {
  weft::run([] {
    process p({"/bin/sh", "-c", "echo \"$FOO:$BAR\"; pwd"},
              {.out = stdio::pipe, .env = std::vector<std::string>{"FOO=foo", "BAR=b a r"}, .cwd = "/usr/bin"});
    auto r = p.communicate();
    EXPECT_EQ(r.out, "foo:b a r\n/usr/bin\n");
    // The default: the parent's environment and directory.
    ::setenv("WEFT_TEST_PROCESS_VAR", "inherited", 1);
    process q({"sh", "-c", "echo $WEFT_TEST_PROCESS_VAR"}, out_pipe);
    EXPECT_EQ(q.communicate().out, "inherited\n");
  });
}

TEST(Process, NullStdioAndCommunicateWithoutPipes) {
  weft::run([] {
    process p({"cat"}, {.in = stdio::null, .out = stdio::null});
    auto r = p.communicate();
    ASSERT_TRUE(r.status);
    EXPECT_TRUE(r.status->success());  // cat read end of file at once
  });
}

TEST(Process, StartFailureIsSystemError) {
  weft::run([] {
    try {
      process p({"weft-no-such-program-xyz"});
      FAIL() << "started";
    } catch (const std::system_error& e) {
      EXPECT_EQ(e.code().value(), ENOENT);
    }
    EXPECT_THROW(process({"/bin/true"}, {.cwd = "/nonexistent-weft-dir"}), std::system_error);
  });
}

// Weft's pipe ends stay blocking (the child shares the description) and
// close-on-exec (children started meanwhile never get them).
TEST(Process, PipeEndsAreBlockingAndCloexec) {
  weft::run([] {
    process p({"cat"}, {.in = stdio::pipe, .out = stdio::pipe, .err = stdio::pipe});
    for (int fd : {p.stdin_fd(), p.stdout_fd(), p.stderr_fd()}) {
      ASSERT_GE(fd, 0);
      EXPECT_EQ(::fcntl(fd, F_GETFL) & O_NONBLOCK, 0);
      EXPECT_NE(::fcntl(fd, F_GETFD) & FD_CLOEXEC, 0);
    }
    // Streamed use: write, read back, close stdin, read end of file.
    ASSERT_TRUE(p.write_stdin("ping\n"));
    char buf[16];
    std::size_t n = p.read_stdout(buf, sizeof buf);
    EXPECT_EQ(std::string(buf, n), "ping\n");
    p.close_stdin();
    p.close_stdin();  // idempotent
    EXPECT_EQ(p.stdin_fd(), -1);
    EXPECT_EQ(p.read_stdout(buf, sizeof buf), 0u);
    EXPECT_TRUE(p.wait().success());
  });
}

TEST(Process, CommunicateDeadlineKeepsPartialOutput) {
  weft::run([] {
    process p({"sh", "-c", "echo partial; exec sleep 10"}, out_pipe);
    auto t0 = steady::now();
    auto r = p.communicate({}, 300ms);
    EXPECT_GE(elapsed_ms(t0), 290);
    EXPECT_LT(elapsed_ms(t0), 5000);
    EXPECT_EQ(r.out, "partial\n");
    EXPECT_FALSE(r.status);
    EXPECT_EQ(p.stdout_fd(), -1);  // closed
    p.kill();
    EXPECT_EQ(p.wait().signal(), SIGKILL);
  });
}

// 200 children at once on one carrier: every wait parks its fiber, so a
// ticker fiber keeps ticking meanwhile, and all complete.
TEST(Process, TwoHundredEchoChildrenOnOneCarrier) {
  weft::run([] {
    std::atomic<bool> stop{false};
    int ticks = 0;
    double max_gap = 0;
    auto ticker = weft::spawn([&] {
      auto last = steady::now();
      while (!stop) {
        weft::this_fiber::sleep_for(1ms);
        max_gap = std::max(max_gap, elapsed_ms(last));
        last = steady::now();
        ++ticks;
      }
    });
    weft::this_fiber::sleep_for(5ms);
    int ok = 0;
    {
      weft::group g;
      for (int i = 0; i < 200; ++i)
        g.spawn([&, i] {
          process p({"echo", std::to_string(i)}, out_pipe);
          auto r = p.communicate();
          if (r.out == std::to_string(i) + "\n" && r.status && r.status->success()) ++ok;
        });
      g.wait();
    }
    int during = ticks;
    stop = true;
    ticker.join();
    EXPECT_EQ(ok, 200);
    EXPECT_GE(during, 3) << "the ticker hardly ran: waits held the carrier";
    EXPECT_LT(max_gap, 2000) << "the carrier was blocked for " << max_gap << " ms";
  });
}

// Children that each take 300 ms finish together, not one after another:
// the waits overlap.
TEST(Process, WaitsOverlap) {
  weft::run([] {
    auto t0 = steady::now();
    weft::group g;
    for (int i = 0; i < 30; ++i)
      g.spawn([] {
        process p({"sleep", "0.3"});
        EXPECT_TRUE(p.wait().success());
      });
    g.wait();
    EXPECT_LT(elapsed_ms(t0), 30 * 300 / 2);
  });
}

// Outside weft::run: waits block the thread; communicate runs its fibers
// under a run of its own.
TEST(Process, FromPlainThreads) {
  std::vector<std::thread> ts;
  std::atomic<int> ok{0};
  for (int t = 0; t < 4; ++t)
    ts.emplace_back([&, t] {
      std::string in = random_bytes(256 * 1024 + t);
      process p({"cat"}, in_out_pipes);
      auto r = p.communicate(in);
      if (r.out == in && r.status && r.status->success()) ++ok;
      process q({"sleep", "10"});
      if (!q.wait_for(50ms) && q.kill() && q.wait().signal() == SIGKILL) ++ok;
    });
  for (auto& t : ts) t.join();
  EXPECT_EQ(ok, 8);
}

TEST(Process, TwoCarriers) {
  weft::run(weft::config{.workers = 2}, [] {
    std::atomic<int> ok{0};
    weft::group g;
    for (int i = 0; i < 20; ++i)
      g.spawn([&, i] {
        std::string in = random_bytes(128 * 1024 + i);
        process p({"cat"}, in_out_pipes);
        auto r = p.communicate(in);
        if (r.out == in && r.status && r.status->success()) ++ok;
      });
    g.wait();
    EXPECT_EQ(ok, 20);
    // A wait on one carrier, a kill from a fiber on whichever carrier.
    process p({"sleep", "10"});
    auto w = weft::spawn([&] { return p.wait(); });
    weft::this_fiber::sleep_for(20ms);
    auto k = weft::spawn([&] { return p.kill(SIGINT); });
    EXPECT_TRUE(k.join());
    EXPECT_EQ(w.join().signal(), SIGINT);
  });
}

TEST(Process, CancelDuringWaitAndCommunicate) {
  weft::run([] {
    for (int round = 0; round < 10; ++round) {
      process p({"sleep", "10"}, out_pipe);
      auto w = weft::spawn([&] { (void)p.wait(); });
      weft::this_fiber::sleep_for(5ms);
      w.cancel();
      EXPECT_THROW(w.join(), weft::cancelled);
      auto c = weft::spawn([&] { (void)p.communicate(); });
      weft::this_fiber::sleep_for(5ms);
      c.cancel();
      EXPECT_THROW(c.join(), weft::cancelled);
      // The child ran on; it can still be killed and reaped.
      EXPECT_TRUE(p.kill());
      EXPECT_EQ(p.wait().signal(), SIGKILL);
    }
  });
}

TEST(Process, TimeoutScopeEndsWait) {
  weft::run([] {
    process p({"sleep", "10"});
    {
      weft::timeout t(50ms);
      EXPECT_THROW((void)p.wait(), weft::timed_out);
    }
    p.kill();
    EXPECT_TRUE(p.wait().signaled());
  });
}

// A child reaped behind weft's back: wait() reports ECHILD, kill() false.
TEST(Process, ReapedElsewhere) {
  weft::run([] {
    process p({"true"});
    int st = 0;
    ASSERT_EQ(::waitpid(p.pid(), &st, 0), p.pid());
    try {
      (void)p.wait();
      FAIL() << "wait succeeded";
    } catch (const std::system_error& e) {
      EXPECT_EQ(e.code().value(), ECHILD);
    }
    EXPECT_FALSE(p.kill());
  });
}

// The example of docs/api.md, "Child processes", with its comments as checks.
TEST(Process, DocsExample) {
  weft::run([] {
    weft::process sort({"sort"}, {.in = weft::stdio::pipe, .out = weft::stdio::pipe});
    weft::process_output r = sort.communicate("b\na\n");
    EXPECT_EQ(r.out, "a\nb\n");
    EXPECT_TRUE(r.status->exited() && r.status->code() == 0);
    weft::process sleeper({"sh", "-c", "echo $GREETING; pwd; exec sleep 10"},
                          {.out = weft::stdio::pipe, .env = std::vector<std::string>{"GREETING=hi"}, .cwd = "/tmp"});
    auto partial = sleeper.communicate({}, std::chrono::milliseconds(200));
    EXPECT_EQ(partial.out, "hi\n/tmp\n");
    EXPECT_FALSE(partial.status);
    sleeper.kill(SIGTERM);
    weft::exit_status s = sleeper.wait();
    EXPECT_TRUE(s.signaled() && s.signal() == SIGTERM);
  });
}

TEST(Process, Misuse) {
  weft::run([] {
    EXPECT_THROW(process(std::vector<std::string>{}), weft::usage_error);
    process empty;
    EXPECT_THROW((void)empty.pid(), weft::usage_error);
    EXPECT_THROW((void)empty.wait(), weft::usage_error);
    process p({"sleep", "10"});
    EXPECT_THROW((void)p.communicate("input"), weft::usage_error);  // stdin is not a pipe
    char c;
    EXPECT_THROW((void)p.read_stdout(&c, 1), weft::usage_error);
    EXPECT_THROW((void)p.read_stderr(&c, 1), weft::usage_error);
    EXPECT_THROW((void)p.write_stdin("x"), weft::usage_error);
    EXPECT_THROW((void)p.kill(-1), weft::usage_error);
    EXPECT_THROW((void)p.kill(1000), weft::usage_error);
    auto w = weft::spawn([&] { return p.wait(); });
    weft::this_fiber::sleep_for(5ms);
    EXPECT_THROW((void)p.wait(), weft::usage_error);  // another wait is in progress
    p.kill();
    EXPECT_TRUE(w.join().signaled());
    process q({"true"});
    (void)q.communicate();
    EXPECT_THROW((void)q.communicate(), weft::usage_error);
    process moved = std::move(q);
    EXPECT_THROW((void)q.pid(), weft::usage_error);
    EXPECT_TRUE(moved.wait().success());
  });
}

}  // namespace
