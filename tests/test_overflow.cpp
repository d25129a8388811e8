// tests/test_overflow.cpp — a fiber that runs off its stack dies with a
// report naming it; any other segfault keeps its previous/default action.
#include "helpers.hpp"

#include <gmock/gmock.h>

#include <signal.h>
#include <unistd.h>

using namespace weft_test;
using ::testing::HasSubstr;
using ::testing::Not;

namespace {

// recurse() burns ~1 KiB of stack per level until something stops it.
[[gnu::noinline]] int recurse(long n) {
  volatile char buf[1024];
  buf[0] = static_cast<char>(n);
  if (n > 1000000000L) return buf[0];
  return recurse(n + 1) + buf[0];
}

int* volatile g_bad = reinterpret_cast<int*>(16);  // an unmapped address

// overflow_in_fiber(name, stack) runs weft and overflows a fiber's stack.
void overflow_in_fiber(const char* name, std::size_t stack) {
  weft::run([&] {
    auto f = weft::spawn(weft::spawn_options{.name = name, .stack_size = stack}, [] { return recurse(0); });
    (void)f.join();
  });
}

void segv_in_fiber() {
  weft::run([] {
    weft::spawn(weft::spawn_options{.name = "wild"}, [] { *g_bad = 1; }).join();
  });
}

void previous_handler(int) {
  static const char msg[] = "previous handler ran\n";
  (void)!write(2, msg, sizeof msg - 1);
  _exit(7);
}

}  // namespace

class Overflow : public ::testing::Test {
 protected:
  void SetUp() override { GTEST_FLAG_SET(death_test_style, "threadsafe"); }
};

// The report names the fiber, its stack size, the fault address and prints
// a backtrace, then the process aborts.
TEST_F(Overflow, ReportsFiberNameSizeAddressAndBacktrace) {
  EXPECT_EXIT(overflow_in_fiber("conn-handler", 0), ::testing::KilledBySignal(SIGABRT),
              "weft: fiber [0-9]+ \"conn-handler\" overflowed its 64 KiB stack.*"
              "fault address 0x[0-9a-f]+.*backtrace.*test_overflow");
}

// The size in the report is the fiber's own stack size.
TEST_F(Overflow, ReportsTheFibersOwnStackSize) {
  EXPECT_EXIT(overflow_in_fiber("big", 256 * 1024), ::testing::KilledBySignal(SIGABRT),
              "fiber [0-9]+ \"big\" overflowed its 256 KiB stack");
}

// A wild pointer in a fiber is not an overflow: the action that was there
// before weft runs (the default: death by SIGSEGV; under ASan, ASan's own
// SEGV report), and weft prints nothing.
TEST_F(Overflow, OtherSegfaultKeepsThePreviousAction) {
#if defined(__SANITIZE_ADDRESS__)
  EXPECT_EXIT(segv_in_fiber(), ::testing::ExitedWithCode(1), "AddressSanitizer: SEGV");
#else
  EXPECT_EXIT(segv_in_fiber(), ::testing::KilledBySignal(SIGSEGV), Not(HasSubstr("overflowed")));
#endif
}

// A handler the program installed before weft still gets other segfaults.
TEST_F(Overflow, OtherSegfaultGoesToThePreviousHandler) {
  EXPECT_EXIT(
      {
        signal(SIGSEGV, previous_handler);
        segv_in_fiber();
      },
      ::testing::ExitedWithCode(7), "previous handler ran");
}

// Without a fault, a deep but bounded recursion is fine (the handler and
// alternate stack change nothing on the normal path).
TEST(OverflowNormal, DeepRecursionWithinTheStackRuns) {
  weft::run([] {
    auto f = weft::spawn(weft::spawn_options{.name = "deep", .stack_size = 1024 * 1024}, [] {
      std::function<int(int)> down = [&](int n) { volatile char b[512]; b[0] = 1; return n ? down(n - 1) + b[0] : 0; };
      return down(200);
    });
    EXPECT_EQ(f.join(), 200);
  });
}
