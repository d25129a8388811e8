// docs/examples/loop.cpp — loop watchers beside fibers (docs/api.md).
#include <weft/weft.hpp>

#include <fcntl.h>
#include <unistd.h>

#include <cstdio>
#include <thread>

using namespace std::chrono_literals;

int main() {
  return weft::run([] {
    int p[2];
    if (pipe2(p, O_NONBLOCK | O_CLOEXEC) != 0) return 1;
    int bytes = 0, ticks = 0, wakes = 0;
    weft::event done;
    // Callbacks run on this carrier's loop, without a fiber each; they must not block.
    auto in = weft::loop::io(p[0], weft::loop::readable, [&](unsigned) {
      char buf[64];
      for (ssize_t n; (n = read(p[0], buf, sizeof buf)) > 0;) bytes += int(n);
      if (bytes == 3) done.set();  // non-blocking weft calls are fine
    });
    auto tick = weft::loop::timer(1ms, 1ms, [&] { ++ticks; });
    auto wake = weft::loop::async([&] { ++wakes; });
    std::thread t([&] { wake.send(); });  // send() from any thread
    (void)!write(p[1], "abc", 3);
    done.wait();
    t.join();
    while (wakes == 0 || ticks < 2) weft::this_fiber::sleep_for(1ms);
    std::printf("read %d bytes, %d ticks, %d async wake(s)\n", bytes, ticks, wakes);
    close(p[0]);
    close(p[1]);
    return 0;
  });  // the handles stop their watchers as they go out of scope
}
