// docs/examples/select.cpp — Go's select: a worker takes jobs until told
// to quit; the main fiber collects results until none came for 50 ms
// (docs/api.md).
#include <weft/weft.hpp>

#include <cstdio>
#include <optional>

using namespace std::chrono_literals;

int main() {
  return weft::run([] {
    weft::channel<int> jobs, results(8), quit;
    auto worker = weft::spawn([&] {
      for (bool done = false; !done;)
        weft::select(weft::on_recv(jobs, [&](int j) { results.send(j * j); }),
                     weft::on_recv(quit, [&](std::optional<int>) { done = true; }));  // closed: stop
    });
    for (int j = 1; j <= 3; ++j) jobs.send(j);
    int sum = 0;
    for (bool idle = false; !idle;)
      weft::select(weft::on_recv(results, [&](int r) { sum += r; }),
                   weft::after(50ms, [&] { idle = true; }));
    quit.close();
    worker.join();
    std::printf("sum of squares: %d\n", sum);
    return sum == 14 ? 0 : 1;
  });
}
