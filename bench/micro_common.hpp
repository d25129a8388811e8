// bench/micro_common.hpp — helpers shared by the C++ micro benchmarks
// (weft_micro.cpp, boost_fiber_micro.cpp): wall and CPU timing, RSS reading,
// callgrind markers and the --idle_fibers=N flag. Header-only; call from any
// thread.
#pragma once
#include <benchmark/benchmark.h>

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <string>
#include <unistd.h>

#if __has_include(<valgrind/callgrind.h>)
#include <valgrind/callgrind.h>
#define MICRO_HAVE_CALLGRIND 1
#endif

namespace micro {

// now_ns() is CLOCK_MONOTONIC in nanoseconds.
inline std::int64_t now_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

// cpu_ns() is the process's CPU time (user + system) in nanoseconds. The
// benchmarks are single-threaded, so on a shared, noisy machine this is the
// time they actually ran, without the time other processes took the core.
inline std::int64_t cpu_ns() {
  timespec ts;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return static_cast<std::int64_t>(ts.tv_sec) * 1000000000 + ts.tv_nsec;
}

// A start point of a timed region: wall and CPU clocks.
struct stamp {
  std::int64_t wall, cpu;
};

// rss_bytes() is the resident set size from /proc/self/statm (2nd field).
inline std::int64_t rss_bytes() {
  std::FILE* f = std::fopen("/proc/self/statm", "r");
  if (!f) return -1;
  long size = 0, resident = 0;
  int n = std::fscanf(f, "%ld %ld", &size, &resident);
  std::fclose(f);
  if (n != 2) return -1;
  return static_cast<std::int64_t>(resident) * sysconf(_SC_PAGESIZE);
}

// dump() (under callgrind only) writes the counters since begin() to a dump
// labelled "<label> ops=<ops>", for instructions per operation.
inline void dump(const char* label, std::int64_t ops) {
#ifdef MICRO_HAVE_CALLGRIND
  if (RUNNING_ON_VALGRIND) {
    char buf[128];
    std::snprintf(buf, sizeof buf, "%s ops=%lld", label, static_cast<long long>(ops));
    CALLGRIND_DUMP_STATS_AT(buf);
  }
#else
  (void)label;
  (void)ops;
#endif
}

// report() sets the counters of a timed region that started at t0 and did
// `ops` operations: "ns_per_op" (wall clock), "cpu_ns_per_op" (process CPU
// time) and "ops".
inline void report(benchmark::State& st, stamp t0, std::int64_t ops) {
  std::int64_t wall = now_ns() - t0.wall, cpu = cpu_ns() - t0.cpu;
  double n = ops > 0 ? static_cast<double>(ops) : 1.0;
  st.counters["ns_per_op"] = static_cast<double>(wall) / n;
  st.counters["cpu_ns_per_op"] = static_cast<double>(cpu) / n;
  st.counters["ops"] = static_cast<double>(ops);
}

// start() is now on both clocks.
inline stamp start() { return {now_ns(), cpu_ns()}; }

// begin() starts a timed region: under callgrind it zeroes the event
// counters, so the dump taken by end() holds only the timed loop. Returns
// start().
inline stamp begin() {
#ifdef MICRO_HAVE_CALLGRIND
  if (RUNNING_ON_VALGRIND) CALLGRIND_ZERO_STATS;
#endif
  return start();
}

// How many fibers the idle-memory benchmark spawns: --idle_fibers=N on the
// command line, else env MICRO_IDLE_FIBERS, else 1,000,000.
inline long idle_fibers = 1000000;

// parse_args() takes --idle_fibers=N out of argv (call after
// benchmark::Initialize, before ReportUnrecognizedArguments).
inline void parse_args(int* argc, char** argv) {
  if (const char* e = std::getenv("MICRO_IDLE_FIBERS")) idle_fibers = std::atol(e);
  int out = 1;
  for (int i = 1; i < *argc; ++i) {
    const char* p = "--idle_fibers=";
    if (std::strncmp(argv[i], p, std::strlen(p)) == 0) idle_fibers = std::atol(argv[i] + std::strlen(p));
    else argv[out++] = argv[i];
  }
  *argc = out;
  if (idle_fibers < 1) idle_fibers = 1;
}

// end() closes the region opened by begin() at t0: dumps callgrind
// counters as `label` and reports ns per op (the clocks are read after the
// dump request, which costs nothing outside valgrind).
inline void end(benchmark::State& st, const char* label, stamp t0, std::int64_t ops) {
  dump(label, ops);
  report(st, t0, ops);
}

// Fibers per batch in the "spawn 10k then join all" benchmark.
inline constexpr int batch = 10000;

}  // namespace micro

// MICRO_MAIN() is main(): Google Benchmark plus --idle_fibers.
#define MICRO_MAIN()                                                      \
  int main(int argc, char** argv) {                                       \
    benchmark::Initialize(&argc, argv);                                   \
    micro::parse_args(&argc, argv);                                       \
    if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;     \
    benchmark::RunSpecifiedBenchmarks();                                  \
    benchmark::Shutdown();                                                \
    return 0;                                                             \
  }
