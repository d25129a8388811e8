// docs/examples/channel.cpp — Go-style channels between fibers and a plain
// thread (docs/api.md).
#include <weft/weft.hpp>

#include <cstdio>
#include <thread>

int main() {
  return weft::run([] {
    weft::channel<int> jobs(16);  // buffered; channel<int> c; is a rendezvous
    weft::channel<int> results;
    auto worker = weft::spawn([&] {
      for (int j : jobs) results.send(j * j);  // until jobs is closed and drained
      results.close();
    });
    std::thread producer([&] {  // plain threads may send and receive too
      for (int j = 1; j <= 4; ++j) jobs.send(j);
      jobs.close();
    });
    int sum = 0;
    while (auto r = results.recv()) sum += *r;  // nullopt once closed
    producer.join();
    worker.join();
    std::printf("sum=%d\n", sum);
    return sum == 30 ? 0 : 1;
  });
}
