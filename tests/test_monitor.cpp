// tests/test_monitor.cpp — the blocking monitor (config::monitor_ms,
// WEFT_MONITOR_MS) reports a fiber that holds its carrier, once, with its
// name and the carrier's backtrace; switching or idle carriers are quiet.
#include "helpers.hpp"
#include "stderr_capture.hpp"

#include <stdlib.h>

#include <regex>

using namespace weft_test;

namespace {

// hog_the_carrier(d) burns CPU for d without switching.
[[gnu::noinline]] void hog_the_carrier(std::chrono::milliseconds d) {
  auto t0 = steady::now();
  volatile unsigned long x = 0;
  while (steady::now() - t0 < d) x = x + 1;
}

// count(text, needle) counts occurrences.
int count(const std::string& text, const std::string& needle) {
  int n = 0;
  for (auto p = text.find(needle); p != std::string::npos; p = text.find(needle, p + 1)) ++n;
  return n;
}

}  // namespace

// A fiber spinning for 400 ms with a 50 ms threshold is reported exactly
// once, by name, with a backtrace through the spinning function.
TEST(Monitor, ReportsAFiberHoldingItsCarrierOnce) {
  stderr_capture cap;
  weft::run(weft::config{.monitor_ms = 50}, [] {
    weft::spawn(weft::spawn_options{.name = "cpu-hog"}, [] { hog_the_carrier(400ms); }).join();
  });
  std::string text = cap.text();
  EXPECT_EQ(count(text, "weft: monitor: fiber"), 1) << text;
  EXPECT_TRUE(std::regex_search(text, std::regex("fiber [0-9]+ \"cpu-hog\" has held its carrier for [0-9]+ ms")))
      << text;
  EXPECT_NE(text.find("carrier backtrace"), std::string::npos) << text;
  EXPECT_NE(text.find("test_monitor"), std::string::npos) << text;
}

// Two blocking episodes separated by a switch give two reports.
TEST(Monitor, EachEpisodeIsReported) {
  stderr_capture cap;
  weft::run(weft::config{.monitor_ms = 50}, [] {
    weft::spawn(weft::spawn_options{.name = "twice"}, [] {
      hog_the_carrier(250ms);
      weft::this_fiber::sleep_for(20ms);
      hog_the_carrier(250ms);
    }).join();
  });
  std::string text = cap.text();
  EXPECT_EQ(count(text, "\"twice\" has held"), 2) << text;
}

// Fibers that switch often, and an idle carrier, are never reported. (The
// threshold is well above a 2 ms slice plus what a loaded machine may add
// by descheduling the carrier thread.)
TEST(Monitor, SwitchingAndIdleCarriersAreQuiet) {
  stderr_capture cap;
  weft::run(weft::config{.monitor_ms = 250}, [] {
    auto busy = [] {
      auto t0 = steady::now();
      while (steady::now() - t0 < 600ms) {
        hog_the_carrier(2ms);
        weft::this_fiber::yield();
      }
    };
    auto a = weft::spawn(busy), b = weft::spawn(busy);
    a.join();
    b.join();
    weft::this_fiber::sleep_for(600ms);  // idle in the poller
  });
  std::string text = cap.text();
  EXPECT_EQ(count(text, "weft: monitor"), 0) << text;
}

// WEFT_MONITOR_MS must be a positive number.
TEST(Monitor, BadEnvironmentValueIsAUsageError) {
  setenv("WEFT_MONITOR_MS", "soon", 1);
  EXPECT_THROW(weft::run([] {}), weft::usage_error);
  unsetenv("WEFT_MONITOR_MS");
}
