// docs/examples/wait_any.cpp — the first of several fibers, then all of
// them, with a deadline (docs/api.md).
#include <weft/weft.hpp>

#include <cstdio>
#include <vector>

using namespace std::chrono_literals;

int main() {
  return weft::run([] {
    std::vector<weft::fiber<int>> mirrors;
    for (int ms : {30, 10, 20})
      mirrors.push_back(weft::spawn([ms] {
        weft::this_fiber::sleep_for(std::chrono::milliseconds(ms));
        return ms;
      }));
    auto first = weft::wait_any_in(mirrors, 1s);  // the index of the first to end
    std::printf("first: mirror %zu\n", *first);
    weft::event stop;
    bool all = weft::wait_all_in(mirrors, 1s);  // every one, or false after 1 s
    auto which = weft::wait_any_for(5ms, stop, mirrors[0]);  // mixed kinds
    std::printf("all=%d which=%zu\n", all, which.value_or(9));
    for (auto& m : mirrors) m.join();
    return *first == 1 && all && which == 1u ? 0 : 1;
  });
}
