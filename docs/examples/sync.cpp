// docs/examples/sync.cpp — mutex, condition_variable, event, semaphore,
// wait_group (docs/api.md).
#include <weft/weft.hpp>

#include <cstdio>
#include <mutex>
#include <vector>

int main() {
  return weft::run([] {
    weft::mutex m;
    weft::condition_variable cv;
    int counter = 0;
    weft::semaphore slots(2);  // at most two fibers in the "expensive" part
    weft::wait_group wg;
    weft::event start;
    std::vector<weft::fiber<>> fs;
    for (int i = 0; i < 5; ++i) {
      wg.add();
      fs.push_back(weft::spawn([&] {
        start.wait();  // every worker waits for the starting gun
        slots.acquire();
        {
          std::lock_guard l(m);
          ++counter;
        }
        cv.notify_all();
        slots.release();
        wg.done();
      }));
    }
    start.set();
    {
      std::unique_lock l(m);
      cv.wait(l, [&] { return counter == 5; });
    }
    wg.wait();
    for (auto& f : fs) f.join();
    std::printf("counter=%d\n", counter);
    return counter == 5 ? 0 : 1;
  });
}
