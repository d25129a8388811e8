// tests/hooks/test_hooks_signal_storm.cpp — SIGALRM every 100 µs while
// 1,000 fibers do I/O: every byte arrives intact, nothing hangs, and EINTR
// shows up only where libc would give it: the root fiber's parked calls
// that the handler's flags let the signal end, and a poll whose own
// syscall the signal landed in (poll is never restarted, on any thread).
// A fleet fiber's read never fails with EINTR: its parked reads are not the
// signal's target, and its non-blocking tries cannot be interrupted.
#include "hooks_test.hpp"

#include <sys/time.h>

#include <atomic>
#include <cstring>
#include <vector>

using namespace hooks_test;

namespace {

std::atomic<long> g_alarms{0};
void on_alarm(int) { ++g_alarms; }

// storm() arms SIGALRM every 100 µs (handler with or without SA_RESTART)
// for its lifetime.
struct storm {
  explicit storm(bool restart) {
    struct sigaction a{};
    a.sa_handler = on_alarm;
    a.sa_flags = restart ? SA_RESTART : 0;
    sigemptyset(&a.sa_mask);
    sigaction(SIGALRM, &a, nullptr);
    itimerval it{{0, 100}, {0, 100}};
    setitimer(ITIMER_REAL, &it, nullptr);
  }
  ~storm() {
    itimerval off{};
    setitimer(ITIMER_REAL, &off, nullptr);
    signal(SIGALRM, SIG_IGN);
  }
};

constexpr int kPairs = 500, kRounds = 20, kSize = 256;

// echo_fleet() runs kPairs client/server fiber pairs over socketpairs: each
// client sends kRounds messages of kSize bytes and checks the echo; servers
// sleep a little now and then. Returns {intact round trips, reads that
// failed with EINTR}; polls that fail with EINTR are retried.
std::pair<long, long> echo_fleet() {
  std::atomic<long> ok{0}, eintr{0};
  std::vector<weft::fiber<>> fs;
  for (int p = 0; p < kPairs; ++p) {
    int sv[2];
    if (::socketpair(AF_UNIX, SOCK_STREAM, 0, sv) != 0) break;
    fs.push_back(weft::spawn([&, fd = sv[1]] {
      char buf[kSize];
      for (int r = 0; r < kRounds; ++r) {
        ssize_t got = 0;
        while (got < kSize) {
          ssize_t n = ::read(fd, buf + got, kSize - got);
          if (n < 0 && errno == EINTR) ++eintr;
          if (n <= 0) return;
          got += n;
        }
        if (r % 5 == 0) ::usleep(200);
        if (::write(fd, buf, kSize) != kSize) return;
      }
      ::close(fd);
    }));
    fs.push_back(weft::spawn([&, fd = sv[0], p] {
      char out[kSize], in[kSize];
      for (int r = 0; r < kRounds; ++r) {
        for (int i = 0; i < kSize; ++i) out[i] = static_cast<char>(p * 31 + r * 7 + i);
        if (::write(fd, out, kSize) != kSize) return;
        ssize_t got = 0;
        while (got < kSize) {
          pollfd q{fd, POLLIN, 0};
          int pr = ::poll(&q, 1, 5000);
          if (pr < 0 && errno != EINTR) return;
          if (pr <= 0) continue;
          ssize_t n = ::read(fd, in + got, kSize - got);
          if (n < 0 && errno == EINTR) ++eintr;
          if (n <= 0) return;
          got += n;
        }
        if (std::memcmp(in, out, kSize) == 0) ++ok;
      }
      ::close(fd);
    }));
  }
  for (auto& f : fs) f.join();
  return {ok.load(), eintr.load()};
}

}  // namespace

// With SA_RESTART the fleet's reads never fail with EINTR, and every round
// trip is intact.
TEST(SignalStorm, ThousandFibersWithRestartHandler) {
  long before = g_alarms;
  std::pair<long, long> r;
  weft::run([&] {
    storm s(true);
    r = echo_fleet();
  });
  EXPECT_EQ(r.first, long(kPairs) * kRounds);
  EXPECT_EQ(r.second, 0) << "a read of a fiber other than the root failed with EINTR";
  EXPECT_GT(g_alarms - before, 10) << "the storm did not blow";
}

// Without SA_RESTART the root's own blocking calls get EINTR (as the
// main thread's would), and retrying them works; the fleet is unaffected.
TEST(SignalStorm, RootSeesEintrOthersDoNot) {
  long root_eintr = 0;
  std::pair<long, long> r;
  weft::run([&] {
    storm s(false);
    auto fleet = weft::spawn([&] { r = echo_fleet(); });
    int p[2];
    ASSERT_EQ(::pipe(p), 0);
    auto writer = weft::spawn([&] {
      for (int i = 0; i < 50; ++i) {
        weft::this_fiber::sleep_for(2ms);
        (void)!::write(p[1], "x", 1);
      }
    });
    int got = 0;
    while (got < 50) {
      char c;
      ssize_t n = ::read(p[0], &c, 1);
      if (n == 1) ++got;
      else if (n < 0 && errno == EINTR) ++root_eintr;
      else break;
    }
    EXPECT_EQ(got, 50);
    writer.join();
    fleet.join();
    ::close(p[0]);
    ::close(p[1]);
  });
  EXPECT_EQ(r.first, long(kPairs) * kRounds);
  EXPECT_EQ(r.second, 0) << "a read of a fiber other than the root failed with EINTR";
  EXPECT_GT(root_eintr, 0) << "the root's read was never interrupted";
}
