// tests/watchdog.hpp — aborts the test process, naming the test, when a
// single test runs longer than a limit, so a hang fails fast and clearly.
//
// Including this header installs the watchdog (a gtest event listener with
// its own OS thread). The limit is 20 s, or WEFT_TEST_WATCHDOG_S seconds.
#pragma once
#include <gtest/gtest.h>

#include <unistd.h>

#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <string>
#include <thread>

namespace weft_test {

// A gtest listener that arms a deadline at each test start and disarms it
// at the test end; a background thread aborts the process if it passes.
// Installed once per process by the inline variable below.
class watchdog final : public ::testing::EmptyTestEventListener {
  using clock = std::chrono::steady_clock;
  std::mutex mu_;
  std::condition_variable cv_;
  std::chrono::seconds limit_;
  std::string current_;
  clock::time_point deadline_{};
  bool armed_ = false;
  bool stop_ = false;
  std::thread thread_;

  // The watchdog thread: sleeps until the armed deadline, aborts if the same
  // test is still running then.
  void loop() {
    std::unique_lock lk(mu_);
    while (!stop_) {
      if (!armed_) {
        cv_.wait(lk);
        continue;
      }
      if (clock::now() < deadline_) {
        cv_.wait_until(lk, deadline_);
        continue;
      }
      char msg[512];
      int n = std::snprintf(msg, sizeof msg,
                            "\n*** WATCHDOG: test %s ran longer than %lld s (hung?) — aborting ***\n",
                            current_.c_str(), static_cast<long long>(limit_.count()));
      if (n > 0) (void)!::write(2, msg, static_cast<std::size_t>(n) < sizeof msg ? n : sizeof msg - 1);
      std::abort();
    }
  }

 public:
  explicit watchdog(std::chrono::seconds limit) : limit_(limit) {}

  void OnTestProgramStart(const ::testing::UnitTest&) override {
    thread_ = std::thread([this] { loop(); });
  }
  void OnTestStart(const ::testing::TestInfo& info) override {
    std::lock_guard lk(mu_);
    current_ = std::string(info.test_suite_name()) + "." + info.name();
    deadline_ = clock::now() + limit_;
    armed_ = true;
    cv_.notify_all();
  }
  void OnTestEnd(const ::testing::TestInfo&) override {
    std::lock_guard lk(mu_);
    armed_ = false;
    cv_.notify_all();
  }
  void OnTestProgramEnd(const ::testing::UnitTest&) override {
    {
      std::lock_guard lk(mu_);
      stop_ = true;
      cv_.notify_all();
    }
    if (thread_.joinable()) thread_.join();
  }
};

// The per-test limit: WEFT_TEST_WATCHDOG_S seconds if set, else 20.
inline std::chrono::seconds watchdog_limit() {
  if (const char* s = std::getenv("WEFT_TEST_WATCHDOG_S")) {
    long v = std::strtol(s, nullptr, 10);
    if (v > 0) return std::chrono::seconds(v);
  }
  return std::chrono::seconds(20);
}

// Installs the watchdog before main() runs (gtest owns and deletes it).
inline const bool watchdog_installed = [] {
  ::testing::UnitTest::GetInstance()->listeners().Append(new watchdog(watchdog_limit()));
  return true;
}();

}  // namespace weft_test
