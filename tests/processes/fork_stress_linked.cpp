// tests/processes/fork_stress_linked.cpp — the fork/pipe stress cycles of
// stress_cycle.h in linked mode: a program linked with libweft, four fibers
// doing cycles at once inside weft::run (so the hooks park them while the
// others run; with WEFT_WORKERS=2, on two carriers).
//   fork_stress_linked CYCLES SEED    prints "cycles=N failures=0"
#include "stress_cycle.h"

#include <weft/weft.hpp>

#include <atomic>
#include <cstdio>
#include <cstring>
#include <vector>

int main(int argc, char** argv) {
  if (argc >= 4 && std::strcmp(argv[1], "child") == 0)
    stress_child_body(std::atoi(argv[2]), std::strtoull(argv[3], nullptr, 10));
  if (argc < 3) return 2;
  int cycles = std::atoi(argv[1]);
  std::uint64_t seed = std::strtoull(argv[2], nullptr, 10);
  std::atomic<int> failures{0}, done{0};
  weft::run([&] {
    constexpr int fibers = 4;
    std::vector<weft::fiber<void>> fs;
    for (int f = 0; f < fibers; ++f)
      fs.push_back(weft::spawn([&, f] {
        std::uint64_t s = (seed + 7919 * (f + 1)) | 1;
        for (int i = f; i < cycles; i += fibers) {
          if (const char* err = stress_cycle(argv[0], static_cast<int>(stress_rand(&s) % 3), &s)) {
            if (failures.fetch_add(1) < 5) std::fprintf(stderr, "fiber %d cycle %d: %s\n", f, i, err);
          }
          done.fetch_add(1);
        }
      }));
    for (auto& f : fs) f.join();
  });
  std::printf("cycles=%d failures=%d\n", done.load(), failures.load());
  return failures != 0;
}
