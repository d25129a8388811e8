// bench/weft_micro.cpp — micro benchmarks of the weft runtime core.
//
// Every benchmark except raw_switch runs its whole state loop inside
// weft::run, on the root fiber, and reports wall-clock ns per operation in
// the "ns_per_op" counter (idle_fibers reports "bytes_per_fiber"). The same
// operations, in the same shape, are in boost_fiber_micro.cpp and
// go/micro.go; see docs/performance.md for what each one measures.
//
// Extra flag: --idle_fibers=N (or env MICRO_IDLE_FIBERS), default 1,000,000.
#include "micro_common.hpp"

#include <weft/weft.hpp>

#include <boost/context/fiber.hpp>

#include <cstdint>
#include <optional>
#include <stdexcept>
#include <vector>

namespace {

using micro::report;

// idle_fibers: spawn N fibers that each block on one event; RSS delta
// (/proc/self/statm) once all of them are parked, divided by N. Runs first so
// that no earlier benchmark has warmed a stack pool.
void BM_idle_fibers(benchmark::State& st) {
  for (auto _ : st) {
    weft::run([&] {
      const long n = micro::idle_fibers;
      weft::event go;
      weft::wait_group finished;
      long started = 0;
      finished.add(n);
      std::int64_t r0 = micro::rss_bytes();
      micro::stamp t0 = micro::start();
      for (long i = 0; i < n; ++i) {
        weft::spawn([&] {
          ++started;
          go.wait();
          finished.done();
        }).detach();
      }
      while (started < n) weft::this_fiber::yield();
      report(st, t0, n);  // spawn + first run + park, per fiber (informational)
      std::int64_t r1 = micro::rss_bytes();
      go.set();
      finished.wait();
      st.counters["bytes_per_fiber"] = static_cast<double>(r1 - r0) / static_cast<double>(n);
      st.counters["fibers"] = static_cast<double>(n);
    });
  }
}
BENCHMARK(BM_idle_fibers)->Iterations(1)->Unit(benchmark::kMillisecond);

// raw_switch: a bare boost::context::fiber ping-pong on the calling thread;
// each resume() is two switches (there and back). The floor for `yield`.
void BM_raw_switch(benchmark::State& st) {
  namespace ctx = boost::context;
  bool stop = false;
  ctx::fiber f{[&](ctx::fiber&& m) {
    while (!stop) m = std::move(m).resume();
    return std::move(m);
  }};
  f = std::move(f).resume();  // now parked inside its loop
  std::int64_t iters = 0;
  micro::stamp t0 = micro::begin();
  for (auto _ : st) {
    f = std::move(f).resume();
    ++iters;
  }
  micro::end(st, "raw_switch", t0, 2 * iters);
  stop = true;
  f = std::move(f).resume();  // lets it return
}
BENCHMARK(BM_raw_switch);

// yield: the root fiber and one partner both loop on yield(); ns per yield
// (= one switch from one fiber to the other), counting both fibers' yields.
void BM_yield(benchmark::State& st) {
  weft::run([&] {
    bool stop = false;
    std::int64_t other = 0;
    auto b = weft::spawn([&] {
      while (!stop) {
        weft::this_fiber::yield();
        ++other;
      }
    });
    weft::this_fiber::yield();  // partner is in its loop
    std::int64_t mine = 0, other0 = other;
    micro::stamp t0 = micro::begin();
    for (auto _ : st) {
      weft::this_fiber::yield();
      ++mine;
    }
    micro::end(st, "yield", t0, mine + (other - other0));
    stop = true;
    b.join();
  });
}
BENCHMARK(BM_yield);

// spawn_join: spawn one empty fiber and join it, one at a time.
void BM_spawn_join(benchmark::State& st) {
  weft::run([&] {
    std::int64_t n = 0;
    micro::stamp t0 = micro::begin();
    for (auto _ : st) {
      weft::spawn([] {}).join();
      ++n;
    }
    micro::end(st, "spawn_join", t0, n);
  });
}
BENCHMARK(BM_spawn_join);

// spawn10k_join: spawn 10,000 empty fibers, then join them all; ns per fiber.
// One untimed batch first, so stacks are not faulted in on the clock.
void BM_spawn10k_join(benchmark::State& st) {
  weft::run([&] {
    std::vector<weft::fiber<>> v;
    v.reserve(micro::batch);
    for (int i = 0; i < micro::batch; ++i) v.push_back(weft::spawn([] {}));  // untimed warm-up
    for (auto& f : v) f.join();
    v.clear();
    std::int64_t n = 0;
    micro::stamp t0 = micro::begin();
    for (auto _ : st) {
      for (int i = 0; i < micro::batch; ++i) v.push_back(weft::spawn([] {}));
      for (auto& f : v) f.join();
      v.clear();
      n += micro::batch;
    }
    micro::end(st, "spawn10k_join", t0, n);
  });
}
BENCHMARK(BM_spawn10k_join)->Unit(benchmark::kMillisecond);

// channel_round_trip: root sends on rendezvous channel `ping`, the partner
// receives and sends it back on rendezvous channel `pong`; ns per round trip.
void BM_channel_round_trip(benchmark::State& st) {
  weft::run([&] {
    weft::channel<int> ping(0), pong(0);
    auto b = weft::spawn([&] {
      while (auto v = ping.recv()) pong.send(*v);
    });
    std::int64_t n = 0;
    micro::stamp t0 = micro::begin();
    for (auto _ : st) {
      ping.send(1);
      if (!pong.recv()) throw std::logic_error("pong closed");
      ++n;
    }
    micro::end(st, "channel_round_trip", t0, n);
    ping.close();
    b.join();
  });
}
BENCHMARK(BM_channel_round_trip);

// select_round_trip: channel_round_trip with every receive a two-case
// weft::select (the value's channel, and a `quit` channel nobody sends on
// until the end); ns per round trip. Compare with channel_round_trip.
void BM_select_round_trip(benchmark::State& st) {
  weft::run([&] {
    weft::channel<int> ping(0), pong(0), quit(0);
    auto b = weft::spawn([&] {
      for (bool done = false; !done;)
        weft::select(weft::on_recv(ping, [&](int v) { pong.send(v); }),
                     weft::on_recv(quit, [&](std::optional<int>) { done = true; }));
    });
    std::int64_t n = 0;
    int got = 0;
    micro::stamp t0 = micro::begin();
    for (auto _ : st) {
      ping.send(1);
      weft::select(weft::on_recv(pong, [&](int v) { got += v; }),
                   weft::on_recv(quit, [](std::optional<int>) { throw std::logic_error("quit"); }));
      ++n;
    }
    micro::end(st, "select_round_trip", t0, n);
    if (got != n) throw std::logic_error("lost values");
    quit.close();
    b.join();
  });
}
BENCHMARK(BM_select_round_trip);

// mutex_handoff: two fibers (root and partner) each loop
// { lock(); yield(); unlock(); yield(); } on one shared mutex. The yield
// inside makes the other fiber arrive and wait in lock(); the yield after
// unlock() lets the woken fiber take the mutex before the unlocker can grab
// it again, so ownership alternates even with a barging mutex (Boost.Fiber,
// Go). ns per critical section (two yields, one contended lock, one unlock
// that wakes the waiter), counting both fibers' critical sections.
void BM_mutex_handoff(benchmark::State& st) {
  weft::run([&] {
    weft::mutex m;
    bool stop = false;
    std::int64_t other = 0;
    auto b = weft::spawn([&] {
      while (!stop) {
        m.lock();
        weft::this_fiber::yield();
        m.unlock();
        weft::this_fiber::yield();
        ++other;
      }
    });
    weft::this_fiber::yield();
    std::int64_t mine = 0, other0 = other;
    micro::stamp t0 = micro::begin();
    for (auto _ : st) {
      m.lock();
      weft::this_fiber::yield();
      m.unlock();
      weft::this_fiber::yield();
      ++mine;
    }
    micro::end(st, "mutex_handoff", t0, mine + (other - other0));
    stop = true;
    b.join();
  });
}
BENCHMARK(BM_mutex_handoff);

}  // namespace

MICRO_MAIN()
