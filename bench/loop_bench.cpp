// bench/loop_bench.cpp [timers] [pipes] [rounds] [reps] — loop watchers
// (weft/loop.hpp) against their fiber equivalents, in the same run, on
// one carrier. CPU time of the carrier thread (CLOCK_THREAD_CPUTIME_ID),
// so waiting in the poller costs nothing and only the machinery counts.
//   * timer: `timers` one-shot timer watchers (created, fired 200 us
//     later, handles dropped) against `timers` fibers spawned to sleep
//     200 us and joined: CPU per timer / per fiber.
//   * io: `pipes` pipes, each written once per round by a driver fiber
//     and read once (1 byte) by its io watcher's callback, against one
//     fiber per pipe parked in wait_io; minus a baseline where the driver
//     writes and reads the bytes itself: the dispatch (or park+wake) cost
//     per event.
// Each figure is the median over `reps` repetitions, the variants
// interleaved; the ratios are medians of per-repetition ratios. Exit 1 on
// a wrong count. docs/performance.md, "Loop watchers".
#include <weft/loop.hpp>
#include <weft/weft.hpp>

#include <fcntl.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <vector>

using namespace std::chrono_literals;

namespace {

double cpu_ns() {
  timespec ts;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return double(ts.tv_sec) * 1e9 + double(ts.tv_nsec);
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.empty() ? 0 : v[v.size() / 2];
}

int bad = 0;

double timer_watchers(int n) {
  double t0 = cpu_ns();
  int fired = 0;
  weft::event all;
  {
    std::vector<weft::loop::watcher> ws;
    ws.reserve(std::size_t(n));
    for (int i = 0; i < n; ++i)
      ws.push_back(weft::loop::timer(200us, 0us, [&] {
        if (++fired == n) all.set();
      }));
    all.wait();
  }
  if (fired != n) ++bad;
  return (cpu_ns() - t0) / n;
}

double sleeping_fibers(int n) {
  double t0 = cpu_ns();
  int woke = 0;
  {
    std::vector<weft::fiber<>> fs;
    fs.reserve(std::size_t(n));
    for (int i = 0; i < n; ++i)
      fs.push_back(weft::spawn([&] {
        weft::this_fiber::sleep_for(200us);
        ++woke;
      }));
    for (auto& f : fs) f.join();
  }
  if (woke != n) ++bad;
  return (cpu_ns() - t0) / n;
}

// sleep_baseline() is one round's fixed cost, shared by both variants:
// the carrier's one blocking poll of 200 us (CPU ns).
double sleep_baseline() {
  double t0 = cpu_ns();
  weft::this_fiber::sleep_for(200us);
  return cpu_ns() - t0;
}

struct pipes {
  std::vector<int> r, w;
  explicit pipes(int k) {
    for (int i = 0; i < k; ++i) {
      int p[2];
      if (::pipe2(p, O_NONBLOCK | O_CLOEXEC) != 0) std::abort();
      r.push_back(p[0]);
      w.push_back(p[1]);
    }
  }
  ~pipes() {
    for (int fd : r) ::close(fd);
    for (int fd : w) ::close(fd);
  }
  void write_all() const {
    for (int fd : w)
      if (::write(fd, "x", 1) != 1) std::abort();
  }
};

// timed_rounds() is the CPU time of `rounds` rounds of one byte into every
// pipe, each round waiting until the readers' count reaches the raised
// `target` (they set round_done then).
double timed_rounds(const pipes& p, int rounds, int& target, weft::event& round_done) {
  double t0 = cpu_ns();
  for (int i = 0; i < rounds; ++i) {
    target += int(p.r.size());
    round_done.clear();
    p.write_all();
    round_done.wait();
  }
  return cpu_ns() - t0;
}

// io_watchers() is CPU ns per event: `rounds` rounds of one byte into
// every pipe, each read by its watcher's callback.
double io_watchers(const pipes& p, int rounds) {
  int k = int(p.r.size());
  int got = 0, target = 0;
  weft::event round_done;
  std::vector<weft::loop::watcher> ws;
  for (int fd : p.r)
    ws.push_back(weft::loop::io(fd, weft::loop::readable, [&, fd](unsigned) {
      char c;
      if (::read(fd, &c, 1) == 1 && ++got == target) round_done.set();
    }));
  double t = timed_rounds(p, rounds, target, round_done);
  if (got != k * rounds) ++bad;
  return t / (double(k) * rounds);
}

// io_fibers() is io_watchers() with one fiber per pipe in wait_io.
double io_fibers(const pipes& p, int rounds) {
  int k = int(p.r.size());
  int got = 0, target = 0;
  weft::event round_done;
  std::vector<weft::fiber<>> fs;
  for (int fd : p.r)
    fs.push_back(weft::spawn([&, fd] {
      for (int i = 0; i < rounds; ++i) {
        char c;
        while (::read(fd, &c, 1) != 1) weft::wait_io(fd, weft::io_event::readable);
        if (++got == target) round_done.set();
      }
    }));
  weft::this_fiber::yield();  // every reader parks once before the clock starts
  double t = timed_rounds(p, rounds, target, round_done);
  for (auto& f : fs) f.join();
  if (got != k * rounds) ++bad;
  return t / (double(k) * rounds);
}

// io_baseline() is the same writes and reads with nothing waiting.
double io_baseline(const pipes& p, int rounds) {
  int k = int(p.r.size());
  double t0 = cpu_ns();
  for (int i = 0; i < rounds; ++i) {
    p.write_all();
    for (int fd : p.r) {
      char c;
      if (::read(fd, &c, 1) != 1) ++bad;
    }
  }
  return (cpu_ns() - t0) / (double(k) * rounds);
}

}  // namespace

int main(int argc, char** argv) {
  int timers = argc > 1 ? std::atoi(argv[1]) : 10000;
  int npipes = argc > 2 ? std::atoi(argv[2]) : 64;
  int rounds = argc > 3 ? std::atoi(argv[3]) : 2000;
  int reps = argc > 4 ? std::atoi(argv[4]) : 7;
  weft::run([&] {
    std::vector<double> tb, tw, tf, tr, iw, iff, ib, ir;
    pipes p(npipes);
    (void)timer_watchers(timers);  // warm: stacks, allocator, the dispatcher
    (void)sleeping_fibers(timers);
    for (int rep = 0; rep < reps; ++rep) {
      double base_t = 0;
      for (int i = 0; i < 5; ++i) base_t += sleep_baseline() / 5;
      double a = timer_watchers(timers) - base_t / timers, b = sleeping_fibers(timers) - base_t / timers;
      tb.push_back(base_t);
      tw.push_back(a);
      tf.push_back(b);
      tr.push_back(a / b);
      double base = io_baseline(p, rounds);
      double w = io_watchers(p, rounds) - base, f = io_fibers(p, rounds) - base;
      ib.push_back(base);
      iw.push_back(w);
      iff.push_back(f);
      ir.push_back(w / f);
    }
    std::printf("round baseline (one 200 us sleep):   %.0f ns CPU (subtracted)\n", median(tb));
    std::printf("timer watcher (create, fire, drop):  %.0f ns CPU each\n", median(tw));
    std::printf("sleeping fiber (spawn, wake, join):  %.0f ns CPU each\n", median(tf));
    std::printf("timer ratio watcher/fiber:           %.2f (target <= 0.5)\n", median(tr));
    std::printf("io baseline (write+read, no wait):   %.0f ns CPU per event\n", median(ib));
    std::printf("io watcher dispatch:                 %.0f ns CPU per event (%d pipes ready per round)\n",
                median(iw), npipes);
    std::printf("fiber park+wake on wait_io:          %.0f ns CPU per event\n", median(iff));
    std::printf("io ratio watcher/fiber:              %.2f (target <= 0.5)\n", median(ir));
  });
  if (bad) std::fprintf(stderr, "loop_bench: %d wrong counts\n", bad);
  return bad ? 1 : 0;
}
