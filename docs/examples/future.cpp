// docs/examples/future.cpp — promise/future and spawn_future (docs/api.md).
#include <weft/weft.hpp>

#include <cstdio>
#include <thread>

int main() {
  return weft::run([] {
    // A plain thread computes; a fiber waits without blocking its carrier.
    weft::promise<int> p;
    weft::future<int> f = p.get_future();
    std::thread worker([&] { p.set_value(6 * 7); });
    int v = f.get();
    worker.join();

    // A fiber's result as a future.
    auto g = weft::spawn_future([] { return std::string("done"); });
    std::printf("%d %s\n", v, g.get().c_str());
    return v == 42 ? 0 : 1;
  });
}
