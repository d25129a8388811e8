// bench/boost_fiber_micro.cpp — the weft micro benchmarks, same operations
// and shape, on Boost.Fiber (the peer for weft_micro.cpp). The main context
// of the thread is itself a Boost.Fiber fiber, so each state loop runs on it
// directly. Fibers get 64 KiB stacks, weft's default stack size: from one
// shared pooled_fixedsize_stack (Boost's fast, reusing allocator) in the timed
// benchmarks, and from plain fixedsize_stack (malloc) in idle_fibers, where a
// pool's spare capacity would inflate the RSS figure.
//
// Extra flag: --idle_fibers=N (or env MICRO_IDLE_FIBERS), default 1,000,000.
#include "micro_common.hpp"

#include <boost/fiber/all.hpp>

#include <cstdint>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <vector>

namespace {

namespace bf = boost::fibers;
using micro::report;

constexpr std::size_t stack_size = 64 * 1024;

// spawn(fn) starts fn as a Boost.Fiber fiber with a 64 KiB pooled stack.
template <class F>
bf::fiber spawn(F&& fn) {
  static bf::pooled_fixedsize_stack pool(stack_size);
  return bf::fiber(std::allocator_arg, pool, std::forward<F>(fn));
}

// idle_fibers: N fibers each block on one condition variable; RSS delta
// once all are parked, divided by N. Runs first (clean heap).
void BM_idle_fibers(benchmark::State& st) {
  for (auto _ : st) {
    const long n = micro::idle_fibers;
    bf::mutex m;
    bf::condition_variable cv;
    bool go = false;
    long started = 0, finished = 0;
    std::int64_t r0 = micro::rss_bytes();
    micro::stamp t0 = micro::start();
    for (long i = 0; i < n; ++i) {
      bf::fiber(std::allocator_arg, bf::fixedsize_stack(stack_size), [&] {
        std::unique_lock<bf::mutex> lk(m);
        ++started;
        cv.wait(lk, [&] { return go; });
        ++finished;
      }).detach();
    }
    while (started < n) boost::this_fiber::yield();
    report(st, t0, n);  // spawn + first run + park, per fiber (informational)
    std::int64_t r1 = micro::rss_bytes();
    {
      std::unique_lock<bf::mutex> lk(m);
      go = true;
    }
    cv.notify_all();
    while (finished < n) boost::this_fiber::yield();
    st.counters["bytes_per_fiber"] = static_cast<double>(r1 - r0) / static_cast<double>(n);
    st.counters["fibers"] = static_cast<double>(n);
  }
}
BENCHMARK(BM_idle_fibers)->Iterations(1)->Unit(benchmark::kMillisecond);

// yield: main fiber and one partner both loop on yield(); ns per yield.
void BM_yield(benchmark::State& st) {
  bool stop = false;
  std::int64_t other = 0;
  auto b = spawn([&] {
    while (!stop) {
      boost::this_fiber::yield();
      ++other;
    }
  });
  boost::this_fiber::yield();
  std::int64_t mine = 0, other0 = other;
  micro::stamp t0 = micro::begin();
  for (auto _ : st) {
    boost::this_fiber::yield();
    ++mine;
  }
  micro::end(st, "yield", t0, mine + (other - other0));
  stop = true;
  b.join();
}
BENCHMARK(BM_yield);

// spawn_join: spawn one empty fiber and join it, one at a time.
void BM_spawn_join(benchmark::State& st) {
  std::int64_t n = 0;
  micro::stamp t0 = micro::begin();
  for (auto _ : st) {
    spawn([] {}).join();
    ++n;
  }
  micro::end(st, "spawn_join", t0, n);
}
BENCHMARK(BM_spawn_join);

// spawn10k_join: spawn 10,000 empty fibers, then join them all; ns per fiber.
// One untimed batch first, so stacks are not faulted in on the clock.
void BM_spawn10k_join(benchmark::State& st) {
  std::vector<bf::fiber> v;
  v.reserve(micro::batch);
  for (int i = 0; i < micro::batch; ++i) v.push_back(spawn([] {}));  // untimed warm-up
  for (auto& f : v) f.join();
  v.clear();
  std::int64_t n = 0;
  micro::stamp t0 = micro::begin();
  for (auto _ : st) {
    for (int i = 0; i < micro::batch; ++i) v.push_back(spawn([] {}));
    for (auto& f : v) f.join();
    v.clear();
    n += micro::batch;
  }
  micro::end(st, "spawn10k_join", t0, n);
}
BENCHMARK(BM_spawn10k_join)->Unit(benchmark::kMillisecond);

// channel_round_trip: ping over one unbuffered_channel, pong over another.
void BM_channel_round_trip(benchmark::State& st) {
  bf::unbuffered_channel<int> ping, pong;
  auto b = spawn([&] {
    int v;
    while (ping.pop(v) == bf::channel_op_status::success) pong.push(v);
  });
  std::int64_t n = 0;
  micro::stamp t0 = micro::begin();
  for (auto _ : st) {
    int v;
    ping.push(1);
    if (pong.pop(v) != bf::channel_op_status::success) throw std::logic_error("pong closed");
    ++n;
  }
  micro::end(st, "channel_round_trip", t0, n);
  ping.close();
  b.join();
}
BENCHMARK(BM_channel_round_trip);

// mutex_handoff: two fibers each loop { lock(); yield(); unlock(); yield(); }
// on one mutex (see weft_micro.cpp: boost's mutex barges, so without the second
// yield one fiber would keep the mutex forever); ns per critical section,
// counting both fibers.
void BM_mutex_handoff(benchmark::State& st) {
  bf::mutex m;
  bool stop = false;
  std::int64_t other = 0;
  auto b = spawn([&] {
    while (!stop) {
      m.lock();
      boost::this_fiber::yield();
      m.unlock();
      boost::this_fiber::yield();
      ++other;
    }
  });
  boost::this_fiber::yield();
  std::int64_t mine = 0, other0 = other;
  micro::stamp t0 = micro::begin();
  for (auto _ : st) {
    m.lock();
    boost::this_fiber::yield();
    m.unlock();
    boost::this_fiber::yield();
    ++mine;
  }
  micro::end(st, "mutex_handoff", t0, mine + (other - other0));
  stop = true;
  b.join();
}
BENCHMARK(BM_mutex_handoff);

}  // namespace

MICRO_MAIN()
