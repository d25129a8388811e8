// tests/boost_fiber/test_boost_bridges.cpp — weft fibers and Boost fibers
// waking each other (issue 15, tests 2-4 and 7): a buffered_channel relay
// weft -> Boost -> weft, mutex/condition-variable ping-pong, promise/future
// both ways, Boost fibers waiting on weft primitives, await(), the misuse
// report and the host's shutdown. Each case on one carrier and, where it
// says so, across two carriers (config::workers = 2).
#include "helpers.hpp"
#include "stderr_capture.hpp"

#include <weft/boost_fiber.hpp>

#include <boost/fiber/all.hpp>

#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cstdio>
#include <thread>
#include <vector>

namespace {

using namespace weft_test;
namespace bf = boost::fibers;
namespace wb = weft::boost_fiber;

pid_t tid() { return static_cast<pid_t>(syscall(SYS_gettid)); }

weft::config carriers(unsigned n) {
  weft::config c;
  c.workers = n;
  return c;
}

// on_two_carriers(a, b) runs a() on a fiber of the other carrier and b()
// on the calling one, each with a host, and joins a's fiber. Root fiber.
template <class A, class B>
void on_two_carriers(A a, B b) {
  pid_t ta = 0, tb = 0;
  auto fa = spawn_elsewhere([&] {
    ta = tid();
    wb::host scope;
    a();
  });
  tb = tid();
  {
    wb::host scope;
    b();
  }
  fa.join();
  EXPECT_NE(ta, tb);
}

// boost_and_weft(workers, boost_side, weft_side) runs boost_side() on a
// Boost fiber and weft_side() on a weft fiber: beside each other under one
// host (workers == 1), or on two carriers, and joins both. Root fiber.
template <class A, class B>
void boost_and_weft(unsigned workers, A boost_side, B weft_side) {
  if (workers == 1) {
    wb::host scope;
    bf::fiber b(boost_side);
    auto w = weft::spawn(weft_side);
    b.join();
    w.join();
  } else {
    // The weft side needs a host on its own carrier for await().
    on_two_carriers([&] { bf::fiber(boost_side).join(); }, weft_side);
  }
}

// ---- test 2: buffered_channel weft -> Boost -> weft ---------------------------

constexpr int n_values = 100000;

// produce(): a weft fiber pushes 1..n into ch (await when full), then closes it.
void produce(bf::buffered_channel<int>& ch) {
  for (int i = 1; i <= n_values; ++i) {
    if (ch.try_push(i) == bf::channel_op_status::full) {
      auto st = wb::await([&] { return ch.push(i); });
      ASSERT_EQ(st, bf::channel_op_status::success);
    }
  }
  ch.close();
}

// consume(): a weft fiber pops until ch closes (await when empty); returns the sum.
long long consume(bf::buffered_channel<int>& ch) {
  long long sum = 0;
  for (;;) {
    int v;
    auto st = ch.try_pop(v);
    if (st == bf::channel_op_status::empty) st = wb::await([&] { return ch.pop(v); });
    if (st == bf::channel_op_status::closed) return sum;
    EXPECT_EQ(st, bf::channel_op_status::success);
    sum += v;
  }
}

// relay(): a Boost fiber moves values from in to out until in closes.
void relay(bf::buffered_channel<int>& in, bf::buffered_channel<int>& out) {
  int v;
  while (in.pop(v) == bf::channel_op_status::success) out.push(v);
  out.close();
}

constexpr long long expected_sum = (long long)n_values * (n_values + 1) / 2;

TEST(BoostChannel, WeftToBoostToWeftOneCarrier) {
  auto t0 = steady::now();
  weft::run([] {
    wb::host scope;
    bf::buffered_channel<int> a(64), b(64);
    bf::fiber r([&] { relay(a, b); });
    long long sum = 0;
    auto c = weft::spawn([&] { sum = consume(b); });
    auto p = weft::spawn([&] { produce(a); });
    p.join();
    c.join();
    r.join();
    EXPECT_EQ(sum, expected_sum);
  });
  EXPECT_LT(elapsed_ms(t0), 5000.0);
}

TEST(BoostChannel, WeftToBoostToWeftAcrossCarriers) {
  auto t0 = steady::now();
  weft::run(carriers(2), [] {
    bf::buffered_channel<int> a(64), b(64);
    long long sum = 0;
    // Carrier 1: the Boost relay. Carrier 2: the weft producer and consumer.
    on_two_carriers(
        [&] {
          bf::fiber r([&] { relay(a, b); });
          r.join();
        },
        [&] {
          auto c = weft::spawn([&] { sum = consume(b); });
          produce(a);
          c.join();
        });
    EXPECT_EQ(sum, expected_sum);
  });
  EXPECT_LT(elapsed_ms(t0), 5000.0);
}

TEST(BoostChannel, BoostFibersSendAndReceiveOnAWeftChannel) {
  weft::run(carriers(2), [] {
    weft::channel<int> ch(16);
    long long sum = 0;
    on_two_carriers(
        [&] {
          bf::fiber p([&] {
            for (int i = 1; i <= n_values; ++i) ch.send(i);
            ch.close();
          });
          p.join();
        },
        [&] {
          bf::fiber c([&] {
            while (auto v = ch.recv()) sum += *v;
          });
          c.join();
        });
    EXPECT_EQ(sum, expected_sum);
  });
}

// ---- test 3: mutex / condition variable ping-pong ------------------------------

constexpr int round_trips = 100000;

// A turn-taking cell: the weft side waits for turn == 1, the Boost side for 0.
struct ping_pong {
  weft::mutex m;
  weft::condition_variable cv;
  int turn = 0;
  int count = 0;
};

// pong_boost(): a Boost fiber answers every ping through weft's mutex/cv.
void pong_boost(ping_pong& s) {
  for (int i = 0; i < round_trips; ++i) {
    std::unique_lock lk(s.m);
    s.cv.wait(lk, [&] { return s.turn == 1; });
    s.turn = 0;
    ++s.count;
    s.cv.notify_all();
  }
}

// ping_weft(): the weft side; returns ns per round trip.
double ping_weft(ping_pong& s) {
  auto t0 = steady::now();
  for (int i = 0; i < round_trips; ++i) {
    std::unique_lock lk(s.m);
    s.turn = 1;
    s.cv.notify_all();
    s.cv.wait(lk, [&] { return s.turn == 0; });
  }
  return std::chrono::duration<double, std::nano>(steady::now() - t0).count() / round_trips;
}

TEST(BoostMutexCv, PingPongOneCarrier) {
  weft::run([] {
    wb::host scope;
    ping_pong s;
    bf::fiber b([&] { pong_boost(s); });
    double ns = 0;
    auto w = weft::spawn([&] { ns = ping_weft(s); });
    w.join();
    b.join();
    EXPECT_EQ(s.count, round_trips);
    std::printf("[figure] weft<->Boost mutex/cv round trip, one carrier: %.0f ns\n", ns);
  });
}

TEST(BoostMutexCv, PingPongAcrossCarriers) {
  weft::run(carriers(2), [] {
    ping_pong s;
    double ns = 0;
    on_two_carriers(
        [&] {
          bf::fiber b([&] { pong_boost(s); });
          b.join();
        },
        [&] { ns = ping_weft(s); });
    EXPECT_EQ(s.count, round_trips);
    std::printf("[figure] weft<->Boost mutex/cv round trip, two carriers: %.0f ns\n", ns);
  });
}

TEST(BoostMutexCv, BoostMutexAndCvThroughAwait) {
  // Boost's own mutex/condition_variable: the Boost fiber uses them
  // directly, the weft fiber through await() (and notify directly).
  weft::run([] {
    wb::host scope;
    bf::mutex m;
    bf::condition_variable cv;
    int turn = 0, count = 0;
    constexpr int n = 2000;
    bf::fiber b([&] {
      for (int i = 0; i < n; ++i) {
        std::unique_lock lk(m);
        cv.wait(lk, [&] { return turn == 1; });
        turn = 0;
        ++count;
        cv.notify_all();
      }
    });
    auto w = weft::spawn([&] {
      for (int i = 0; i < n; ++i) {
        wb::await([&] {
          std::unique_lock lk(m);
          turn = 1;
          cv.notify_all();
          cv.wait(lk, [&] { return turn == 0; });
        });
      }
    });
    w.join();
    b.join();
    EXPECT_EQ(count, n);
  });
}

// ---- test 4: promise / future both ways ------------------------------------------

TEST(BoostFuture, WeftSetsBoostGets) {
  for (unsigned workers : {1u, 2u}) {
    weft::run(carriers(workers), [workers] {
      bf::promise<int> p1, p2;
      bf::future<int> f1 = p1.get_future(), f2 = p2.get_future();
      int got = 0;
      bool threw = false;
      auto boost_side = [&] {
        got = f1.get();
        try {
          f2.get();
        } catch (const std::runtime_error& e) {
          threw = std::string(e.what()) == "boom";
        }
      };
      auto weft_side = [&] {
        weft::this_fiber::sleep_for(2ms);
        p1.set_value(42);
        p2.set_exception(std::make_exception_ptr(std::runtime_error("boom")));
      };
      boost_and_weft(workers, boost_side, weft_side);
      EXPECT_EQ(got, 42);
      EXPECT_TRUE(threw);
    });
  }
}

TEST(BoostFuture, BoostSetsWeftGets) {
  for (unsigned workers : {1u, 2u}) {
    weft::run(carriers(workers), [workers] {
      bf::promise<int> p1, p2;
      bf::future<int> f1 = p1.get_future(), f2 = p2.get_future();
      int got = 0;
      bool threw = false;
      auto boost_side = [&] {
        boost::this_fiber::sleep_for(2ms);
        p1.set_value(7);
        p2.set_exception(std::make_exception_ptr(std::runtime_error("bang")));
      };
      auto weft_side = [&] {
        got = wb::await([&] { return f1.get(); });
        try {
          wb::await([&] { return f2.get(); });
        } catch (const std::runtime_error& e) {
          threw = std::string(e.what()) == "bang";
        }
      };
      boost_and_weft(workers, boost_side, weft_side);
      EXPECT_EQ(got, 7);
      EXPECT_TRUE(threw);
    });
  }
}

// ---- Boost fibers waiting on weft primitives ---------------------------------------

TEST(BoostWaitsOnWeft, EventWaitGroupJoinMutex) {
  for (unsigned workers : {1u, 2u}) {
    for (int rep = 0; rep < 20; ++rep) {
      weft::run(carriers(workers), [] {
        wb::host scope;  // on the root fiber's carrier
        weft::event ev;
        weft::wait_group wg;
        weft::mutex m;
        int shared = 0;
        wg.add(3);
        auto worker = weft::spawn([&] {  // may land on the other carrier
          weft::this_fiber::sleep_for(1ms);
          ev.set();
          for (int i = 0; i < 3; ++i) {
            std::lock_guard g(m);
            ++shared;
            wg.done();
          }
          return 5;
        });
        int joined = 0;
        std::vector<bf::fiber> fs;
        fs.emplace_back([&] { ev.wait(); });
        fs.emplace_back([&] { wg.wait(); });
        fs.emplace_back([&] { joined = worker.join(); });
        for (int i = 0; i < 10; ++i)
          fs.emplace_back([&] {
            std::lock_guard g(m);
            ++shared;
            boost::this_fiber::yield();  // hold the weft mutex across a Boost switch
          });
        for (auto& f : fs) f.join();
        EXPECT_TRUE(ev.is_set());
        EXPECT_EQ(joined, 5);
        EXPECT_EQ(shared, 13);
      });
    }
  }
}

// ---- test 7: misuse, shutdown ----------------------------------------------------------

TEST(BoostMisuseDeathTest, WeftFiberInASuspendingBoostCall) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_DEATH(weft::run([] {
                 wb::host scope;
                 bf::promise<int> p;
                 bf::future<int> f = p.get_future();
                 bf::fiber keep([] { boost::this_fiber::sleep_for(50ms); });
                 auto w = weft::spawn([&] { f.get(); });  // a weft fiber, not the host
                 w.join();
                 keep.join();
               }),
               "weft fiber [0-9]+ called a suspending Boost.Fiber operation.*await");
}

TEST(BoostShutdown, HostEndReportsAndAbandonsBlockedFibers) {
  stderr_capture cap;
  auto t0 = steady::now();
  int sv[2];
  ASSERT_EQ(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
  weft::run([&] {
    {
      wb::host scope({.linger = std::chrono::milliseconds(30)});
      bf::fiber([&] {
        char c;
        (void)recv(sv[0], &c, 1, 0);  // nothing is ever sent
      }).detach();
      bf::fiber([] { boost::this_fiber::sleep_for(std::chrono::hours(1)); }).detach();
      bf::fiber([] { boost::this_fiber::sleep_for(5ms); }).detach();  // finishes within linger
    }
    // The carrier works on; a second host is fine.
    wb::host again;
    int k = 0;
    bf::fiber([&] { k = 1; }).join();
    EXPECT_EQ(k, 1);
  });
  std::string text = cap.text();
  EXPECT_NE(text.find("ended with 2 Boost fibers alive (1 waiting in weft, 1 in Boost.Fiber or ready)"),
            std::string::npos)
      << text;
  EXPECT_LT(elapsed_ms(t0), 2000.0);
  close(sv[0]);
  close(sv[1]);
}

TEST(BoostShutdown, AnAbandonedFiberIsNeverResumed) {
  // A Boost fiber abandoned while it waits in a weft channel stays
  // suspended even when a plain thread sends to that channel afterwards
  // (the claim succeeds; the wake is dropped) and a later host runs the
  // carrier.
  stderr_capture cap;
  auto* ch = new weft::channel<int>(0);  // outlives the abandoned fiber: never freed
  std::atomic<bool> resumed{false};
  weft::run([&] {
    {
      wb::host scope({.linger = std::chrono::milliseconds(10)});
      bf::fiber([&] {
        if (ch->recv()) resumed = true;
      }).detach();
    }
    std::thread pusher([&] { ch->send(1); });  // hands the value to the abandoned waiter
    pusher.join();
    wb::host again;
    for (int i = 0; i < 20; ++i) boost::this_fiber::sleep_for(1ms);  // the dispatcher runs
  });
  EXPECT_FALSE(resumed);
  EXPECT_NE(cap.text().find("ended with 1 Boost fibers alive"), std::string::npos);
}

TEST(BoostShutdown, RunEndCancelsAHostWaitingInWeft) {
  // The host is not the root fiber: when the root returns, weft cancels
  // it; its own code (waiting in weft) sees weft::cancelled, and its end
  // abandons the Boost fiber that still waits.
  stderr_capture cap;
  auto t0 = steady::now();
  bool host_cancelled = false;
  weft::run([&] {
    weft::spawn([&] {
      wb::host scope({.linger = std::chrono::milliseconds(30)});
      weft::event never;
      bf::fiber([&] { never.wait(); }).detach();
      try {
        never.wait();
      } catch (const weft::cancelled&) {
        host_cancelled = true;
        throw;
      }
    }).detach();
    weft::this_fiber::sleep_for(5ms);
  });
  std::string text = cap.text();
  EXPECT_TRUE(host_cancelled);
  EXPECT_NE(text.find("ended with 1 Boost fibers alive (1 waiting in weft"), std::string::npos) << text;
  EXPECT_LT(elapsed_ms(t0), 2000.0);
}

}  // namespace
