// tests/test_cross_thread.cpp — wake-ups that cross threads: plain threads
// and other schedulers waking fibers of an idle scheduler, under stress.
#include "helpers.hpp"

#include <atomic>
#include <future>
#include <memory>
#include <thread>
#include <vector>

using namespace weft_test;

// An idle scheduler (its only fiber parked, nothing timed) is woken by a
// plain thread, again and again.
TEST(CrossThread, IdleSchedulerWokenRepeatedly) {
  weft::channel<int> ch;
  std::thread sender;
  int got = weft::run([&] {
    sender = std::thread([&] {
      for (int i = 0; i < 200; ++i) {
        if (i % 20 == 0) std::this_thread::sleep_for(2ms);
        ch.send(i);
      }
      ch.close();
    });
    int n = 0;
    for (int v : ch) {
      EXPECT_EQ(v, n);
      ++n;
    }
    return n;
  });
  sender.join();
  EXPECT_EQ(got, 200);
}

// Strict alternation between a fiber and a plain thread through two events.
TEST(CrossThread, EventPingPong) {
  constexpr int kRounds = 3000;
  weft::event a, b;
  std::thread t([&] {
    for (int i = 0; i < kRounds; ++i) {
      a.wait();
      a.clear();
      b.set();
    }
  });
  int rounds = weft::run([&] {
    int i = 0;
    for (; i < kRounds; ++i) {
      a.set();
      b.wait();
      b.clear();
    }
    return i;
  });
  t.join();
  EXPECT_EQ(rounds, kRounds);
}

// Several plain threads feed one scheduler's fibers through a buffered channel.
// wait_on_a_pipe() makes the calling fiber's scheduler make its epoll set.
void wait_on_a_pipe() {
  int p[2];
  ASSERT_EQ(pipe(p), 0);
  ASSERT_EQ(write(p[1], "x", 1), 1);
  weft::wait_io(p[0], weft::io_event::readable);
  weft::close_fd(p[0]);
  weft::close_fd(p[1]);
}

// many_into_one() is ManyThreadsIntoOneScheduler's workload; with_epoll
// first makes the scheduler wait on a pipe, so that it idles in its epoll
// set (whose eventfd a busy, non-blocking poll can drain) rather than on
// its futex word.
void many_into_one(bool with_epoll) {
  constexpr int kThreads = 4, kEach = 5000;
  weft::channel<long> ch(8);
  std::vector<std::thread> ts;
  long sum = weft::run([&] {
    if (with_epoll) wait_on_a_pipe();
    for (int t = 0; t < kThreads; ++t)
      ts.emplace_back([&, t] {
        for (int i = 0; i < kEach; ++i) ch.send(long{t} * kEach + i);
      });
    std::vector<weft::fiber<long>> cs;
    for (int c = 0; c < 3; ++c)
      cs.push_back(weft::spawn([&] {
        long s = 0;
        for (long v : ch) s += v;
        return s;
      }));
    std::thread closer([&] {
      for (auto& t : ts) t.join();
      ch.close();
    });
    long s = 0;
    for (auto& c : cs) s += c.join();
    closer.join();
    return s;
  });
  const long n = long{kThreads} * kEach;
  EXPECT_EQ(sum, n * (n - 1) / 2);
}

TEST(CrossThread, ManyThreadsIntoOneScheduler) { many_into_one(false); }

// The same with the scheduler idling in epoll: a wake-up flag left set by
// a waker that raced a poll's early return, whose eventfd write a busy
// poll then drained, made every later waker skip the interrupt (lost
// wake-up; scheduler.cpp maintain()).
TEST(CrossThread, ManyThreadsIntoOneSchedulerEpoll) {
  for (int i = 0; i < 5; ++i) many_into_one(true);
}

// A token travels round a ring of three schedulers many times.
TEST(CrossThread, RingOfSchedulers) {
  constexpr int kThreads = 3, kLaps = 1000;
  std::vector<std::unique_ptr<weft::channel<int>>> ring;
  for (int i = 0; i < kThreads; ++i) ring.push_back(std::make_unique<weft::channel<int>>());
  int final_value = -1;
  std::vector<std::thread> ts;
  for (int t = 0; t < kThreads; ++t)
    ts.emplace_back([&, t] {
      weft::run([&] {
        auto& in = *ring[t];
        auto& out = *ring[(t + 1) % kThreads];
        if (t == 0) {
          out.send(0);
          for (int lap = 0; lap < kLaps; ++lap) {
            int v = *in.recv();
            if (lap + 1 < kLaps) out.send(v + 1);
            else final_value = v;
          }
          out.close();
        } else {
          while (auto v = in.recv()) out.send(*v + 1);
          out.close();
        }
      });
    });
  for (auto& t : ts) t.join();
  // lap k's value arrives after k*3 + 2 increments: the last one seen by t0
  EXPECT_EQ(final_value, (kLaps - 1) * kThreads + (kThreads - 1));
}

// Timed waits racing with sets from another thread: no lost or doubled
// wake-up breaks the hand-shake, and every wait ends one way or the other.
TEST(CrossThread, TimedWaitsRaceWithSets) {
  constexpr int kRounds = 500;
  weft::event ping, pong;
  std::atomic<bool> stop{false};
  std::thread t([&] {
    while (!stop.load()) {
      if (ping.wait_for(5ms)) {
        ping.clear();
        pong.set();
      }
    }
  });
  int done = weft::run([&] {
    int n = 0;
    for (int i = 0; i < kRounds; ++i) {
      ping.set();
      while (!pong.wait_for(1ms)) {
      }
      pong.clear();
      ++n;
    }
    return n;
  });
  stop = true;
  t.join();
  EXPECT_EQ(done, kRounds);
}

// cancel() from one thread races with a rendezvous send from another: the
// receiver either gets the value (and the send reports true) or is
// cancelled (and the send does not deliver). Never both, never neither.
TEST(CrossThread, CancelRacesWithSend) {
  constexpr int kRounds = 300;
  int delivered = 0, cancelled = 0;
  for (int i = 0; i < kRounds; ++i) {
    weft::channel<int> ch;
    std::promise<weft::fiber<bool>*> handed;
    weft::event cancel_issued;
    std::atomic<bool> send_result{false};
    bool got = false, was_cancelled = false;
    std::thread runner([&] {
      weft::run([&] {
        auto f = weft::spawn([&] { return ch.recv().has_value(); });
        handed.set_value(&f);
        cancel_issued.wait();  // the handle is used by the canceller until then
        try {
          got = f.join();
        } catch (const weft::cancelled&) {
          was_cancelled = true;
        }
      });
    });
    // The receiver may or may not have started or parked yet: every
    // interleaving of recv, send and cancel must keep the invariant below.
    weft::fiber<bool>* f = handed.get_future().get();
    std::thread sender([&] { send_result = ch.send(i); });
    std::thread canceller([&] { f->cancel(); });
    canceller.join();
    cancel_issued.set();
    runner.join();
    ch.close();  // releases the sender if nobody took its value
    sender.join();
    ASSERT_NE(got, was_cancelled) << "round " << i;
    ASSERT_EQ(send_result.load(), got) << "round " << i;
    (got ? delivered : cancelled)++;
  }
  EXPECT_EQ(delivered + cancelled, kRounds);
}

// Timed acquires race with releases from another thread: no unit is lost
// or duplicated.
TEST(CrossThread, TimedAcquireRacesWithRelease) {
  constexpr int kReleases = 2000;
  weft::semaphore sem(0);
  std::atomic<bool> done{false};
  std::thread releaser([&] {
    for (int i = 0; i < kReleases; ++i) {
      sem.release();
      if (i % 64 == 0) std::this_thread::yield();
    }
    done = true;
  });
  long acquired = weft::run([&] {
    long n = 0;
    std::vector<weft::fiber<long>> fs;
    for (int k = 0; k < 4; ++k)
      fs.push_back(weft::spawn([&, k] {
        long mine = 0;
        while (!done.load() || sem.available() > 0) {
          if (sem.try_acquire_for(std::chrono::microseconds(50 + 30 * k))) ++mine;
        }
        return mine;
      }));
    for (auto& f : fs) n += f.join();
    return n;
  });
  releaser.join();
  EXPECT_EQ(acquired + sem.available(), kReleases);
}
