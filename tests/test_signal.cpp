// weft::signal_channel and weft::on_signal: caught signals as channel
// values and as fibers; several receivers; the program's own handlers
// beside them; plain threads, two carriers, signals from another process;
// misuse.
#include "helpers.hpp"

#include <weft/process.hpp>
#include <weft/signal.hpp>
#include <weft/weft.hpp>

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <atomic>
#include <set>
#include <string>
#include <thread>
#include <vector>

using namespace std::chrono_literals;

namespace {

// recv5() receives within 5 s or fails the test (timed_out escapes).
int recv5(weft::signal_channel& c) {
  weft::timeout t(5s);
  std::optional<int> s = c.recv();
  return s ? *s : -1;
}

// kernel_handler() is the handler the kernel holds for sig (raw, past any hook).
void* kernel_handler(int sig) {
  struct kernel_sigaction {
    void* handler;
    unsigned long flags;
    void* restorer;
    sigset_t mask;
  } k{};
  syscall(SYS_rt_sigaction, sig, nullptr, &k, _NSIG / 8);
  return k.handler;
}

std::atomic<int> g_program_hits{0};
void program_handler(int) { g_program_hits.fetch_add(1); }

TEST(SignalChannel, ReceivesFromFiber) {
  weft::run([] {
    weft::signal_channel sigs({SIGUSR1, SIGUSR2});
    ::kill(::getpid(), SIGUSR1);
    EXPECT_EQ(recv5(sigs), SIGUSR1);
    ::kill(::getpid(), SIGUSR2);
    EXPECT_EQ(recv5(sigs), SIGUSR2);
    for (int i = 0; i < 50; ++i) {
      ::raise(SIGUSR1);
      ASSERT_EQ(recv5(sigs), SIGUSR1);
    }
    EXPECT_FALSE(sigs.try_recv());
  });
  EXPECT_EQ(kernel_handler(SIGUSR1), reinterpret_cast<void*>(SIG_DFL));  // put back
}

TEST(SignalChannel, EveryReceiverGetsIt) {
  weft::run([] {
    weft::signal_channel a({SIGUSR1});
    weft::signal_channel b({SIGUSR1, SIGUSR2});
    weft::channel<int> calls(8);
    auto h = weft::on_signal(SIGUSR1, [&](int s) { calls.send(s); });
    weft::this_fiber::sleep_for(5ms);  // the listener fiber is waiting
    for (int i = 0; i < 10; ++i) {
      ::kill(::getpid(), SIGUSR1);
      EXPECT_EQ(recv5(a), SIGUSR1);
      EXPECT_EQ(recv5(b), SIGUSR1);
      weft::timeout t(5s);
      EXPECT_EQ(calls.recv(), SIGUSR1);
    }
    {
      weft::signal_channel c({SIGUSR1});
      ::raise(SIGUSR1);
      EXPECT_EQ(recv5(c), SIGUSR1);
      EXPECT_EQ(recv5(a), SIGUSR1);
      EXPECT_EQ(recv5(b), SIGUSR1);
      weft::timeout t(5s);
      EXPECT_EQ(calls.recv(), SIGUSR1);
    }
    // c is gone; the others still receive.
    ::raise(SIGUSR1);
    EXPECT_EQ(recv5(a), SIGUSR1);
    EXPECT_EQ(recv5(b), SIGUSR1);
  });
}

// A handler the program installed first keeps running, and comes back when
// the last receiver goes.
TEST(SignalChannel, ProgramHandlerInstalledBefore) {
  struct sigaction sa{}, old{};
  sa.sa_handler = &program_handler;
  sigemptyset(&sa.sa_mask);
  ASSERT_EQ(::sigaction(SIGUSR2, &sa, &old), 0);
  g_program_hits = 0;
  weft::run([] {
    weft::signal_channel sigs({SIGUSR2});
    for (int i = 1; i <= 5; ++i) {
      ::raise(SIGUSR2);
      EXPECT_EQ(recv5(sigs), SIGUSR2);
      EXPECT_EQ(g_program_hits.load(), i);
    }
    EXPECT_FALSE(sigs.try_recv());  // counted once per delivery, not once per layer
  });
  ::raise(SIGUSR2);
  EXPECT_EQ(g_program_hits.load(), 6);
  ASSERT_EQ(::sigaction(SIGUSR2, &old, nullptr), 0);
}

// A handler the program installs while a receiver lives: through weft's
// sigaction hook both run (TSan builds have no signal hooks).
TEST(SignalChannel, ProgramHandlerInstalledAfter) {
#if defined(__SANITIZE_THREAD__)
  GTEST_SKIP() << "TSan builds leave sigaction unhooked";
#else
  g_program_hits = 0;
  weft::run([] {
    weft::signal_channel sigs({SIGUSR2});
    struct sigaction sa{}, old{};
    sa.sa_handler = &program_handler;
    sigemptyset(&sa.sa_mask);
    ASSERT_EQ(::sigaction(SIGUSR2, &sa, &old), 0);
    for (int i = 1; i <= 5; ++i) {
      ::raise(SIGUSR2);
      EXPECT_EQ(recv5(sigs), SIGUSR2);
      EXPECT_EQ(g_program_hits.load(), i);
    }
    EXPECT_FALSE(sigs.try_recv());
    // The program puts back what it found (the runtime's handler): still
    // one delivery each, no loop through the chain.
    ASSERT_EQ(::sigaction(SIGUSR2, &old, nullptr), 0);
    ::raise(SIGUSR2);
    EXPECT_EQ(recv5(sigs), SIGUSR2);
    EXPECT_FALSE(sigs.try_recv());
  });
  struct sigaction dfl{};
  dfl.sa_handler = SIG_DFL;
  ::sigaction(SIGUSR2, &dfl, nullptr);
#endif
}

// on_signal: a new fiber per delivery, in which weft calls work.
TEST(OnSignal, NewFiberPerDelivery) {
  weft::run([] {
    weft::signal_channel keep({SIGHUP});  // keeps SIGHUP caught after cancel()
    weft::channel<weft::fiber_id> ids(8);
    auto h = weft::on_signal(SIGHUP, [&] {
      weft::this_fiber::sleep_for(1ms);  // a C handler could not
      ids.send(weft::this_fiber::id());
    });
    weft::this_fiber::sleep_for(5ms);
    std::set<weft::fiber_id> seen;
    for (int i = 0; i < 5; ++i) {
      ::raise(SIGHUP);
      EXPECT_EQ(recv5(keep), SIGHUP);
      weft::timeout t(5s);
      auto id = ids.recv();
      ASSERT_TRUE(id);
      EXPECT_NE(*id, weft::this_fiber::id());
      seen.insert(*id);
    }
    EXPECT_EQ(seen.size(), 5u);
    h.cancel();
    ::raise(SIGHUP);
    EXPECT_EQ(recv5(keep), SIGHUP);
    weft::this_fiber::sleep_for(20ms);
    EXPECT_FALSE(ids.try_recv()) << "fn ran after cancel()";
  });
}

// Dropping the handle cancels fn fibers still running and waits for them.
TEST(OnSignal, HandleOutlivesNoFiber) {
  weft::run([] {
    weft::signal_channel keep({SIGHUP});
    std::atomic<int> started{0}, unwound{0};
    auto t0 = weft_test::steady::now();
    {
      auto h = weft::on_signal(SIGHUP, [&] {
        weft_test::count_on_destroy c{&unwound};
        ++started;
        weft::this_fiber::sleep_for(1h);
      });
      weft::this_fiber::sleep_for(5ms);
      ::raise(SIGHUP);
      EXPECT_EQ(recv5(keep), SIGHUP);
      EXPECT_TRUE(weft_test::eventually([&] { return started == 1; }));
    }
    EXPECT_EQ(unwound.load(), 1);
    EXPECT_LT(weft_test::elapsed_ms(t0), 5000);
  });
}

TEST(SignalChannel, PlainThreadReceiver) {
  weft::signal_channel sigs({SIGUSR1});
  std::atomic<int> got{0};
  std::thread t([&] {
    for (int i = 0; i < 3; ++i)
      if (recv5(sigs) == SIGUSR1) ++got;
  });
  for (int i = 0; i < 3; ++i) {
    ::kill(::getpid(), SIGUSR1);
    while (got.load() <= i) std::this_thread::sleep_for(1ms);
  }
  t.join();
  EXPECT_EQ(got.load(), 3);
}

// Sent by another process (kill(1)), received by fibers on two carriers.
TEST(SignalChannel, FromAnotherProcessTwoCarriers) {
  weft::run(weft::config{.workers = 2}, [] {
    std::vector<std::unique_ptr<weft::signal_channel>> chans;
    for (int i = 0; i < 4; ++i) chans.push_back(std::make_unique<weft::signal_channel>(std::initializer_list<int>{SIGUSR2}));
    for (int round = 0; round < 3; ++round) {
      std::atomic<int> got{0};
      weft::group g;
      for (auto& c : chans)
        g.spawn([&] {
          if (recv5(*c) == SIGUSR2) ++got;
        });
      weft::this_fiber::sleep_for(5ms);
      weft::process k({"kill", "-USR2", std::to_string(::getpid())});
      EXPECT_TRUE(k.wait().success());
      g.wait();
      EXPECT_EQ(got.load(), 4);
    }
  });
}

// Receivers come and go while signals arrive from a thread.
TEST(SignalChannel, SubscribeWhileSignalsArrive) {
#if defined(__SANITIZE_THREAD__)
  // TSan runs a handler only when the thread that took the signal enters
  // one of its interceptors; a carrier parked in the poller's raw
  // epoll_pwait2 syscall never does, so the deliveries of another thread's
  // kill() stall until the carrier wakes for another reason (observed:
  // recv5 timing out). Release and ASan builds run the test.
  GTEST_SKIP() << "TSan defers handlers of signals that land on a parked carrier";
#endif
  weft::run(weft::config{.workers = 2}, [] {
    weft::signal_channel keep({SIGUSR1}, 1);  // keeps SIGUSR1 caught throughout
    std::atomic<bool> stop{false};
    std::thread sender([&] {
      while (!stop) {
        ::kill(::getpid(), SIGUSR1);
        std::this_thread::sleep_for(200us);
      }
    });
    weft::group g;
    for (int f = 0; f < 4; ++f)
      g.spawn([] {
        for (int i = 0; i < 100; ++i) {
          weft::signal_channel c({SIGUSR1, SIGUSR2});
          if (i % 10 == 0) {
            EXPECT_EQ(recv5(c), SIGUSR1);
          }
        }
      });
    g.wait();
    stop = true;
    sender.join();
    weft::this_fiber::sleep_for(10ms);  // signals still in flight land on `keep`
  });
}

// The example of docs/api.md, "Signals as fibers", with a sender added.
TEST(SignalChannel, DocsExample) {
  weft::run([] {
    weft::signal_channel stop({SIGINT, SIGTERM});
    std::atomic<int> reloads{0};
    auto reload = weft::on_signal(SIGHUP, [&](int) { ++reloads; });
    auto server = weft::spawn([] { weft::this_fiber::sleep_for(1h); });
    weft::this_fiber::sleep_for(5ms);
    ::raise(SIGHUP);
    EXPECT_TRUE(weft_test::eventually([&] { return reloads == 1; }));
    ::raise(SIGTERM);
    weft::timeout t(5s);
    int sig = *stop.recv();
    server.cancel();
    EXPECT_THROW(server.join(), weft::cancelled);
    EXPECT_EQ(sig, SIGTERM);
  });
}

TEST(SignalChannel, Misuse) {
  EXPECT_THROW(weft::signal_channel({SIGKILL}), weft::usage_error);
  EXPECT_THROW(weft::signal_channel({SIGSTOP}), weft::usage_error);
  EXPECT_THROW(weft::signal_channel({SIGSEGV}), weft::usage_error);
  EXPECT_THROW(weft::signal_channel({0}), weft::usage_error);
  EXPECT_THROW(weft::signal_channel({NSIG}), weft::usage_error);
  EXPECT_THROW(weft::signal_channel({SIGUSR1}, 0), weft::usage_error);
  // A refused signal in the list leaves no subscription behind.
  EXPECT_THROW(weft::signal_channel({SIGUSR1, SIGKILL}), weft::usage_error);
  EXPECT_EQ(kernel_handler(SIGUSR1), reinterpret_cast<void*>(SIG_DFL));
  EXPECT_THROW((void)weft::on_signal(SIGHUP, [] {}), weft::usage_error);  // not a fiber
  weft::run([] { EXPECT_THROW((void)weft::on_signal(SIGKILL, [] {}), weft::usage_error); });
  // stop() closes: receivers drain, then get nullopt.
  weft::signal_channel s({SIGUSR1});
  ::raise(SIGUSR1);
  weft::run([&] {
    EXPECT_EQ(recv5(s), SIGUSR1);
    s.stop();
    EXPECT_FALSE(s.recv());
  });
}

}  // namespace
