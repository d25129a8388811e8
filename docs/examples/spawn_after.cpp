// docs/examples/spawn_after.cpp — a delayed call and a cancelled one
// (docs/api.md).
#include <weft/weft.hpp>

#include <cstdio>

using namespace std::chrono_literals;

int main() {
  return weft::run([] {
    auto reminder = weft::spawn_after(10ms, [] { return 1; });
    auto never = weft::spawn_after(1h, [] { std::puts("not printed"); });
    never.cancel();  // before the delay: the function never runs
    try {
      never.join();
    } catch (const weft::cancelled&) {
      std::puts("cancelled before it ran");
    }
    return reminder.join() == 1 ? 0 : 1;
  });
}
