// docs/examples/spawn_join.cpp — spawn, join, detach, groups (docs/api.md).
#include <weft/weft.hpp>

#include <atomic>
#include <cstdio>
#include <stdexcept>

using namespace std::chrono_literals;

int main() {
  return weft::run([] {
    weft::fiber<int> f = weft::spawn([] {
      weft::this_fiber::sleep_for(1ms);  // parks this fiber, not the thread
      return 6 * 7;
    });
    auto bad = weft::spawn([]() -> int { throw std::runtime_error("boom"); });
    weft::spawn(weft::spawn_options{.name = "background"}, [] { weft::this_fiber::yield(); }).detach();

    int v = f.join();  // the result, or what the fiber threw
    try {
      bad.join();
    } catch (const std::runtime_error& e) {
      std::printf("bad: %s\n", e.what());
    }

    std::atomic<int> done{0};
    {
      weft::group g(4);  // at most 4 members run at once
      for (int i = 0; i < 10; ++i) g.spawn([&] { done++; });
      g.wait();  // all members ended; rethrows the first member error
    }
    std::printf("v=%d, %d group members ran\n", v, done.load());
    return v == 42 && done == 10 ? 0 : 1;
  });
}
