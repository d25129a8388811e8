// tests/hooks/test_hooks_signals.cpp — caught signals and hooked calls.
//
// Each scenario runs twice: on a plain thread (the real libc call, since
// the hooks pass through there) and as weft::run's root fiber (the hooked
// call, parked). A helper thread sends the signal with tgkill to the thread
// that runs the scenario, after a delay, so the call is blocked by then.
// The results must match: EINTR exactly where libc gives it (signal(7):
// SA_RESTART restarts read/recv/accept..., never poll/select/sleeps, and
// never socket calls with SO_RCVTIMEO/SO_SNDTIMEO), the time left from the
// sleeps, and pselect's mask honoured while parked.
#include "hooks_test.hpp"

#include <sys/select.h>
#include <sys/syscall.h>
#include <time.h>

#include <atomic>
#include <functional>

using namespace hooks_test;

namespace {

std::atomic<int> g_caught{0};
void on_signal(int) { ++g_caught; }

// catch_sig() installs on_signal for sig, with or without SA_RESTART.
void catch_sig(int sig, bool restart) {
  struct sigaction a{};
  a.sa_handler = on_signal;
  a.sa_flags = restart ? SA_RESTART : 0;
  sigemptyset(&a.sa_mask);
  ASSERT_EQ(sigaction(sig, &a, nullptr), 0);
}

pid_t tid() { return static_cast<pid_t>(syscall(SYS_gettid)); }

// later() runs fn on a helper thread after `ms` and joins it on scope exit.
struct later {
  std::thread t;
  later(long ms, std::function<void()> fn) : t([ms, fn] {
    std::this_thread::sleep_for(std::chrono::milliseconds(ms));
    fn();
  }) {}
  ~later() { t.join(); }
};

// signal_me() sends sig to the calling thread after `ms`.
later signal_me(long ms, int sig = SIGUSR1) {
  pid_t me = tid(), pid = getpid();
  return later(ms, [=] { syscall(SYS_tgkill, pid, me, sig); });
}

// on_pipe() makes a pipe, runs fn(read end, write end), closes both and
// returns fn's result with fn's errno.
long on_pipe(const std::function<long(int, int)>& fn) {
  int fd[2];
  if (pipe(fd) != 0) return -100;
  long r = fn(fd[0], fd[1]);
  int e = errno;
  close(fd[0]);
  close(fd[1]);
  errno = e;
  return r;
}

// both() runs the scenario on a plain thread and on the root fiber.
std::pair<res, res> both(const std::function<long()>& scenario) {
  res plain = on_thread(scenario);
  res hooked;
  weft::run([&] {
    hooked.r = scenario();
    hooked.err = errno;
  });
  return {plain, hooked};
}

#define EXPECT_SAME(p)                                  \
  do {                                                  \
    auto [plain, hooked] = (p);                         \
    EXPECT_EQ(hooked.r, plain.r) << "return value";     \
    EXPECT_EQ(hooked.err, plain.err) << "errno";        \
  } while (0)

}  // namespace

// read() on an empty pipe: EINTR without SA_RESTART.
TEST(Signals, ReadWithoutRestartGivesEintr) {
  catch_sig(SIGUSR1, false);
  auto p = both([] {
    return on_pipe([](int rd, int) {
      char c;
      auto s = signal_me(50);
      return static_cast<long>(read(rd, &c, 1));
    });
  });
  EXPECT_EQ(p.first.r, -1);
  EXPECT_EQ(p.first.err, EINTR);
  EXPECT_SAME(p);
}

// With SA_RESTART the read goes on and returns the byte written later.
TEST(Signals, ReadWithRestartContinues) {
  catch_sig(SIGUSR1, true);
  auto p = both([] {
    return on_pipe([](int rd, int wr) {
      int caught = g_caught;
      char c = 0;
      long r;
      {
        auto s = signal_me(30);
        later w(120, [&] { (void)!write(wr, "x", 1); });
        r = read(rd, &c, 1);
      }
      errno = 0;
      return g_caught > caught && c == 'x' ? r : -100;
    });
  });
  EXPECT_EQ(p.first.r, 1);
  EXPECT_SAME(p);
}

// accept() without SA_RESTART: EINTR.
TEST(Signals, AcceptWithoutRestartGivesEintr) {
  catch_sig(SIGUSR1, false);
  auto p = both([] {
    int port;
    int l = listen_tcp(&port);
    long r;
    {
      auto s = signal_me(50);
      r = accept(l, nullptr, nullptr);
    }
    int e = errno;
    close(l);
    errno = e;
    return r;
  });
  EXPECT_EQ(p.first.err, EINTR);
  EXPECT_SAME(p);
}

// A socket with SO_RCVTIMEO: recv gives EINTR even with SA_RESTART.
TEST(Signals, RecvWithTimeoutGivesEintrEvenWithRestart) {
  catch_sig(SIGUSR1, true);
  auto p = both([] {
    auto [a, b] = tcp_pair();
    set_timeo(a, SO_RCVTIMEO, 2000);
    char c;
    long r;
    {
      auto s = signal_me(50);
      r = recv(a, &c, 1, 0);
    }
    int e = errno;
    close(a);
    close(b);
    errno = e;
    return r;
  });
  EXPECT_EQ(p.first.err, EINTR);
  EXPECT_SAME(p);
}

// poll and select are never restarted.
TEST(Signals, PollAndSelectGiveEintrEvenWithRestart) {
  catch_sig(SIGUSR1, true);
  auto p = both([] {
    return on_pipe([](int rd, int) {
      pollfd q{rd, POLLIN, 0};
      auto s = signal_me(50);
      return static_cast<long>(poll(&q, 1, 2000));
    });
  });
  EXPECT_EQ(p.first.err, EINTR);
  EXPECT_SAME(p);
  auto s = both([] {
    return on_pipe([](int rdfd, int) {
      fd_set rd;
      FD_ZERO(&rd);
      FD_SET(rdfd, &rd);
      timeval tv{2, 0};
      long r;
      {
        auto sg = signal_me(50);
        r = select(rdfd + 1, &rd, nullptr, nullptr, &tv);
      }
      // Linux leaves the time not slept in tv: about 1.95 s.
      return r == -1 && tv.tv_sec == 1 && tv.tv_usec > 800000 ? -1L : -100L;
    });
  });
  EXPECT_EQ(s.first.r, -1);
  EXPECT_EQ(s.first.err, EINTR);
  EXPECT_SAME(s);
}

// nanosleep gives EINTR and the time left; sleep() the whole seconds left.
TEST(Signals, SleepsReportTheTimeLeft) {
  catch_sig(SIGUSR1, true);
  auto p = both([] {
    timespec req{1, 0}, rem{};
    long r;
    {
      auto s = signal_me(100);
      r = nanosleep(&req, &rem);
    }
    int e = errno;
    errno = e;
    // about 0.9 s left
    return r == -1 && rem.tv_sec == 0 && rem.tv_nsec > 700000000 && rem.tv_nsec < 950000000 ? -1 : -100;
  });
  EXPECT_EQ(p.first.r, -1);
  EXPECT_EQ(p.first.err, EINTR);
  EXPECT_SAME(p);
  auto s = both([] {
    auto sg = signal_me(300);
    return static_cast<long>(sleep(3));  // 2.7 s left: 2
  });
  EXPECT_EQ(s.first.r, 2);
  EXPECT_SAME(s);
  auto u = both([] {
    auto sg = signal_me(50);
    return static_cast<long>(usleep(1000000));
  });
  EXPECT_EQ(u.first.err, EINTR);
  EXPECT_SAME(u);
}

// pselect's mask holds while the fiber is parked: SIGUSR2, blocked in the
// thread, is let through by the mask and ends the wait with EINTR; a plain
// select with SIGUSR2 blocked just times out, the signal left pending.
TEST(Signals, PselectMaskLetsABlockedSignalEndTheWait) {
  catch_sig(SIGUSR2, true);
  auto p = both([] {
    sigset_t block, old, none;
    sigemptyset(&block);
    sigaddset(&block, SIGUSR2);
    sigemptyset(&none);
    pthread_sigmask(SIG_BLOCK, &block, &old);
    int caught = g_caught;
    long r1, r2;
    int e1, e2;
    {
      auto s = signal_me(30, SIGUSR2);
      timeval tv{0, 200000};
      r1 = select(0, nullptr, nullptr, nullptr, &tv);  // blocked: no EINTR
      e1 = errno;
      bool pending_unseen = g_caught == caught;
      timespec ts{2, 0};
      r2 = pselect(0, nullptr, nullptr, nullptr, &ts, &none);  // delivers the pending one
      e2 = errno;
      if (!pending_unseen) r1 = -100;
    }
    pthread_sigmask(SIG_SETMASK, &old, nullptr);
    errno = e2;
    return r1 == 0 && e1 != EINTR && r2 == -1 ? -1 : -100;
  });
  EXPECT_EQ(p.first.r, -1);
  EXPECT_EQ(p.first.err, EINTR);
  EXPECT_SAME(p);
  // The signal arrives while pselect is already parked.
  auto q = both([] {
    sigset_t block, old, none;
    sigemptyset(&block);
    sigaddset(&block, SIGUSR2);
    sigemptyset(&none);
    pthread_sigmask(SIG_BLOCK, &block, &old);
    long r;
    {
      auto s = signal_me(80, SIGUSR2);
      timespec ts{2, 0};
      r = pselect(0, nullptr, nullptr, nullptr, &ts, &none);
    }
    int e = errno;
    pthread_sigmask(SIG_SETMASK, &old, nullptr);
    errno = e;
    return r;
  });
  EXPECT_EQ(q.first.err, EINTR);
  EXPECT_SAME(q);
}

// A signal caught while the root fiber runs (not parked) ends no later
// call: the read that follows gets its data, as on a thread.
TEST(Signals, SignalWhileRunningEndsNoLaterCall) {
  catch_sig(SIGUSR1, false);
  auto p = both([] {
    return on_pipe([](int rd, int wr) {
      int caught = g_caught;
      char c = 0;
      long r;
      {
        auto s = signal_me(10);
        auto t0 = clock_type::now();
        while (g_caught == caught && ms_since(t0) < 2000) {
        }
        later w(50, [&] { (void)!write(wr, "y", 1); });
        r = read(rd, &c, 1);
      }
      errno = 0;
      return c == 'y' ? r : -100;
    });
  });
  EXPECT_EQ(p.first.r, 1);
  EXPECT_SAME(p);
}

// Only the root fiber's call is ended (a process signal interrupts one
// thread's call): another fiber's read goes on and gets its data.
TEST(Signals, OtherFibersCallsGoOn) {
  catch_sig(SIGUSR1, false);
  int fd[2];
  ASSERT_EQ(pipe(fd), 0);
  long other = -2, root = -2;
  int root_err = 0;
  weft::run([&] {
    auto f = weft::spawn([&] {
      char c;
      other = read(fd[0], &c, 1);
    });
    int sp[2];
    ASSERT_EQ(pipe(sp), 0);
    {
      auto s = signal_me(50);
      later w(150, [&] { (void)!write(fd[1], "z", 1); });
      char c;
      root = read(sp[0], &c, 1);
      root_err = errno;
      f.join();
    }
    close(sp[0]);
    close(sp[1]);
  });
  close(fd[0]);
  close(fd[1]);
  EXPECT_EQ(root, -1);
  EXPECT_EQ(root_err, EINTR);
  EXPECT_EQ(other, 1);
}

// With two workers a process-directed signal (kill) reaches the root's
// carrier and ends its read.
TEST(Signals, ProcessSignalReachesTheRootWithWorkers) {
  catch_sig(SIGUSR1, false);
  weft::config c;
  c.workers = 2;
  long r = -2;
  int err = 0;
  weft::run(c, [&] {
    int fd[2];
    ASSERT_EQ(pipe(fd), 0);
    pid_t pid = getpid();
    {
      later s(50, [pid] { kill(pid, SIGUSR1); });
      char ch;
      r = read(fd[0], &ch, 1);
      err = errno;
    }
    close(fd[0]);
    close(fd[1]);
  });
  EXPECT_EQ(r, -1);
  EXPECT_EQ(err, EINTR);
}

// sigaction reports the program's own action, not the trampoline; after
// SA_RESETHAND fired it reports SIG_DFL; signal() returns the old handler.
TEST(Signals, SigactionReportsTheProgramsAction) {
  struct sigaction a{}, old{};
  a.sa_handler = on_signal;
  a.sa_flags = SA_RESTART | SA_RESETHAND;
  sigemptyset(&a.sa_mask);
  sigaddset(&a.sa_mask, SIGUSR2);
  ASSERT_EQ(sigaction(SIGWINCH, &a, nullptr), 0);
  ASSERT_EQ(sigaction(SIGWINCH, nullptr, &old), 0);
  EXPECT_EQ(old.sa_handler, on_signal);
  EXPECT_EQ(old.sa_flags & (SA_SIGINFO | SA_RESTART | SA_RESETHAND), SA_RESTART | SA_RESETHAND);
  EXPECT_EQ(sigismember(&old.sa_mask, SIGUSR2), 1);
  int caught = g_caught;
  raise(SIGWINCH);
  EXPECT_EQ(g_caught, caught + 1);
  ASSERT_EQ(sigaction(SIGWINCH, nullptr, &old), 0);
  EXPECT_EQ(old.sa_handler, SIG_DFL) << "SA_RESETHAND reset it";
  EXPECT_EQ(signal(SIGWINCH, on_signal), SIG_DFL);
  EXPECT_EQ(signal(SIGWINCH, SIG_IGN), on_signal);
  EXPECT_EQ(signal(SIGKILL, on_signal), SIG_ERR);
  EXPECT_EQ(errno, EINVAL);
  EXPECT_EQ(sigaction(SIGKILL, &a, nullptr), -1);
  EXPECT_EQ(errno, EINVAL);
  signal(SIGWINCH, SIG_DFL);
}
