// bench/allcores_bench.cpp — the figures of issue 12 (every core, nothing
// blocks a carrier), one mode per target; docs/performance.md reports them.
//
//   allcores_bench wake [rounds]      cross-carrier wake-up: a fiber on carrier 0
//                                     readies one on carrier 1; p50/p99 of the
//                                     time from the send to the receiver running
//   allcores_bench fanout [fibers]    10,000 fibers spawned from one, each
//                                     computing exp(mean 100 us): 1 vs 2
//                                     workers, best of 5
//   allcores_bench imbalance          50 fibers of 20 ms and 5,000 of 20 us,
//                                     spawned from one, the long ones at
//                                     every other position: 1 vs 2 workers,
//                                     best of 5
//   allcores_bench idle [seconds]     a run with 2 workers, no timers, its root
//                                     parked on an event a plain thread sets at
//                                     the end: CPU time used (run it under
//                                     perf stat for the syscalls)
//   allcores_bench offload [calls]    weft::offload round trip of an empty fn
//                                     from one fiber (p50/p99), and throughput
//                                     of 100 fibers offloading at once
//   allcores_bench pread [k]          hot-cache 4 KiB preads of a 64 MiB file
//                                     from 1,000 fibers (hooked: RWF_NOWAIT
//                                     hits), k per fiber, against the same
//                                     loop on a plain thread (no weft)
//   allcores_bench write [n]          4 KiB appends to a file from one fiber
//                                     (hooked: each on the offload pool)
//                                     against a plain thread; ns per write
//   allcores_bench meta [n]           open+close and stat of a cached file on a
//                                     plain thread against the same through
//                                     weft::offload: ns per call
// Each prints "name: value" lines. Smoke: every mode with a tiny size.
#include <weft/weft.hpp>

#include <fcntl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <string>
#include <thread>
#include <vector>

namespace {

using clk = std::chrono::steady_clock;

double us_since(clk::time_point t0) { return std::chrono::duration<double, std::micro>(clk::now() - t0).count(); }

pid_t tid() { return static_cast<pid_t>(syscall(SYS_gettid)); }

// spin_for() computes for d without any call that could switch.
void spin_for(std::chrono::nanoseconds d) {
  auto end = clk::now() + d;
  while (clk::now() < end) {
  }
}

double pct(std::vector<double>& v, double p) {
  std::sort(v.begin(), v.end());
  return v[std::min(v.size() - 1, static_cast<std::size_t>(p * v.size()))];
}

weft::config workers(unsigned n) {
  weft::config c;
  c.workers = n;
  return c;
}

int wake(int rounds) {
  std::vector<double> lat;
  lat.reserve(rounds);
  weft::run(workers(2), [&] {
    weft::channel<clk::time_point> to_b;
    weft::channel<int> back;
    pid_t ta = tid();
    // Stealing decides where b runs: spawn candidates while this carrier is
    // busy until one starts on the other carrier; the others end at once.
    std::atomic<bool> taken{false};
    std::vector<weft::fiber<void>> tries;
    while (!taken.load()) {
      tries.push_back(weft::spawn([&] {
        if (tid() == ta || taken.exchange(true)) return;
        while (auto t = to_b.recv()) {
          lat.push_back(us_since(*t));
          back.send(tid());
        }
      }));
      spin_for(std::chrono::milliseconds(1));
      weft::this_fiber::yield();
    }
    for (int i = 0; i < rounds; ++i) {
      to_b.send(clk::now());
      if (*back.recv() == ta) std::fprintf(stderr, "wake: both fibers on one carrier\n"), std::exit(1);
    }
    to_b.close();
    for (auto& f : tries) f.join();
  });
  lat.erase(lat.begin(), lat.begin() + std::min<std::size_t>(lat.size() / 10, 100));  // warm-up
  std::printf("wake_p50_us: %.2f\nwake_p99_us: %.2f\n", pct(lat, 0.5), pct(lat, 0.99));
  return 0;
}

// timed_run() is the wall time of weft::run(workers(n), body), best of 5.
template <class F>
double best_of_5(unsigned n, F body) {
  double best = 1e18;
  for (int r = 0; r < 5; ++r) {
    auto t0 = clk::now();
    weft::run(workers(n), body);
    best = std::min(best, us_since(t0));
  }
  return best / 1000;
}

// spawn_all() spawns one fiber per duration from the calling fiber and
// joins them.
void spawn_all(const std::vector<std::chrono::nanoseconds>& ds) {
  std::vector<weft::fiber<void>> fs;
  fs.reserve(ds.size());
  for (auto d : ds) fs.push_back(weft::spawn(weft::spawn_options{.stack_size = 16 * 1024}, [d] { spin_for(d); }));
  for (auto& f : fs) f.join();
}

int compare(const char* name, const std::vector<std::chrono::nanoseconds>& ds) {
  double one = best_of_5(1, [&] { spawn_all(ds); });
  double two = best_of_5(2, [&] { spawn_all(ds); });
  std::printf("%s_1_worker_ms: %.1f\n%s_2_workers_ms: %.1f\n%s_ratio: %.3f\n", name, one, name, two, name, two / one);
  return 0;
}

int fanout(int n) {
  std::mt19937 rng(12);
  std::exponential_distribution<double> exp_us(1.0 / 100);
  std::vector<std::chrono::nanoseconds> ds;
  for (int i = 0; i < n; ++i) ds.emplace_back(static_cast<long>(exp_us(rng) * 1000));
  return compare("fanout", ds);
}

// imbalance(): the long fibers are spawned at every other position, where
// round-robin placement would put all of them on one of 2 carriers.
int imbalance(int scale) {
  std::vector<std::chrono::nanoseconds> ds;
  int longs = 50 / scale, shorts = 5000 / scale;
  for (int i = 0; i < longs + shorts; ++i)
    ds.emplace_back(i % 2 == 0 && i / 2 < longs ? std::chrono::nanoseconds(std::chrono::milliseconds(20))
                                                 : std::chrono::nanoseconds(std::chrono::microseconds(20)));
  return compare("imbalance", ds);
}

double cpu_s() {
  rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  return ru.ru_utime.tv_sec + ru.ru_stime.tv_sec + (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

int idle(double seconds) {
  weft::event done;
  std::thread t;
  double cpu0 = 0, cpu1 = 0;
  weft::run(workers(2), [&] {
    cpu0 = cpu_s();
    t = std::thread([&] {
      std::this_thread::sleep_for(std::chrono::duration<double>(seconds));
      cpu1 = cpu_s();
      done.set();
    });
    done.wait();
  });
  t.join();
  std::printf("idle_seconds: %.1f\nidle_cpu_percent: %.3f\n", seconds, 100 * (cpu1 - cpu0) / seconds);
  return 0;
}

int offload(int calls) {
  std::vector<double> lat;
  lat.reserve(calls);
  double per_s = 0;
  weft::run([&] {
    for (int i = 0; i < calls; ++i) {
      auto t0 = clk::now();
      weft::offload([] { return 1; });
      lat.push_back(us_since(t0));
    }
    constexpr int kFibers = 100;
    auto t0 = clk::now();
    std::vector<weft::fiber<void>> fs;
    for (int f = 0; f < kFibers; ++f)
      fs.push_back(weft::spawn([&] {
        for (int i = 0; i < calls / 10 + 1; ++i) weft::offload([] { return 1; });
      }));
    for (auto& f : fs) f.join();
    per_s = kFibers * (calls / 10 + 1) / (us_since(t0) / 1e6);
  });
  std::printf("offload_p50_us: %.2f\noffload_p99_us: %.2f\noffload_100_fibers_per_s: %.0f\n", pct(lat, 0.5),
              pct(lat, 0.99), per_s);
  return 0;
}

// hot_file() makes a 64 MiB file and reads it once (into the page cache).
int hot_file(const char* path, std::size_t size) {
  int fd = ::open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
  std::vector<char> block(1 << 20, 'w');
  for (std::size_t done = 0; done < size; done += block.size())
    if (::write(fd, block.data(), block.size()) != static_cast<ssize_t>(block.size())) std::exit(1);
  for (std::size_t off = 0; off < size; off += block.size())
    if (::pread(fd, block.data(), block.size(), static_cast<off_t>(off)) <= 0) std::exit(1);
  return fd;
}

int pread_bench(int per_fiber) {
  constexpr std::size_t kSize = 64 << 20;
  constexpr int kFibers = 1000;
  const char* path = "/tmp/allcores-bench-pread";
  int fd = hot_file(path, kSize);
  auto loop = [fd](int seed, int n) {
    char buf[4096];
    std::uint32_t x = static_cast<std::uint32_t>(seed) * 2654435761u + 1;
    for (int i = 0; i < n; ++i) {
      x = x * 1664525u + 1013904223u;
      off_t off = static_cast<off_t>((x >> 8) % (kSize / 4096)) * 4096;
      if (::pread(fd, buf, sizeof buf, off) != 4096) std::exit(1);
    }
  };
  const long total = long{kFibers} * per_fiber;
  double plain_best = 1e18, fiber_best = 1e18;
  for (int r = 0; r < 3; ++r) {
    auto t0 = clk::now();
    std::thread([&] {
      for (int f = 0; f < kFibers; ++f) loop(f, per_fiber);
    }).join();
    plain_best = std::min(plain_best, us_since(t0));
    t0 = clk::now();
    weft::run([&] {
      std::vector<weft::fiber<void>> fs;
      for (int f = 0; f < kFibers; ++f) fs.push_back(weft::spawn([&, f] { loop(f, per_fiber); }));
      for (auto& f : fs) f.join();
    });
    fiber_best = std::min(fiber_best, us_since(t0));
  }
  ::close(fd);
  ::unlink(path);
  std::printf("pread_plain_per_s: %.0f\npread_hooked_per_s: %.0f\npread_ratio: %.3f\n", total / (plain_best / 1e6),
              total / (fiber_best / 1e6), plain_best / fiber_best);
  return 0;
}

int write_bench(int n) {
  const char* path = "/tmp/allcores-bench-write";
  std::vector<char> block(4096, 'z');
  auto loop = [&] {
    int fd = ::open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    auto t0 = clk::now();
    for (int i = 0; i < n; ++i)
      if (::write(fd, block.data(), block.size()) != 4096) std::exit(1);
    double us = us_since(t0);
    ::close(fd);
    return us * 1000 / n;
  };
  double plain = 1e18, hooked = 1e18;
  for (int r = 0; r < 3; ++r) {
    std::thread([&] { plain = std::min(plain, loop()); }).join();
    weft::run([&] { hooked = std::min(hooked, loop()); });
  }
  ::unlink(path);
  std::printf("write_plain_ns: %.0f\nwrite_hooked_ns: %.0f\n", plain, hooked);
  return 0;
}

// meta_bench(): what open()+close() and stat() of a file in the page cache
// cost on a plain thread, against the same call made through
// weft::offload() (what offloading them would add on every call).
int meta_bench(int n) {
  const char* path = "/tmp/allcores-bench-meta";
  ::close(::open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600));
  auto open_close = [path] { ::close(::open(path, O_RDONLY)); };
  auto do_stat = [path] {
    struct stat st;
    ::stat(path, &st);
  };
  auto per_call_ns = [n](auto&& fn) {
    auto t0 = clk::now();
    for (int i = 0; i < n; ++i) fn();
    return us_since(t0) * 1000 / n;
  };
  double open_plain = 1e18, stat_plain = 1e18, open_off = 1e18, stat_off = 1e18;
  for (int r = 0; r < 3; ++r) {
    std::thread([&] {
      open_plain = std::min(open_plain, per_call_ns(open_close));
      stat_plain = std::min(stat_plain, per_call_ns(do_stat));
    }).join();
    weft::run([&] {
      open_off = std::min(open_off, per_call_ns([&] { weft::offload(open_close); }));
      stat_off = std::min(stat_off, per_call_ns([&] { weft::offload(do_stat); }));
    });
  }
  ::unlink(path);
  std::printf("open_close_plain_ns: %.0f\nopen_close_offloaded_ns: %.0f\nstat_plain_ns: %.0f\nstat_offloaded_ns: %.0f\n",
              open_plain, open_off, stat_plain, stat_off);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  std::string mode = argc > 1 ? argv[1] : "";
  long n = argc > 2 ? std::atol(argv[2]) : 0;
  if (mode == "wake") return wake(n ? n : 20000);
  if (mode == "fanout") return fanout(n ? n : 10000);
  if (mode == "imbalance") return imbalance(n ? n : 1);
  if (mode == "idle") return idle(n ? n : 5);
  if (mode == "offload") return offload(n ? n : 20000);
  if (mode == "pread") return pread_bench(n ? n : 200);
  if (mode == "write") return write_bench(n ? n : 20000);
  if (mode == "meta") return meta_bench(n ? n : 20000);
  std::fprintf(stderr, "usage: allcores_bench wake|fanout|imbalance|idle|offload|pread|write|meta [n]\n");
  return 2;
}
