// tests/test_dump_signal.cpp — WEFT_DUMP_SIGNAL prints the fiber dump, with
// backtraces, from the scheduler when the signal arrives (meson runs this
// with WEFT_DUMP_SIGNAL=SIGUSR2); a bad value is a usage_error.
#include "helpers.hpp"
#include "stderr_capture.hpp"

#include <signal.h>
#include <stdlib.h>

using namespace weft_test;

// The dump names the signal and the fibers, with a backtrace per fiber.
TEST(DumpSignal, SignalPrintsTheDumpFromTheScheduler) {
  weft::run([] {
    auto f = weft::spawn(weft::spawn_options{.name = "sleepy-one"}, [] { weft::this_fiber::sleep_for(10s); });
    settle();
    stderr_capture cap;
    ASSERT_EQ(kill(getpid(), SIGUSR2), 0);
    std::string text;
    EXPECT_TRUE(eventually([&] { return (text = cap.peek()).find("#0 0x") != std::string::npos; }, 5000ms));
    text = cap.text();
    EXPECT_NE(text.find("\"sleepy-one\" parked, sleep"), std::string::npos) << text;
    EXPECT_NE(text.find("dump on signal"), std::string::npos) << text;
    EXPECT_NE(text.find("USR2"), std::string::npos) << text;
    EXPECT_NE(text.find("sleep "), std::string::npos) << text;
    EXPECT_NE(text.find("#0 0x"), std::string::npos) << text;
    f.cancel();
    EXPECT_THROW(f.join(), weft::cancelled);
  });
}

// Two signals in a row give (at least) one more dump; the process lives on.
TEST(DumpSignal, RepeatedSignalsKeepWorking) {
  weft::run([] {
    for (int i = 0; i < 2; ++i) {
      stderr_capture cap;
      ASSERT_EQ(kill(getpid(), SIGUSR2), 0);
      std::string text;
      EXPECT_TRUE(eventually([&] { return (text = cap.peek()).find("dump on signal") != std::string::npos; }, 5000ms));
      text = cap.text();
      EXPECT_NE(text.find("\"main\""), std::string::npos) << text;
    }
  });
}

// An unknown signal name is rejected with a clear usage_error.
TEST(DumpSignal, BadValueIsAUsageError) {
  const char* old = getenv("WEFT_DUMP_SIGNAL");
  std::string keep = old ? old : "";
  setenv("WEFT_DUMP_SIGNAL", "SIGNOTHING", 1);
  try {
    weft::run([] {});
    ADD_FAILURE() << "no usage_error";
  } catch (const weft::usage_error& e) {
    EXPECT_NE(std::string(e.what()).find("WEFT_DUMP_SIGNAL"), std::string::npos) << e.what();
  }
  setenv("WEFT_DUMP_SIGNAL", keep.c_str(), 1);
}
