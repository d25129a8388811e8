// tests/test_deadlock.cpp — "would block forever" reports (config::on_deadlock,
// runtime/deadlock.cpp).
//
// Every case runs its weft::run in a fork()ed child whose stderr is a pipe,
// for two reasons: a deadlocked run never returns (the parent kills it
// after looking), and the check reports only in a process with no thread
// it does not know, while this test process has gtest's watchdog thread.
// A child that runs past its limit is killed and the case fails.
#include "helpers.hpp"

#include <weft/weft.hpp>

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <functional>
#include <memory>
#include <string>
#include <thread>

using namespace std::chrono_literals;

namespace {

#if defined(__SANITIZE_THREAD__)
constexpr bool tsan = true;  // TSan's own thread makes every process "have a plain thread"
#else
constexpr bool tsan = false;
#endif

const char* const banner = "weft: all fibers are asleep - deadlock!";

// What a child did: its stderr, and how it ended.
struct child_result {
  std::string err;
  bool killed = false;  // still running at the end: the parent killed it
  int exit_code = -1;   // when it exited
  int signal = 0;       // when a signal ended it (not our kill)
};

// in_child() runs fn in a fork()ed child (stderr to a pipe, exit 0 after
// fn). It reads the child's stderr until the child ends, or until `until`
// appears in it and `linger` more has passed (then the child is killed),
// or until `limit` passed (killed; the case fails unless a report was
// expected to keep it waiting).
child_result in_child(const std::function<void()>& fn, std::chrono::milliseconds limit,
                      const char* until = nullptr, std::chrono::milliseconds linger = 300ms) {
  if (std::getenv("WEFT_TEST_DEADLOCK_CHILD")) {  // the re-executed child (TSan, below)
    fn();
    std::fflush(stderr);
    ::_exit(::testing::Test::HasFailure() ? 4 : 0);
  }
  int p[2];
  EXPECT_EQ(::pipe(p), 0);
  pid_t pid = ::fork();
  if (pid == 0) {
    ::dup2(p[1], 2);
    ::close(p[0]);
    ::close(p[1]);
    ::alarm(30);  // a backstop if the parent goes away
    if (tsan) {
      // TSan cannot start threads in a fork()ed child of a threaded
      // process: run this one test again in a fresh process instead.
      const auto* t = ::testing::UnitTest::GetInstance()->current_test_info();
      std::string filter = std::string("--gtest_filter=") + t->test_suite_name() + "." + t->name();
      int devnull = ::open("/dev/null", O_WRONLY);
      ::dup2(devnull, 1);
      ::setenv("WEFT_TEST_DEADLOCK_CHILD", "1", 1);
      char* argv[] = {const_cast<char*>("/proc/self/exe"), filter.data(), nullptr};
      ::execv("/proc/self/exe", argv);
      ::_exit(127);
    }
    try {
      fn();
    } catch (const std::exception& e) {
      std::fprintf(stderr, "child: exception: %s\n", e.what());
      std::fflush(stderr);
      ::_exit(3);
    }
    std::fflush(stderr);
    ::_exit(::testing::Test::HasFailure() ? 4 : 0);  // an EXPECT in fn failed
  }
  ::close(p[1]);
  child_result r;
  auto t0 = std::chrono::steady_clock::now();
  auto end = t0 + limit;
  bool seen = false;
  for (;;) {
    auto now = std::chrono::steady_clock::now();
    if (!seen && until && r.err.find(until) != std::string::npos) {
      seen = true;
      end = now + linger;
    }
    if (now >= end) {
      ::kill(pid, SIGKILL);
      r.killed = true;
      break;
    }
    pollfd pf{p[0], POLLIN, 0};
    int left = int(std::chrono::duration_cast<std::chrono::milliseconds>(end - now).count()) + 1;
    if (::poll(&pf, 1, left) <= 0) continue;
    char buf[4096];
    ssize_t n = ::read(p[0], buf, sizeof buf);
    if (n <= 0) break;  // the child closed stderr: it ended
    r.err.append(buf, size_t(n));
  }
  // Drain what is left, then reap.
  for (char buf[4096]; ;) {
    pollfd pf{p[0], POLLIN, 0};
    if (::poll(&pf, 1, 100) <= 0) break;
    ssize_t n = ::read(p[0], buf, sizeof buf);
    if (n <= 0) break;
    r.err.append(buf, size_t(n));
  }
  ::close(p[0]);
  int st = 0;
  ::waitpid(pid, &st, 0);
  if (WIFEXITED(st)) r.exit_code = WEXITSTATUS(st);
  else if (WIFSIGNALED(st) && !r.killed) r.signal = WTERMSIG(st);
  return r;
}

// count() is how often `what` occurs in s.
int count(const std::string& s, const std::string& what) {
  int n = 0;
  for (std::size_t at = s.find(what); at != std::string::npos; at = s.find(what, at + 1)) ++n;
  return n;
}

weft::config with(weft::deadlock_action a, unsigned workers = 1) {
  weft::config c;
  c.on_deadlock = a;
  c.workers = workers;
  return c;
}

// Deadlocked runs, one per shape. Each never returns.
void channels_crossed(const weft::config& c) {
  weft::run(c, [] {
    weft::channel<int> a(0), b(0);
    auto x = weft::spawn(weft::spawn_options{.name = "x"}, [&] {
      (void)a.recv();  // waits for y's send, which waits for x's
      b.send(1);
    });
    auto y = weft::spawn(weft::spawn_options{.name = "y"}, [&] {
      (void)b.recv();
      a.send(1);
    });
    x.join();
    y.join();
  });
}

void mutexes_crossed(const weft::config& c) {
  weft::run(c, [] {
    weft::mutex m1, m2;
    weft::wait_group both;
    both.add(2);
    auto x = weft::spawn([&] {
      std::lock_guard l1(m1);
      both.done();
      both.wait();
      std::lock_guard l2(m2);
    });
    auto y = weft::spawn([&] {
      std::lock_guard l2(m2);
      both.done();
      both.wait();
      std::lock_guard l1(m1);
    });
    x.join();
    y.join();
  });
}

void joins_crossed(const weft::config& c) {
  weft::run(c, [] {
    weft::fiber<> x, y;
    weft::event go, never;
    x = weft::spawn([&] {
      go.wait();
      y.join();  // y joins x: neither ends
    });
    y = weft::spawn([&] {
      go.wait();
      x.join();
    });
    go.set();
    never.wait();
  });
}

void event_never_set(const weft::config& c) {
  weft::run(c, [] {
    weft::event never;
    never.wait();
  });
}

// expect_report() checks a kept-waiting report: once, the banner first.
void expect_report(const child_result& r, const char* wait_word, int waits) {
  EXPECT_TRUE(r.killed) << "the run must keep waiting after the report:\n" << r.err;
  EXPECT_EQ(count(r.err, banner), 1) << r.err;
  EXPECT_EQ(r.err.find("weft: "), r.err.find(banner)) << r.err;
  EXPECT_EQ(count(r.err, wait_word), waits) << r.err;
}

}  // namespace

TEST(Deadlock, ChannelsCrossedReportedOnceWithDump) {
  if (tsan) GTEST_SKIP() << "TSan's background thread is a thread the check cannot account for";
  auto r = in_child([] { channels_crossed(with(weft::deadlock_action::report)); }, 5s, banner, 500ms);
  expect_report(r, "channel recv", 2);
  EXPECT_NE(r.err.find("\"x\""), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("\"y\""), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("join fiber"), std::string::npos) << r.err;  // main joins x
}

TEST(Deadlock, MutexesCrossed) {
  if (tsan) GTEST_SKIP() << "TSan's background thread";
  auto r = in_child([] { mutexes_crossed(with(weft::deadlock_action::report)); }, 5s, banner);
  expect_report(r, ", mutex", 2);
}

TEST(Deadlock, FibersJoiningEachOther) {
  if (tsan) GTEST_SKIP() << "TSan's background thread";
  auto r = in_child([] { joins_crossed(with(weft::deadlock_action::report)); }, 5s, banner);
  expect_report(r, "join fiber", 2);
  EXPECT_EQ(count(r.err, ", event"), 1) << r.err;
}

TEST(Deadlock, EventNobodySets) {
  if (tsan) GTEST_SKIP() << "TSan's background thread";
  auto r = in_child([] { event_never_set(with(weft::deadlock_action::report)); }, 5s, banner);
  expect_report(r, ", event", 1);
}

TEST(Deadlock, TwoCarriers) {
  if (tsan) GTEST_SKIP() << "TSan's background thread";
  auto r = in_child([] { channels_crossed(with(weft::deadlock_action::report, 2)); }, 5s, banner);
  expect_report(r, "channel recv", 2);
  EXPECT_NE(r.err.find("carrier 1:"), std::string::npos) << r.err;
}

TEST(Deadlock, AfterAnFdWaitEnded) {
  // The fiber first waits on a pipe (not stuck: the check keeps it as the
  // carrier's blocker), then on an event nobody sets: now it is stuck.
  if (tsan) GTEST_SKIP() << "TSan's background thread";
  auto r = in_child(
      [] {
        int p[2];
        if (::pipe(p) != 0) std::abort();
        pid_t w = ::fork();
        if (w == 0) {
          ::usleep(200000);
          (void)!::write(p[1], "x", 1);
          ::_exit(0);
        }
        weft::run(with(weft::deadlock_action::report), [&] {
          auto x = weft::spawn([&] {
            weft::wait_io(p[0], weft::io_event::readable);
            weft::event never;
            never.wait();
          });
          x.join();
        });
      },
      5s, banner);
  expect_report(r, ", event", 1);
}

TEST(Deadlock, AbortAborts) {
  if (tsan) GTEST_SKIP() << "TSan's background thread";
  auto r = in_child([] { event_never_set(with(weft::deadlock_action::abort)); }, 5s);
  EXPECT_FALSE(r.killed) << r.err;
  EXPECT_EQ(r.signal, SIGABRT) << r.err;
  EXPECT_EQ(count(r.err, banner), 1) << r.err;
}

TEST(Deadlock, AbortFromEnvironment) {
  if (tsan) GTEST_SKIP() << "TSan's background thread";
  auto r = in_child(
      [] {
        ::setenv("WEFT_ON_DEADLOCK", "abort", 1);
        event_never_set(with(weft::deadlock_action::ignore));
      },
      5s);
  EXPECT_EQ(r.signal, SIGABRT) << r.err;
  EXPECT_EQ(count(r.err, banner), 1) << r.err;
}

TEST(Deadlock, IgnoreSaysNothing) {
  auto r = in_child([] { channels_crossed(with(weft::deadlock_action::ignore, 2)); }, 1500ms);
  EXPECT_TRUE(r.killed);  // still waiting
  EXPECT_EQ(r.err, "");
}

TEST(Deadlock, BadEnvironmentValueIsUsageError) {
  auto r = in_child(
      [] {
        ::setenv("WEFT_ON_DEADLOCK", "panic", 1);
        try {
          weft::run([] {});
        } catch (const weft::usage_error& e) {
          std::fprintf(stderr, "usage_error: %s\n", e.what());
        }
      },
      5s);
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.err.find("usage_error: WEFT_ON_DEADLOCK=\"panic\""), std::string::npos) << r.err;
}

// ---- waits something outside the run ends: never reported -------------------

namespace {

// quiet() runs fn in a child that must end well within 5 s, exit 0 and
// print nothing.
void expect_quiet(const std::function<void()>& fn) {
  auto r = in_child(fn, 5s);
  EXPECT_FALSE(r.killed) << r.err;
  EXPECT_EQ(r.exit_code, 0) << "signal " << r.signal << "\n" << r.err;
  EXPECT_EQ(r.err.find("deadlock"), std::string::npos) << r.err;
}

}  // namespace

TEST(DeadlockNotReported, EventSetByPlainThread) {
  expect_quiet([] {
    weft::run([] {
      weft::event ev;
      std::thread t([&] {
        std::this_thread::sleep_for(200ms);
        ev.set();
      });
      ev.wait();
      t.join();
    });
  });
}

TEST(DeadlockNotReported, ChannelFedByPlainThreadThatStartsLate) {
  expect_quiet([] {
    weft::run([] {
      weft::channel<int> ch(0);
      std::atomic<bool> go{false};
      std::thread t([&] {
        while (!go.load()) std::this_thread::sleep_for(1ms);
        std::this_thread::sleep_for(100ms);
        for (int i = 0; i < 100; ++i) ch.send(i);
      });
      go = true;
      for (int i = 0; i < 100; ++i) EXPECT_EQ(*ch.recv(), i);
      t.join();
    });
  });
}

TEST(DeadlockNotReported, Sleep) {
  expect_quiet([] {
    weft::run([] {
      weft::event ev;
      auto f = weft::spawn([&] {
        weft::this_fiber::sleep_for(200ms);
        ev.set();
      });
      ev.wait();
      f.join();
    });
  });
}

TEST(DeadlockNotReported, PipeWrittenByAnotherProcess) {
  expect_quiet([] {
    int p[2];
    if (::pipe(p) != 0) std::abort();
    pid_t w = ::fork();
    if (w == 0) {
      ::usleep(200000);
      (void)!::write(p[1], "x", 1);
      ::_exit(0);
    }
    ::close(p[1]);
    weft::run([&] {
      weft::event got;
      auto f = weft::spawn([&] {
        weft::wait_io(p[0], weft::io_event::readable);
        got.set();
      });
      got.wait();  // internal, but f's fd wait is not
      f.join();
    });
    ::waitpid(w, nullptr, 0);
  });
}

TEST(DeadlockNotReported, OffloadJob) {
  // The fiber that offloaded gives up waiting (its timeout) and ends; the
  // job runs on and sets the event the other fiber waits for (shared: the
  // job may still be inside set() when the run ends).
  expect_quiet([] {
    weft::run([] {
      auto ev = std::make_shared<weft::event>();
      auto f = weft::spawn([ev] {
        try {
          weft::timeout t(10ms);
          weft::offload([ev] {
            std::this_thread::sleep_for(200ms);
            ev->set();
          });
        } catch (const weft::timed_out&) {
        }
      });
      f.join();
      ev->wait();
    });
  });
}

TEST(DeadlockNotReported, ChildProcessWait) {
  expect_quiet([] {
    weft::run([] {
      weft::event done;
      auto f = weft::spawn([&] {
        weft::process p({"/bin/sh", "-c", "sleep 0.2"});
        auto st = p.wait();
        EXPECT_TRUE(st.exited() && st.code() == 0);
        done.set();
      });
      done.wait();
      f.join();
    });
  });
}

TEST(DeadlockNotReported, SignalSentLaterByAnotherProcess) {
  // Under TSan the kill from the other process never reaches the
  // signal_channel of the re-executed child (unexplained; test_signal's
  // in-process raise() cases pass there): a hang, not a report.
  if (tsan) GTEST_SKIP() << "external signal not delivered under TSan in the re-executed child";
  expect_quiet([] {
    weft::run([] {
      weft::signal_channel sigs({SIGUSR1});
      std::string cmd = "sleep 0.2; kill -USR1 " + std::to_string(::getpid());
      weft::process killer({"/bin/sh", "-c", cmd});
      EXPECT_EQ(*sigs.recv(), SIGUSR1);  // the only fiber, in a channel wait
      EXPECT_TRUE(killer.wait().exited());
    });
  });
}

namespace {
weft::event* g_alarm_event = nullptr;
}  // namespace

TEST(DeadlockNotReported, EventSetFromTheProgramsSignalHandler) {
  // A timer signal's handler may wake a fiber (under the hooks, sem_post;
  // here event::set, safe enough while the carrier sits in its poller).
  expect_quiet([] {
    weft::run([] {
      weft::event ev;
      g_alarm_event = &ev;
      struct sigaction sa {};
      sa.sa_handler = [](int) { g_alarm_event->set(); };
      sigaction(SIGALRM, &sa, nullptr);
      ::ualarm(200000, 0);
      ev.wait();
      sa.sa_handler = SIG_DFL;
      sigaction(SIGALRM, &sa, nullptr);
    });
  });
}

TEST(DeadlockNotReported, TwoCarriersPingPong) {
  // Carriers keep going idle with every local fiber in a channel wait while
  // a fiber of the other carrier is about to wake them: the group check
  // must see that (deadlock.cpp note 3).
  expect_quiet([] {
    weft::run(weft_test::two_workers(), [] {
      constexpr int pairs = 4, rounds = 5000;
      weft::wait_group wg;
      std::vector<weft::fiber<>> fs;
      for (int p = 0; p < pairs; ++p) {
        auto ping = std::make_shared<weft::channel<int>>(0);
        auto pong = std::make_shared<weft::channel<int>>(0);
        fs.push_back(weft::spawn([=] {
          for (int i = 0; i < rounds; ++i) {
            ping->send(i);
            if (*pong->recv() != i) std::abort();
          }
        }));
        fs.push_back(weft::spawn([=] {
          for (int i = 0; i < rounds; ++i) pong->send(*ping->recv());
        }));
      }
      for (auto& f : fs) f.join();
    });
  });
}

TEST(DeadlockNotReported, TwoCarriersSleeper) {
  // One carrier has only internal waits; the other's fiber sleeps and then
  // releases them.
  expect_quiet([] {
    weft::run(weft_test::two_workers(), [] {
      weft::event ev;
      std::vector<weft::fiber<>> fs;
      for (int i = 0; i < 4; ++i) fs.push_back(weft::spawn([&] { ev.wait(); }));
      fs.push_back(weft::spawn([&] {
        weft::this_fiber::sleep_for(200ms);
        ev.set();
      }));
      for (auto& f : fs) f.join();
    });
  });
}
