// docs/examples/timeout_cancel.cpp — deadlines and cancellation
// (docs/api.md).
#include <weft/weft.hpp>

#include <cstdio>

using namespace std::chrono_literals;

int main() {
  return weft::run([] {
    weft::channel<int> never;
    // A timeout scope: every blocking wait inside throws timed_out once the
    // deadline passes (gevent's Timeout).
    bool timed_out = false;
    try {
      weft::timeout t(10ms);
      never.recv();
    } catch (const weft::timed_out&) {
      timed_out = true;
    }
    // A wait's own deadline returns false instead of throwing.
    weft::event ev;
    bool set = ev.wait_for(5ms);

    // cancel(): the fiber's current or next wait throws weft::cancelled,
    // which unwinds it (destructors run). It is not a std::exception.
    auto sleeper = weft::spawn([] { weft::this_fiber::sleep_for(1h); });
    weft::this_fiber::yield();
    sleeper.cancel();
    bool cancelled = false;
    try {
      sleeper.join();
    } catch (const weft::cancelled&) {
      cancelled = true;
    }
    std::printf("timed_out=%d set=%d cancelled=%d\n", timed_out, set, cancelled);
    return timed_out && !set && cancelled ? 0 : 1;
  });
}
