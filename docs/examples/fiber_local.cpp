// docs/examples/fiber_local.cpp — a request id per fiber (docs/api.md).
#include <weft/weft.hpp>

#include <cstdio>
#include <string>
#include <vector>

weft::fiber_local<std::string> request_id;  // one per fiber, made empty on first use

void log_line(const char* what) { std::printf("[%s] %s\n", request_id->c_str(), what); }

int main() {
  weft::run([] {
    std::vector<weft::fiber<>> fs;
    for (int i = 0; i < 3; ++i)
      fs.push_back(weft::spawn([i] {
        *request_id = "req-" + std::to_string(i);
        weft::this_fiber::yield();  // other fibers run; each keeps its own id
        log_line("handled");
      }));  // each fiber's string is destroyed when the fiber ends
    for (auto& f : fs) f.join();
  });
}
