// tests/hooks/test_hooks_sleep.cpp — sleep, usleep, nanosleep and
// clock_nanosleep on fibers, linked mode: they park only the fiber (many
// sleepers finish in about one sleep), weft::timeout gives ETIMEDOUT and
// cancel ECANCELED (with the time left in *rem), bad arguments EINVAL, and
// plain threads sleep as usual.
#include "hooks_test.hpp"

#include <time.h>

#include <thread>
#include <vector>

using namespace hooks_test;

namespace {

using sleeper = int (*)(long ms);

int by_sleep(long ms) { return static_cast<int>(::sleep(static_cast<unsigned>(ms / 1000))); }
int by_usleep(long ms) { return ::usleep(static_cast<useconds_t>(ms * 1000)); }
int by_nanosleep(long ms) {
  timespec t{ms / 1000, (ms % 1000) * 1000000};
  return ::nanosleep(&t, nullptr);
}
int by_clock_nanosleep(long ms) {
  timespec t{ms / 1000, (ms % 1000) * 1000000};
  return ::clock_nanosleep(CLOCK_MONOTONIC, 0, &t, nullptr);
}
int by_clock_abstime(long ms) {
  timespec t;
  ::clock_gettime(CLOCK_REALTIME, &t);
  t.tv_nsec += (ms % 1000) * 1000000;
  t.tv_sec += ms / 1000 + t.tv_nsec / 1000000000;
  t.tv_nsec %= 1000000000;
  return ::clock_nanosleep(CLOCK_REALTIME, TIMER_ABSTIME, &t, nullptr);
}
int by_this_thread(long ms) {  // libstdc++ calls nanosleep
  std::this_thread::sleep_for(std::chrono::milliseconds(ms));
  return 0;
}

struct sleep_case {
  const char* name;
  sleeper fn;
  long ms;  // sleep() has whole seconds only
};

class Sleepers : public ::testing::TestWithParam<sleep_case> {};

TEST_P(Sleepers, TwentyFibersSleepAtOnce) {
  auto t0 = clock_type::now();
  weft::run([&] {
    std::vector<weft::fiber<int>> fs;
    for (int i = 0; i < 20; ++i) fs.push_back(weft::spawn([&] { return GetParam().fn(GetParam().ms); }));
    for (auto& f : fs) EXPECT_EQ(f.join(), 0);
  });
  long ms = ms_since(t0);
  EXPECT_GE(ms, GetParam().ms - 5);
  EXPECT_LT(ms, GetParam().ms * 5) << "the sleeps must overlap, not add up";
}

INSTANTIATE_TEST_SUITE_P(Hooks, Sleepers,
                         ::testing::Values(sleep_case{"sleep", by_sleep, 1000}, sleep_case{"usleep", by_usleep, 100},
                                           sleep_case{"nanosleep", by_nanosleep, 100},
                                           sleep_case{"clock_nanosleep", by_clock_nanosleep, 100},
                                           sleep_case{"clock_nanosleep_abstime", by_clock_abstime, 100},
                                           sleep_case{"this_thread_sleep_for", by_this_thread, 100}),
                         [](const auto& i) { return std::string(i.param.name); });

TEST(Sleep, WeftTimeoutGivesEtimedoutAndTheTimeLeft) {
  weft::run([] {
    {
      weft::timeout t(30ms);
      EXPECT_EQ(::usleep(1000000), -1);
      EXPECT_EQ(errno, ETIMEDOUT);
    }
    {
      weft::timeout t(30ms);
      timespec req{1, 0}, rem{};
      EXPECT_EQ(::nanosleep(&req, &rem), -1);
      EXPECT_EQ(errno, ETIMEDOUT);
      EXPECT_EQ(rem.tv_sec, 0);
      EXPECT_GT(rem.tv_nsec, 900000000);
    }
    {
      weft::timeout t(30ms);
      timespec req{1, 0}, rem{};
      EXPECT_EQ(::clock_nanosleep(CLOCK_MONOTONIC, 0, &req, &rem), ETIMEDOUT);
      EXPECT_GT(rem.tv_nsec, 900000000);
    }
    {
      weft::timeout t(30ms);
      EXPECT_EQ(::sleep(3), 2u) << "sleep returns the whole seconds left (2.97 s: truncated, as glibc does)";
      EXPECT_EQ(errno, ETIMEDOUT);
    }
  });
}

TEST(Sleep, CancelGivesEcanceled) {
  weft::run([] {
    res r;
    auto f = weft::spawn([&] {
      r.r = ::usleep(5000000);
      r.err = errno;
    });
    weft::this_fiber::sleep_for(10ms);
    auto t0 = clock_type::now();
    cancel_and_join(f);
    EXPECT_LT(ms_since(t0), 1000);
    EXPECT_EQ(r.r, -1);
    EXPECT_EQ(r.err, ECANCELED);
  });
}

TEST(Sleep, BadArgumentsAndZeroLengthSleeps) {
  weft::run([] {
    timespec bad{0, 1000000000};
    EXPECT_EQ(::nanosleep(&bad, nullptr), -1);
    EXPECT_EQ(errno, EINVAL);
    EXPECT_EQ(::clock_nanosleep(CLOCK_MONOTONIC, 0, &bad, nullptr), EINVAL);
    // A zero sleep yields: another ready fiber runs before it returns.
    bool ran = false;
    auto f = weft::spawn([&] { ran = true; });
    EXPECT_EQ(::usleep(0), 0);
    EXPECT_TRUE(ran);
    f.join();
  });
}

TEST(Sleep, PlainThreadsSleepAsUsual) {
  auto t0 = clock_type::now();
  EXPECT_EQ(::usleep(30000), 0);
  timespec t{0, 30000000};
  EXPECT_EQ(::nanosleep(&t, nullptr), 0);
  EXPECT_GE(ms_since(t0), 58);
}

}  // namespace
