// docs/examples/run.cpp — weft::run: the entry into the fiber world
// (docs/api.md).
#include <weft/weft.hpp>

#include <cstdio>

int main() {
  weft::config cfg;
  cfg.workers = 2;  // two carrier threads; the default is one
  int answer = weft::run(cfg, [] {
    // This is the root fiber ("main"). run() returns its result once it has
    // ended and every other fiber has been cancelled and unwound.
    return 42;
  });
  std::printf("run returned %d\n", answer);
  return answer == 42 ? 0 : 1;
}
