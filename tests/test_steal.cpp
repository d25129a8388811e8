// tests/test_steal.cpp — work stealing among the carriers of one run
// (config::workers > 1): fibers that have not started are taken by idle
// carriers, a fiber never changes thread once it has run, cancel reaches a
// fiber whatever the carrier that starts it, shutdown ends unstarted fibers,
// and a carrier stuck in computation does not hold back the fibers it has
// not started.
#include "helpers.hpp"

#include <atomic>
#include <memory>
#include <set>
#include <thread>
#include <vector>

using namespace weft_test;

namespace {

// spin() computes for d without any call that could switch.
void spin(std::chrono::microseconds d) {
  for (auto t0 = steady::now(); steady::now() - t0 < d;) {
  }
}

thread_local int tl_marker;

// Sizes: smaller under the sanitizers, whose switches and atomics cost ~50×.
#if defined(__SANITIZE_THREAD__) || defined(__SANITIZE_ADDRESS__)
constexpr int kScale = 10;
#else
constexpr int kScale = 1;
#endif

}  // namespace

// 10,000 fibers (1,000 under sanitizers), spawned from fibers on every
// carrier (every tenth spawns nine more), each run exactly once, with 1, 2
// and 4 workers; at each of its 100 resumes (10^6 switches in all) a fiber
// checks that its thread, its errno slot and its thread-local addresses are
// those of its first run; with more than one worker, more than one carrier
// runs them.
class StealWorkers : public ::testing::TestWithParam<unsigned> {};

TEST_P(StealWorkers, EveryFiberRunsOnceAndKeepsItsThread) {
  constexpr int kOuter = 1000 / kScale, kInner = 9, kResumes = 100;
  auto runs = std::make_unique<std::atomic<int>[]>(kOuter * (kInner + 1));
  std::atomic<long> moved{0}, resumes{0};
  std::atomic<pid_t> seen[2] = {0, 0};
  auto body = [&](int id) {
    pid_t t = carrier_tid();
    int* e = &errno;
    int* m = &tl_marker;
    runs[id].fetch_add(1);
    spin(std::chrono::microseconds(id % 7 == 0 ? 200 : 5));
    long bad = 0;
    for (int k = 0; k < kResumes; ++k) {
      if (k == 50) weft::this_fiber::sleep_for(100us);
      else weft::this_fiber::yield();
      bad += carrier_tid() != t || &errno != e || &tl_marker != m;
    }
    moved.fetch_add(bad);
    resumes.fetch_add(kResumes);
    pid_t none = 0;
    if (!seen[0].compare_exchange_strong(none, t) && seen[0].load() != t) seen[1].store(t);
  };
  weft::config c;
  c.workers = GetParam();
  weft::run(c, [&] {
    std::vector<weft::fiber<void>> outer;
    for (int i = 0; i < kOuter; ++i)
      outer.push_back(weft::spawn(weft::spawn_options{.stack_size = 16 * 1024}, [&, i] {
        body(i * (kInner + 1));
        std::vector<weft::fiber<void>> inner;
        for (int j = 1; j <= kInner; ++j)
          inner.push_back(weft::spawn(weft::spawn_options{.stack_size = 16 * 1024},
                                      [&, id = i * (kInner + 1) + j] { body(id); }));
        for (auto& f : inner) f.join();
      }));
    for (auto& f : outer) f.join();
  });
  for (int i = 0; i < kOuter * (kInner + 1); ++i) ASSERT_EQ(runs[i].load(), 1) << "fiber " << i;
  EXPECT_EQ(resumes.load(), long{kOuter} * (kInner + 1) * kResumes);
  EXPECT_EQ(moved.load(), 0);
  EXPECT_NE(seen[0].load(), 0);
  if (GetParam() > 1) {
    EXPECT_NE(seen[1].load(), 0) << "every fiber ran on one carrier";
  }
}

INSTANTIATE_TEST_SUITE_P(Workers, StealWorkers, ::testing::Values(1u, 2u, 4u),
                         [](const auto& i) { return std::to_string(i.param); });

// A plain thread has no carrier to put a fiber on: spawn from it is a
// usage_error, and nothing runs.
TEST(Steal, SpawnFromAPlainThreadIsAUsageError) {
  std::atomic<int> ran{0};
  weft::run(two_workers(), [&] {
    std::thread t([&] {
      EXPECT_THROW(weft::spawn([&] { ran.fetch_add(1); }), weft::usage_error);
    });
    t.join();
  });
  EXPECT_EQ(ran.load(), 0);
}

// Fibers cancelled right after spawn, while the other carrier steals and
// starts some of them: each one that started reaches its 30 s sleep and is
// cancelled there, each one that had not ends at its first run; none is
// missed (a missed cancel would leave its join waiting 30 s).
TEST(Steal, CancelReachesFibersWhereverTheyStart) {
  for (int round = 0; round < 20; ++round) {
    constexpr int kFibers = 200 / kScale;
    std::atomic<int> started{0};
    int cancelled = 0;
    auto t0 = steady::now();
    weft::run(two_workers(), [&] {
      std::vector<weft::fiber<void>> fs;
      for (int i = 0; i < kFibers; ++i)
        fs.push_back(weft::spawn(weft::spawn_options{.stack_size = 16 * 1024}, [&] {
          started.fetch_add(1);
          weft::this_fiber::sleep_for(30s);
        }));
      spin(std::chrono::microseconds(round * 20));  // the other carrier steals meanwhile
      for (auto& f : fs) f.cancel();
      for (auto& f : fs) {
        try {
          f.join();
        } catch (const weft::cancelled&) {
          ++cancelled;
        }
      }
    });
    EXPECT_EQ(cancelled, kFibers) << "round " << round << ", " << started.load() << " started";
    EXPECT_LT(elapsed_ms(t0), 5000) << "round " << round;
  }
}

// run() returns promptly when the root ends while thousands of fibers sit
// unstarted in the spawn queues: each either ran to its sleep and was
// cancelled there, or ended at its first run without running its function.
TEST(Steal, ShutdownEndsUnstartedFibers) {
  for (int round = 0; round < 10; ++round) {
    auto ran = std::make_shared<std::atomic<int>>(0);
    auto unwound = std::make_shared<std::atomic<int>>(0);
    auto t0 = steady::now();
    weft::run(two_workers(), [&] {
      for (int i = 0; i < 3000 / kScale; ++i)
        weft::spawn(weft::spawn_options{.stack_size = 16 * 1024}, [ran, unwound] {
          count_on_destroy c{unwound.get()};
          ran->fetch_add(1);
          weft::this_fiber::sleep_for(60s);
        }).detach();
    });
    EXPECT_LT(elapsed_ms(t0), 5000) << "round " << round;
    EXPECT_EQ(unwound->load(), ran->load()) << "a fiber that ran was not unwound";
  }
}

// A fiber that computes for 300 ms without switching holds its carrier; the
// fibers spawned after it on that carrier, not started yet, are stolen and
// finish on the other carrier long before it ends.
TEST(Steal, StuckCarrierDoesNotHoldBackUnstartedFibers) {
  for (int round = 0; round < 5; ++round) {
    std::atomic<bool> spinner_done{false};
    std::atomic<int> finished_before{0};
    pid_t spinner_tid = 0;
    std::set<pid_t> others;
    weft::run(two_workers(), [&] {
      auto spinner = spawn_elsewhere([&] {
        spinner_tid = carrier_tid();
        std::vector<weft::fiber<pid_t>> fs;
        for (int i = 0; i < 20; ++i)
          fs.push_back(weft::spawn([&] {
            weft::this_fiber::sleep_for(1ms);
            if (!spinner_done.load()) finished_before.fetch_add(1);
            return carrier_tid();
          }));
        spin(std::chrono::milliseconds(300));
        spinner_done = true;
        for (auto& f : fs) others.insert(f.join());
      });
      spinner.join();
    });
    EXPECT_EQ(finished_before.load(), 20) << "round " << round;
    EXPECT_EQ(others.count(spinner_tid), 0u) << "round " << round;
  }
}

// A fiber that only yields, on a carrier whose neighbour is busy (nobody
// steals), still lets the fibers it spawned start: the periodic maintenance
// of a yield starts some of the spawn queue.
TEST(Steal, YieldingFiberLetsItsUnstartedFibersRun) {
  std::atomic<int> ran{0};
  bool all_ran = false;
  weft::run(two_workers(), [&] {
    std::atomic<bool> hog_on{false}, hog_done{false};
    auto hog = spawn_elsewhere([&] {
      hog_on = true;
      spin(std::chrono::milliseconds(300));
      hog_done = true;
    });
    while (!hog_on.load()) weft::this_fiber::yield();
    std::vector<weft::fiber<void>> fs;
    for (int i = 0; i < 10; ++i) fs.push_back(weft::spawn([&] { ran.fetch_add(1); }));
    while (ran.load() < 10 && !hog_done.load()) weft::this_fiber::yield();
    all_ran = ran.load() == 10 && !hog_done.load();  // before the other carrier could steal them
    for (auto& f : fs) f.join();
    hog.join();
  });
  EXPECT_TRUE(all_ran) << ran.load() << " of 10 ran while their spawner yielded, but only after the other carrier was free";
}
