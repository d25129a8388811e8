// tests/test_monitor.cpp — the blocking monitor (config::monitor_ms,
// WEFT_MONITOR_MS) reports a fiber that holds its carrier, once, with its
// name and the carrier's backtrace; switching or idle carriers are quiet.
#include "helpers.hpp"
#include "stderr_capture.hpp"

#include <stdlib.h>

#include <atomic>
#include <fstream>
#include <regex>
#include <sstream>
#include <vector>
#include <unistd.h>

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

// file_text() is the whole content of a file ("" if it cannot be read).
std::string file_text(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// A fiber spinning for 400 ms with a 50 ms threshold is reported exactly
// once, by name, in one short line on stderr that says where the backtrace
// through the spinning function went.
TEST(Monitor, ReportsAFiberHoldingItsCarrierOnce) {
  stderr_capture cap;
  weft::run(weft::config{.monitor_ms = 50}, [] {
    weft::spawn(weft::spawn_options{.name = "cpu-hog"}, [] { hog_the_carrier(400ms); }).join();
  });
  std::string text = cap.text();
  EXPECT_EQ(count(text, "weft: monitor: fiber"), 1) << text;
  EXPECT_EQ(count(text, "\n"), 1) << "one line per report: " << text;
  std::smatch m;
  ASSERT_TRUE(std::regex_search(
      text, m, std::regex("fiber [0-9]+ \"cpu-hog\" held its carrier [0-9]+ ms.*; backtrace in (/[^ \n]+)")))
      << text;
  std::string bt = file_text(m[1]);
  EXPECT_NE(bt.find("cpu-hog"), std::string::npos) << bt;
  EXPECT_NE(bt.find("test_monitor"), std::string::npos) << "the backtrace runs through the hog: " << bt;
  ::unlink(std::string(m[1]).c_str());
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
  EXPECT_EQ(count(text, "\"twice\" held"), 2) << text;
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

// With two carriers both held, the report of the one that spawned fibers
// and then computed says how many of them have not started and are left to
// the other carriers (which steal them once they are free).
TEST(Monitor, ReportCountsUnstartedFibersLeftToOtherCarriers) {
  stderr_capture cap;
  weft::config c{.monitor_ms = 50};
  c.workers = 2;
  std::atomic<int> ran{0};
  weft::run(c, [&] {
    auto spawner = spawn_elsewhere([&] {
      std::vector<weft::fiber<void>> fs;
      for (int i = 0; i < 5; ++i) fs.push_back(weft::spawn([&] { ran.fetch_add(1); }));
      hog_the_carrier(300ms);
      for (auto& f : fs) f.join();
    });
    hog_the_carrier(300ms);  // this carrier is held too: nobody steals meanwhile
    spawner.join();
  });
  EXPECT_EQ(ran.load(), 5);
  std::string text = cap.text();
  EXPECT_NE(text.find("; 5 fiber(s) spawned there and not started yet are left to the other carriers"),
            std::string::npos)
      << text;
}
