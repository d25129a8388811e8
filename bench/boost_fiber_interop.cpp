// bench/boost_fiber_interop.cpp — Boost.Fiber inside weft (issue 15): in
// the same run, back to back in each round,
//   recv_weft:  a socketpair ping-pong between two weft fibers (hooked
//               read/write), ns per round trip;
//   recv_boost: the same between two Boost fibers of a host;
//   wake_weft:  a weft fiber and a weft fiber waking each other through
//               two weft::semaphore, ns per round trip (two wakes);
//   wake_boost: a weft fiber and a Boost fiber doing the same (a Boost
//               fiber waking a weft fiber, and back).
// All on one carrier. Prints the median of `rounds` rounds per figure.
//
//   boost_fiber_interop [iterations=20000] [rounds=5] [only=recv_weft|recv_boost|wake_weft|wake_boost]
// `only` runs one figure (for callgrind: instructions per round trip).
#include <weft/boost_fiber.hpp>
#include <weft/weft.hpp>

#include <boost/fiber/all.hpp>

#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

namespace {

using steady = std::chrono::steady_clock;
namespace bf = boost::fibers;

double ns_per(steady::time_point t0, int n) {
  return std::chrono::duration<double, std::nano>(steady::now() - t0).count() / n;
}

// pinger/ponger bodies: one byte each way over a socketpair.
void pong(int fd, int n) {
  char c;
  for (int i = 0; i < n; ++i) {
    if (read(fd, &c, 1) != 1 || write(fd, &c, 1) != 1) std::abort();
  }
}
double ping(int fd, int n) {
  char c = 'x';
  auto t0 = steady::now();
  for (int i = 0; i < n; ++i) {
    if (write(fd, &c, 1) != 1 || read(fd, &c, 1) != 1) std::abort();
  }
  return ns_per(t0, n);
}

double recv_weft(int n) {
  int sv[2];
  socketpair(AF_UNIX, SOCK_STREAM, 0, sv);
  auto p = weft::spawn([&] { pong(sv[1], n); });
  double r = ping(sv[0], n);
  p.join();
  close(sv[0]);
  close(sv[1]);
  return r;
}

double recv_boost(int n) {
  int sv[2];
  socketpair(AF_UNIX, SOCK_STREAM, 0, sv);
  double r = 0;
  {
    weft::boost_fiber::host h;
    bf::fiber p([&] { pong(sv[1], n); });
    bf::fiber q([&] { r = ping(sv[0], n); });
    p.join();
    q.join();
  }
  close(sv[0]);
  close(sv[1]);
  return r;
}

template <class Spawn>
double wake_pair(int n, Spawn spawn_other) {
  weft::semaphore a(0), b(0);
  spawn_other([&] {
    for (int i = 0; i < n; ++i) {
      a.acquire();
      b.release();
    }
  });
  auto t0 = steady::now();
  for (int i = 0; i < n; ++i) {
    a.release();
    b.acquire();
  }
  return ns_per(t0, n);
}

double wake_weft(int n) {
  weft::fiber<> f;
  double r = wake_pair(n, [&](auto fn) { f = weft::spawn(fn); });
  f.join();
  return r;
}

double wake_boost(int n) {
  // The measuring side is a weft fiber; the other side a Boost fiber.
  weft::boost_fiber::host h;
  double r = 0;
  weft::semaphore a(0), b(0);
  bf::fiber f([&] {
    for (int i = 0; i < n; ++i) {
      a.acquire();
      b.release();
    }
  });
  auto pinger = weft::spawn([&] {
    auto t0 = steady::now();
    for (int i = 0; i < n; ++i) {
      a.release();
      b.acquire();
    }
    r = ns_per(t0, n);
  });
  pinger.join();
  f.join();
  return r;
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

}  // namespace

int main(int argc, char** argv) {
  int n = argc > 1 ? std::atoi(argv[1]) : 20000;
  int rounds = argc > 2 ? std::atoi(argv[2]) : 5;
  if (argc > 3) {
    std::string only = argv[3];
    weft::run([&] {
      double r = only == "recv_weft" ? recv_weft(n) : only == "recv_boost" ? recv_boost(n)
               : only == "wake_weft" ? wake_weft(n) : only == "wake_boost" ? wake_boost(n) : -1;
      std::printf("%s: %.0f ns\n", only.c_str(), r);
    });
    return 0;
  }
  weft::run([&] {
    std::vector<double> rw, rb, ww, wb;
    for (int r = 0; r < rounds; ++r) {
      rw.push_back(recv_weft(n));
      rb.push_back(recv_boost(n));
      ww.push_back(wake_weft(n));
      wb.push_back(wake_boost(n));
    }
    std::printf("recv round trip, weft fibers:        %8.0f ns\n", median(rw));
    std::printf("recv round trip, Boost fibers:       %8.0f ns  (%.2fx)\n", median(rb), median(rb) / median(rw));
    std::printf("wake round trip, weft <-> weft:      %8.0f ns\n", median(ww));
    std::printf("wake round trip, weft <-> Boost:     %8.0f ns  (%.2fx)\n", median(wb), median(wb) / median(ww));
  });
}
