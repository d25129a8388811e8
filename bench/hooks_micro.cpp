// bench/hooks_micro.cpp — the cost of a hooked read/write on a ready socket.
//
// One "op" is a 1-byte write then a 1-byte read on an AF_UNIX socketpair
// whose data is always ready, measured three ways in each round, back to
// back: the raw syscalls (syscall(2), no libc wrapper, no hook), the hooked
// calls off a fiber (they must pass straight through), and the hooked calls
// on a fiber (try first; the fd is ready, so they never park). Prints the
// median over rounds of each per-round ratio against the raw syscalls.
// Usage: hooks_micro [ops_per_round] [rounds]   (defaults 200000, 7)
#include <weft/weft.hpp>

#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <vector>

namespace {

using clk = std::chrono::steady_clock;

// time_ops() runs `ops` write+read pairs with the given calls; ns per op.
template <class W, class R>
double time_ops(long ops, W wr, R rd) {
  int sv[2];
  if (::socketpair(AF_UNIX, SOCK_STREAM, 0, sv) != 0) std::abort();
  char c = 'x';
  auto t0 = clk::now();
  for (long i = 0; i < ops; ++i) {
    if (wr(sv[0], &c) != 1 || rd(sv[1], &c) != 1) std::abort();
  }
  double ns = std::chrono::duration<double, std::nano>(clk::now() - t0).count() / ops;
  ::close(sv[0]);
  ::close(sv[1]);
  return ns;
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

}  // namespace

int main(int argc, char** argv) {
  long ops = argc > 1 ? std::atol(argv[1]) : 200000;
  int rounds = argc > 2 ? std::atoi(argv[2]) : 7;
  auto raw_w = [](int fd, char* c) { return syscall(SYS_write, fd, c, 1); };
  auto raw_r = [](int fd, char* c) { return syscall(SYS_read, fd, c, 1); };
  auto hk_w = [](int fd, char* c) { return ::write(fd, c, 1); };
  auto hk_r = [](int fd, char* c) { return ::read(fd, c, 1); };
  std::vector<double> raw, off, on, off_ratio, on_ratio;
  for (int r = 0; r < rounds; ++r) {
    std::fprintf(stderr, "round %d/%d\n", r + 1, rounds);
    double a = time_ops(ops, raw_w, raw_r);
    double b = time_ops(ops, hk_w, hk_r);
    double c = weft::run([&] { return time_ops(ops, hk_w, hk_r); });
    raw.push_back(a);
    off.push_back(b);
    on.push_back(c);
    off_ratio.push_back(b / a);
    on_ratio.push_back(c / a);
  }
  std::printf("| calls | ns per write+read (median of %d rounds) | ratio to raw syscalls (median of per-round ratios) |\n",
              rounds);
  std::printf("|---|---|---|\n");
  std::printf("| raw syscall(2) | %.1f | 1.00 |\n", median(raw));
  std::printf("| hooked, off a fiber | %.1f | %.3f |\n", median(off), median(off_ratio));
  std::printf("| hooked, on a fiber | %.1f | %.3f |\n", median(on), median(on_ratio));
  return 0;
}
