// docs/examples/shared_mutex.cpp — a reader/writer cache and a recursive
// mutex (docs/api.md).
#include <weft/weft.hpp>

#include <cstdio>
#include <map>
#include <mutex>
#include <shared_mutex>
#include <string>
#include <vector>

int main() {
  weft::run([] {
    weft::shared_mutex m;
    std::map<std::string, int> cache;
    std::vector<weft::fiber<>> fs;
    fs.push_back(weft::spawn([&] {
      std::unique_lock w(m);  // one writer
      cache["answer"] = 42;
    }));
    for (int i = 0; i < 3; ++i)
      fs.push_back(weft::spawn([&] {
        std::shared_lock r(m);  // many readers at once
        std::printf("answer=%d\n", cache.count("answer") ? cache["answer"] : -1);
      }));
    for (auto& f : fs) f.join();

    weft::recursive_mutex rm;
    std::lock_guard a(rm);
    std::lock_guard b(rm);  // the owner may lock again
    std::printf("depth=%zu\n", rm.depth());
  });
}
