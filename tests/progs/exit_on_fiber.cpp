// exit() called on a fiber ends the process with that status: thread-local
// destructors run while fibers are alive and must not trip an invariant.
// Run by meson as `sh -c 'prog; [ $? -eq 3 ]'`.
#include <weft/weft.hpp>

#include <cstdlib>

int main() {
  weft::run([] {
    auto other = weft::spawn([] { weft::this_fiber::sleep_for(std::chrono::hours(1)); });
    std::exit(3);
  });
  return 0;  // not reached
}
