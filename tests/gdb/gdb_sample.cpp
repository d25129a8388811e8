// tests/gdb/gdb_sample.cpp — a program for tools/weft-gdb.py's test: named
// fibers parked in distinctive frames, then a stop in weft_sample_ready()
// where the test's gdb has a breakpoint; with --abort it then aborts to
// leave a core file.
#include <weft/weft.hpp>

#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <string_view>

extern "C" [[gnu::noinline]] void weft_sample_ready() { asm volatile("" ::: "memory"); }

namespace {
[[gnu::noinline]] void sample_park_on_event(weft::event& ev) {
  ev.wait();
  asm volatile("" ::: "memory");
}
[[gnu::noinline]] void sample_park_on_read(int fd) {
  char c;
  (void)!read(fd, &c, 1);
  asm volatile("" ::: "memory");
}
}  // namespace

int main(int argc, char** argv) {
  const bool dump_core = argc > 1 && std::string_view(argv[1]) == "--abort";
  weft::run([&] {
    using namespace std::chrono_literals;
    weft::event ev;
    int p[2];
    if (pipe(p) != 0) return 1;
    auto a = weft::spawn(weft::spawn_options{.name = "event-waiter"}, [&] { sample_park_on_event(ev); });
    auto b = weft::spawn(weft::spawn_options{.name = "pipe-reader"}, [&] { sample_park_on_read(p[0]); });
    auto c = weft::spawn(weft::spawn_options{.name = "sleeper"}, [] { weft::this_fiber::sleep_for(1h); });
    for (int i = 0; i < 10; ++i) weft::this_fiber::yield();
    weft_sample_ready();
    if (dump_core) std::abort();  // the kernel writes a core file (ulimit -c permitting)
    ev.set();
    (void)!write(p[1], "x", 1);
    a.join();
    b.join();
    c.cancel();
    try {
      c.join();
    } catch (const weft::cancelled&) {
    }
    return 0;
  });
}
