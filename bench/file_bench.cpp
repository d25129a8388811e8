// bench/file_bench.cpp — issue 14's regular-file figures: 4 KiB random
// preads from 1,000 fibers of one carrier, hooked, on each way a file read
// can go: the page cache on the carrier (RWF_NOWAIT hits), the carrier's
// io_uring (backend uring) or the offload pool (backend epoll) on a miss,
// and every read forced through weft::offload. docs/performance.md reports
// them beside fio (bench/file_fio.sh runs both).
//
//   file_bench hot  FILE [reads_per_fiber]   FILE read once into the cache
//   file_bench cold FILE [reads_per_fiber]   POSIX_FADV_DONTNEED before each
//                                            variant: every read misses
// A FILE that does not exist is made (64 MiB, or the MiB given after the
// reads) and removed at the end; file_fio.sh makes its own. Prints "name: value" lines:
// reads per second of wall time and per CPU-second of the process (user +
// system, every thread: carriers, pool threads, io_uring workers), and a
// 1 ms ticker fiber's worst lateness during the run. Smoke: a small file.
#include <weft/weft.hpp>

#include <fcntl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

namespace {

using clk = std::chrono::steady_clock;

double cpu_s() {
  rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  return ru.ru_utime.tv_sec + ru.ru_stime.tv_sec + (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

struct figures {
  double per_s, per_cpu_s, worst_late_us;
};

// one_run() makes 1,000 fibers of `per_fiber` random 4 KiB preads each on
// fd, on one carrier with `backend`, through weft::offload if `offload`,
// with a 1 ms ticker fiber beside them.
figures one_run(int fd, off_t size, int per_fiber, const char* backend, bool offload) {
  constexpr int kFibers = 1000;
  figures out{};
  weft::config c;
  c.backend = backend;
  double cpu0 = cpu_s();
  auto t0 = clk::now();
  weft::run(c, [&] {
    bool stop = false;
    double worst = 0;
    auto tick = weft::spawn([&] {
      while (!stop) {
        auto a = clk::now();
        weft::this_fiber::sleep_for(std::chrono::milliseconds(1));
        worst = std::max(worst, std::chrono::duration<double, std::micro>(clk::now() - a).count() - 1000);
      }
    });
    std::vector<weft::fiber<void>> fs;
    fs.reserve(kFibers);
    const long blocks = size / 4096;
    for (int f = 0; f < kFibers; ++f)
      fs.push_back(weft::spawn(weft::spawn_options{.stack_size = 32 * 1024}, [&, f] {
        char buf[4096];
        std::uint64_t x = static_cast<std::uint64_t>(f) * 0x9E3779B97F4A7C15ull + 1;
        for (int i = 0; i < per_fiber; ++i) {
          x = x * 6364136223846793005ull + 1442695040888963407ull;
          off_t off = static_cast<off_t>((x >> 20) % static_cast<std::uint64_t>(blocks)) * 4096;
          ssize_t r = offload ? weft::offload([&] { return ::pread(fd, buf, sizeof buf, off); })
                              : ::pread(fd, buf, sizeof buf, off);
          if (r != 4096) std::perror("pread"), std::exit(1);
        }
      }));
    for (auto& f : fs) f.join();
    stop = true;
    tick.join();
    out.worst_late_us = worst;
  });
  double wall = std::chrono::duration<double>(clk::now() - t0).count();
  double cpu = cpu_s() - cpu0;
  double n = double(kFibers) * per_fiber;
  out.per_s = n / wall;
  out.per_cpu_s = n / cpu;
  return out;
}

void evict(int fd) { posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED); }

void warm(int fd, off_t size) {
  std::vector<char> b(1 << 20);
  for (off_t off = 0; off < size; off += static_cast<off_t>(b.size()))
    if (::pread(fd, b.data(), b.size(), off) <= 0) break;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 3) {
    std::fprintf(stderr, "usage: file_bench hot|cold FILE [reads_per_fiber]\n");
    return 2;
  }
  std::string mode = argv[1];
  int per_fiber = argc > 3 ? std::atoi(argv[3]) : (mode == "hot" ? 200 : 20);
  bool made = false;
  int fd = ::open(argv[2], O_RDONLY);
  if (fd < 0 && errno == ENOENT) {
    long mib = argc > 4 ? std::atol(argv[4]) : 64;
    int w = ::open(argv[2], O_WRONLY | O_CREAT | O_EXCL, 0600);
    std::vector<char> b(1 << 20, 'f');
    for (long i = 0; w >= 0 && i < mib; ++i)
      if (::write(w, b.data(), b.size()) != static_cast<ssize_t>(b.size())) return std::perror("write"), 1;
    if (w >= 0) fsync(w), ::close(w);
    made = true;
    fd = ::open(argv[2], O_RDONLY);
  }
  if (fd < 0) return std::perror(argv[2]), 1;
  struct stat st;
  fstat(fd, &st);
  struct variant {
    const char* name;
    const char* backend;
    bool offload;
  } variants[] = {{"epoll", "epoll", false}, {"uring", "uring", false}, {"offload", "epoll", true}};
  for (const variant& v : variants) {
    if (mode == "hot") warm(fd, st.st_size);
    else evict(fd);
    figures f = one_run(fd, st.st_size, per_fiber, v.backend, v.offload);
    std::printf("%s_%s_reads_per_s: %.0f\n%s_%s_reads_per_cpu_s: %.0f\n%s_%s_ticker_worst_late_us: %.0f\n",
                mode.c_str(), v.name, f.per_s, mode.c_str(), v.name, f.per_cpu_s, mode.c_str(), v.name,
                f.worst_late_us);
  }
  ::close(fd);
  if (made) ::unlink(argv[2]);
  return 0;
}
