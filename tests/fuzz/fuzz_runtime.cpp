// tests/fuzz/fuzz_runtime.cpp — a fuzz target for the runtime: the input is
// a byte program that spawns fibers which yield, send and receive on
// channels (with deadlines), lock a mutex, sleep under weft::timeout, wait
// on an event, cancel, join and close, in an order the bytes choose.
// Invariants checked on every input:
//   - every fiber ends (run() returns; a hang trips the alarm below),
//   - every value sent successfully is received exactly once (or drained
//     after close), nothing else is received,
//   - the mutex is never held by two fibers at once,
//   - each fiber ends normally, cancelled or timed out — nothing else,
//   - no fiber is left alive after run() (dump is empty) and, under ASan,
//     nothing leaks.
// Built two ways: with -DWEFT_LIBFUZZER (clang -fsanitize=fuzzer) it is a
// libFuzzer target; otherwise main() feeds it PRNG-made programs for a
// bounded time (WEFT_FUZZ_SECONDS, default 3; WEFT_FUZZ_SEED), which is what
// CI runs with gcc.
#include <weft/weft.hpp>

#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <sstream>
#include <vector>

namespace {

using namespace std::chrono_literals;

[[noreturn]] void fail(const char* what) {
  std::fprintf(stderr, "fuzz_runtime: invariant broken: %s\n", what);
  std::abort();
}

// The shared world of one input.
struct world {
  weft::channel<std::uint32_t> ch{2};
  weft::mutex m;
  bool in_critical = false;
  weft::event ev;
  std::uint64_t sent_sum = 0, recv_sum = 0;
  std::uint32_t next_value = 1;
  std::vector<weft::fiber<>> fibers;
};

// reader walks the input bytes; past the end it yields zeros.
struct reader {
  const std::uint8_t* p;
  std::size_t n, i = 0;
  std::uint8_t next() { return i < n ? p[i++] : 0; }
  bool done() const { return i >= n; }
};

// One step a fiber takes, chosen by a byte.
void step(world& w, std::uint8_t op, std::uint8_t arg) {
  switch (op % 8) {
    case 0:
      weft::this_fiber::yield();
      break;
    case 1: {
      std::uint32_t v = w.next_value++;
      weft::timeout t{std::chrono::microseconds(50 + arg * 20)};
      if (w.ch.send(v)) w.sent_sum += v;
      break;
    }
    case 2: {
      weft::timeout t{std::chrono::microseconds(50 + arg * 20)};
      if (auto v = w.ch.recv()) w.recv_sum += *v;
      break;
    }
    case 3: {
      std::lock_guard g(w.m);
      if (w.in_critical) fail("two fibers inside the mutex");
      w.in_critical = true;
      struct leave {
        bool& flag;
        ~leave() { flag = false; }  // also when yield() throws cancelled
      } l{w.in_critical};
      if (arg & 1) weft::this_fiber::yield();
      break;
    }
    case 4: {
      weft::timeout t{std::chrono::microseconds(arg * 10)};
      weft::this_fiber::sleep_for(std::chrono::microseconds(arg * 20));
      break;
    }
    case 5:
      (void)w.ev.wait_for(std::chrono::microseconds(arg * 10));
      break;
    case 6:
      if (arg & 1) w.ev.set();
      else w.ev.clear();
      break;
    default:
      weft::this_fiber::sleep_for(std::chrono::microseconds(arg));
      break;
  }
}

// run_program() interprets one input inside weft::run.
void run_program(const std::uint8_t* data, std::size_t size) {
  world w;
  int ended_badly = 0;
  weft::run([&] {
    reader in{data, size};
    while (!in.done()) {
      std::uint8_t op = in.next();
      switch (op % 6) {
        case 0:
        case 1: {  // spawn a fiber running a slice of the program
          if (w.fibers.size() >= 64) break;
          std::vector<std::uint8_t> script;
          for (int k = 0, len = 2 + in.next() % 16; k < len; ++k) script.push_back(in.next());
          w.fibers.push_back(weft::spawn([&w, &ended_badly, script = std::move(script)] {
            try {
              for (std::size_t k = 0; k + 1 < script.size(); k += 2) step(w, script[k], script[k + 1]);
            } catch (const weft::cancelled&) {
              throw;
            } catch (const weft::timed_out&) {
            } catch (...) {
              ++ended_badly;
            }
          }));
          break;
        }
        case 2: {
          std::uint8_t a = in.next(), b = in.next();
          try {
            step(w, a, b);
          } catch (const weft::timed_out&) {
          }
          break;
        }
        case 3:  // cancel one
          if (!w.fibers.empty()) w.fibers[in.next() % w.fibers.size()].cancel();
          break;
        case 4:  // join one
          if (!w.fibers.empty()) {
            std::size_t k = in.next() % w.fibers.size();
            try {
              w.fibers[k].join();
            } catch (const weft::cancelled&) {
            }
            w.fibers.erase(w.fibers.begin() + static_cast<long>(k));
          }
          break;
        case 5:
          weft::this_fiber::yield();
          break;
      }
    }
    // Close: blocked senders/receivers wake; drain what is buffered.
    w.ch.close();
    while (auto v = w.ch.recv()) w.recv_sum += *v;
    w.ev.set();
    for (auto& f : w.fibers) {
      try {
        f.join();
      } catch (const weft::cancelled&) {
      }
    }
    std::ostringstream os;
    weft::dump(os);
    if (os.str().find("fiber(s)") == std::string::npos) fail("dump has no header");
  });
  if (ended_badly) fail("a fiber ended with an unexpected exception");
  if (w.sent_sum != w.recv_sum) fail("values sent and received differ");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  run_program(data, size);
  return 0;
}

#ifndef WEFT_LIBFUZZER
// main() runs PRNG-made inputs for WEFT_FUZZ_SECONDS; alarm() turns a hang
// of one input into a failure (SIGALRM's default action kills the process).
int main() {
  const char* s = std::getenv("WEFT_FUZZ_SECONDS");
  const double seconds = s ? std::atof(s) : 3.0;
  const char* seed_env = std::getenv("WEFT_FUZZ_SEED");
  const std::uint64_t seed = seed_env ? std::strtoull(seed_env, nullptr, 10) : 20261122;
  std::mt19937_64 rng(seed);
  auto t0 = std::chrono::steady_clock::now();
  long inputs = 0;
  while (std::chrono::steady_clock::now() - t0 < std::chrono::duration<double>(seconds)) {
    std::vector<std::uint8_t> input(rng() % 512);
    for (auto& b : input) b = static_cast<std::uint8_t>(rng());
    alarm(10);
    LLVMFuzzerTestOneInput(input.data(), input.size());
    ++inputs;
  }
  alarm(0);
  std::printf("fuzz_runtime: %ld inputs in %.1f s (seed %llu), all invariants held\n", inputs, seconds,
              static_cast<unsigned long long>(seed));
  return inputs > 0 ? 0 : 1;
}
#endif
