// bench/process_bench.cpp [children] [signals] — weft::process and
// weft::signal_channel costs, printed one figure a line:
//   * `children` `echo` children at once on one carrier (spawn,
//     communicate, reap), wall time per child, beside the same children
//     one after another;
//   * a caught signal's trip from raise() to the fiber receiving it from a
//     signal_channel (handler, eventfd, delivery thread, channel wake-up),
//     median and 99th percentile over `signals` rounds.
// Run with `perf stat -e task-clock,raw_syscalls:sys_enter` for CPU and
// syscalls (docs/performance.md, "Processes and signals").
#include <weft/weft.hpp>

#include <signal.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

namespace {

using steady = std::chrono::steady_clock;

double us_since(steady::time_point t0) { return std::chrono::duration<double, std::micro>(steady::now() - t0).count(); }

// echo_child() runs `echo i` through communicate; false if the output or status is wrong.
bool echo_child(int i) {
  weft::process p({"echo", std::to_string(i)}, {.out = weft::stdio::pipe});
  auto r = p.communicate();
  return r.out == std::to_string(i) + "\n" && r.status && r.status->success();
}

}  // namespace

int main(int argc, char** argv) {
  int children = argc > 1 ? std::atoi(argv[1]) : 200;
  int signals = argc > 2 ? std::atoi(argv[2]) : 2000;
  int bad = 0;
  weft::run([&] {
    auto t0 = steady::now();
    {
      weft::group g;
      for (int i = 0; i < children; ++i) g.spawn([&, i] { bad += !echo_child(i); });
      g.wait();
    }
    double together = us_since(t0);
    t0 = steady::now();
    for (int i = 0; i < children; ++i) bad += !echo_child(i);
    double serial = us_since(t0);
    std::printf("echo children at once:     %d, %.0f us each (wall)\n", children, together / children);
    std::printf("echo children one by one:  %d, %.0f us each (wall)\n", children, serial / children);

    weft::signal_channel sigs({SIGUSR1});
    std::vector<double> trip;
    trip.reserve(static_cast<std::size_t>(signals));
    for (int i = 0; i < signals; ++i) {
      auto s0 = steady::now();
      ::raise(SIGUSR1);
      if (sigs.recv() != SIGUSR1) ++bad;
      trip.push_back(us_since(s0));
    }
    std::sort(trip.begin(), trip.end());
    if (!trip.empty())
      std::printf("signal raise -> recv:      median %.1f us, p99 %.1f us (%d rounds)\n", trip[trip.size() / 2],
                  trip[trip.size() * 99 / 100], signals);
  });
  if (bad) std::fprintf(stderr, "process_bench: %d wrong results\n", bad);
  return bad ? 1 : 0;
}
