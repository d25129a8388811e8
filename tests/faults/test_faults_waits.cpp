// tests/faults/test_faults_waits.cpp — timeouts and cancels landing during
// every kind of wait, under load; afterwards every primitive still works
// (no stale waiter left in a queue), and timeouts racing with real wake-ups
// neither lose nor duplicate anything.
#include "faults.hpp"
#include "helpers.hpp"

#include <fcntl.h>

#include <functional>
#include <random>
#include <string>
#include <vector>

using namespace weft_test;
using namespace weft_faults;

namespace {

// The primitives the waits block on, none of which is ever satisfied.
struct world {
  weft::channel<int> ch_recv, ch_send;  // rendezvous: recv and send block
  weft::mutex m;
  weft::condition_variable cv;
  weft::event ev;
  weft::semaphore sem{0};
  weft::wait_group wg;
  int pipe_rd = -1, full_wr = -1, listener = -1, port = 0;
};

// Each kind of wait: a name and a body that blocks until interrupted.
// Hooked POSIX calls report the interruption with -1/errno; the bodies turn
// that into the C++ exception, so every interrupted wait ends the same way.
void posix_interrupted(const char* what) {
  if (errno == ETIMEDOUT) throw weft::timed_out();
  if (errno == ECANCELED) throw weft::cancelled();
  ADD_FAILURE() << what << " failed with errno " << errno << " instead of ETIMEDOUT/ECANCELED";
}

std::vector<std::pair<std::string, std::function<void(world&)>>> kinds() {
  return {
      {"sleep", [](world&) { weft::this_fiber::sleep_for(1h); }},
      {"channel recv", [](world& w) { (void)w.ch_recv.recv(); }},
      {"channel send", [](world& w) { (void)w.ch_send.send(1); }},
      {"condvar", [](world& w) {
         std::unique_lock lk(w.m);
         w.cv.wait(lk);
       }},
      {"event", [](world& w) { w.ev.wait(); }},
      {"semaphore", [](world& w) { w.sem.acquire(); }},
      {"wait_group", [](world& w) { w.wg.wait(); }},
      {"join", [](world&) {
         // Each joiner joins its own target (a fiber has one joiner).
         auto t = weft::spawn([] { weft::this_fiber::sleep_for(1h); });
         try {
           t.join();
         } catch (...) {
           t.cancel();
           throw;
         }
       }},
      {"read", [](world& w) {
         char b;
         if (::read(w.pipe_rd, &b, 1) < 0) posix_interrupted("read");
       }},
      {"write", [](world& w) {
         if (::write(w.full_wr, "x", 1) < 0) posix_interrupted("write");
       }},
      {"accept", [](world& w) {
         if (::accept(w.listener, nullptr, nullptr) < 0) posix_interrupted("accept");
       }},
      {"usleep", [](world&) {
         if (::usleep(10'000'000) < 0) posix_interrupted("usleep");
       }},
  };
}

// fill_pipe() makes a pipe whose write end is full; returns {rd, wr}.
std::pair<int, int> full_pipe() {
  int p[2];
  EXPECT_EQ(::pipe2(p, O_CLOEXEC), 0);
  ::fcntl(p[1], F_SETPIPE_SZ, 4096);
  char junk[4096] = {};
  int fl = ::fcntl(p[1], F_GETFL);
  ::fcntl(p[1], F_SETFL, fl | O_NONBLOCK);
  while (::write(p[1], junk, sizeof junk) > 0) {
  }
  ::fcntl(p[1], F_SETFL, fl);
  return {p[0], p[1]};
}

}  // namespace

// 16 fibers per kind of wait, half ended by a weft::timeout of 1-30 ms, half
// cancelled at a random moment, while 8 more fibers ping-pong on a channel:
// every fiber ends with timed_out or cancelled, and then every primitive
// still works.
TEST(FaultsWaits, TimeoutsAndCancelsLandInEveryWait) {
  weft::run([] {
    world w;
    w.wg.add(1);
    auto [rd, wr] = std::pair{0, 0};
    int p[2];
    ASSERT_EQ(::pipe2(p, O_CLOEXEC), 0);
    w.pipe_rd = p[0];
    std::tie(rd, wr) = full_pipe();
    w.full_wr = wr;
    w.listener = listen_tcp(&w.port);

    // Background load: channel ping-pong and yields.
    std::atomic<bool> stop{false};
    weft::channel<int> ping, pong;
    std::vector<weft::fiber<>> load;
    for (int i = 0; i < 4; ++i) {
      load.push_back(weft::spawn([&] {
        while (auto v = ping.recv()) pong.send(*v + 1);
      }));
      load.push_back(weft::spawn([&] {
        while (!stop) {
          ping.send(1);
          (void)pong.recv();
        }
      }));
    }

    std::mt19937 rng(12345);
    std::uniform_int_distribution<int> ms(1, 30);
    std::atomic<int> timed_out{0}, cancelled{0}, other{0}, started{0};
    struct victim {
      weft::fiber<> f;
      int cancel_at_ms;
    };
    std::vector<victim> to_cancel;
    std::vector<weft::fiber<>> all;
    auto ks = kinds();
    for (auto& [name, body] : ks)
      for (int i = 0; i < 16; ++i) {
        bool by_timeout = i % 2 == 0;
        int d = ms(rng);
        auto f = weft::spawn(weft::spawn_options{.name = name}, [&, by_timeout, d, body = body] {
          started.fetch_add(1);
          try {
            if (by_timeout) {
              weft::timeout t{std::chrono::milliseconds(d)};
              body(w);
            } else {
              body(w);
            }
            other.fetch_add(1);
          } catch (const weft::timed_out&) {
            timed_out.fetch_add(1);
          } catch (const weft::cancelled&) {
            cancelled.fetch_add(1);
          }
        });
        if (by_timeout) all.push_back(std::move(f));
        else to_cancel.push_back({std::move(f), d});
      }
    // Every victim first gets to its wait: a cancel before a fiber's first
    // run means its function never runs (join rethrows weft::cancelled), and
    // on a loaded host the first deadlines can pass before the victims ran
    // (sleep_until a past time does not yield).
    const int n = static_cast<int>(ks.size()) * 16;
    while (started.load() < n) weft::this_fiber::yield();
    weft::this_fiber::yield();
    // Cancels land at their random moments.
    auto t0 = steady::now();
    std::sort(to_cancel.begin(), to_cancel.end(), [](auto& a, auto& b) { return a.cancel_at_ms < b.cancel_at_ms; });
    for (auto& v : to_cancel) {
      weft::this_fiber::sleep_until(t0 + std::chrono::milliseconds(v.cancel_at_ms));
      v.f.cancel();
      all.push_back(std::move(v.f));
    }
    for (auto& f : all) f.join();
    EXPECT_EQ(timed_out.load(), n / 2);
    EXPECT_EQ(cancelled.load(), n / 2);
    EXPECT_EQ(other.load(), 0);

    // Every primitive still works: no stale waiter is left in any queue.
    auto helper = weft::spawn([&] { (void)w.ch_send.recv(); });
    EXPECT_TRUE(w.ch_send.send(7));
    helper.join();
    auto sender = weft::spawn([&] { (void)w.ch_recv.send(8); });
    EXPECT_EQ(w.ch_recv.recv(), 8);
    sender.join();
    EXPECT_TRUE(w.m.try_lock());
    w.m.unlock();
    w.cv.notify_all();
    w.ev.set();
    w.ev.wait();
    w.sem.release(1);
    EXPECT_TRUE(w.sem.try_acquire());
    EXPECT_FALSE(w.sem.try_acquire());
    w.wg.done();
    w.wg.wait();

    stop = true;
    ping.close();
    for (auto& f : load) f.join();
    for (int fd : {p[0], p[1], rd, wr, w.listener}) ::close(fd);
  });
}

// Consumers with tiny timeouts race a producer: every value sent is
// received exactly once, and a timed-out receive never eats a value.
TEST(FaultsWaits, TimeoutsRacingWakeupsLoseNothing) {
  weft::run([] {
    weft::channel<int> ch;
    weft::semaphore sem{0};
    constexpr int n = 3000;
    std::atomic<long> sum_recv{0}, got{0}, acquired{0};
    std::atomic<bool> producing{true};
    std::vector<weft::fiber<>> consumers;
    for (int c = 0; c < 8; ++c)
      consumers.push_back(weft::spawn([&, c] {
        std::mt19937 rng(c);
        while (producing || got < n) {
          try {
            weft::timeout t{std::chrono::microseconds(50 + rng() % 300)};
            if (auto v = ch.recv()) {
              sum_recv += *v;
              ++got;
            } else {
              return;
            }
            sem.acquire();
            ++acquired;
          } catch (const weft::timed_out&) {
          }
        }
      }));
    long sum_sent = 0;
    std::mt19937 rng(99);
    for (int i = 1; i <= n; ++i) {
      ASSERT_TRUE(ch.send(i));
      sum_sent += i;
      sem.release(1);
      if (rng() % 8 == 0) weft::this_fiber::sleep_for(std::chrono::microseconds(rng() % 200));
    }
    producing = false;
    ASSERT_TRUE(eventually([&] { return got.load() == n; }, 5000ms)) << got.load();
    ch.close();
    for (auto& f : consumers) f.join();
    EXPECT_EQ(sum_recv.load(), sum_sent);
    // Permits are conserved: the ones not acquired are still there.
    long left = 0;
    while (sem.try_acquire()) ++left;
    EXPECT_EQ(acquired.load() + left, n);
  });
}
