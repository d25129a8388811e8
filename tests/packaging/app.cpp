// tests/packaging/app.cpp — the consumer program every packaging test builds
// against an installed (or subproject) weft. Prints "weft consumer: sum=5050"
// and exits 0 when fibers, a channel and join work.
#include <weft/weft.hpp>

#include <cstdio>

int main() {
  int sum = weft::run([] {
    weft::channel<int> ch(4);
    auto producer = weft::spawn([&] {
      for (int i = 1; i <= 100; ++i) ch.send(i);
      ch.close();
    });
    int s = 0;
    for (int v : ch) s += v;
    producer.join();
    return s;
  });
  std::printf("weft consumer: sum=%d\n", sum);
  return sum == 5050 ? 0 : 1;
}
