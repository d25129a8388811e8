// tests/faults/test_faults_io.cpp — peers that go away and fds that vanish
// under waiting fibers: resets in the middle of reads and writes (many at
// once), half-close, SIGPIPE left as libc's, close-while-waiting from another
// fiber and from another thread, EMFILE at accept.
#include "faults.hpp"
#include "helpers.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/resource.h>

#include <atomic>
#include <thread>
#include <vector>

using namespace weft_test;
using namespace weft_faults;

namespace {
std::atomic<int> g_sigpipes{0};
void count_sigpipe(int) { g_sigpipes.fetch_add(1); }
}  // namespace

// 200 fibers blocked in read; every peer resets: each read fails with
// ECONNRESET, none hangs.
TEST(Faults, PeerResetMidReadUnderLoad) {
  weft::run([] {
    constexpr int n = 200;
    std::vector<std::pair<int, int>> pairs;
    for (int i = 0; i < n; ++i) pairs.push_back(tcp_pair());
    std::atomic<int> resets{0};
    std::vector<weft::fiber<>> readers;
    for (auto [c, s] : pairs)
      readers.push_back(weft::spawn([&resets, s = s] {
        char b[16];
        ssize_t r = ::read(s, b, sizeof b);
        if (r < 0 && errno == ECONNRESET) resets.fetch_add(1);
      }));
    settle();
    for (auto [c, s] : pairs) reset_close(c);
    for (auto& f : readers) f.join();
    EXPECT_EQ(resets.load(), n);
    for (auto [c, s] : pairs) ::close(s);
  });
}

// 100 fibers blocked in write on full buffers; the peers reset: each write
// fails with ECONNRESET or EPIPE (hooks_test.hpp ignores SIGPIPE), none hangs.
TEST(Faults, PeerResetMidWriteUnderLoad) {
  weft::run([] {
    constexpr int n = 100;
    std::vector<std::pair<int, int>> pairs;
    for (int i = 0; i < n; ++i) {
      pairs.push_back(tcp_pair());
      fill(pairs.back().second, pairs.back().first);  // small buffers, already full
    }
    std::atomic<int> failed{0};
    std::vector<weft::fiber<>> writers;
    for (auto [c, s] : pairs)
      writers.push_back(weft::spawn([&failed, s = s] {
        static char junk[1 << 16];
        for (;;) {
          ssize_t r = ::write(s, junk, sizeof junk);
          if (r < 0) {
            if (errno == ECONNRESET || errno == EPIPE) failed.fetch_add(1);
            return;
          }
        }
      }));
    weft::this_fiber::sleep_for(20ms);  // all writers are blocked on full buffers
    for (auto [c, s] : pairs) reset_close(c);
    for (auto& f : writers) f.join();
    EXPECT_EQ(failed.load(), n);
    for (auto [c, s] : pairs) ::close(s);
  });
}

// After the peer's shutdown(SHUT_WR) a blocked reader sees EOF, and the
// connection still carries data the other way.
TEST(Faults, HalfCloseGivesEofAndKeepsTheOtherDirection) {
  weft::run([] {
    auto [c, s] = tcp_pair();
    auto server = weft::spawn([s = s] {
      char b[8];
      EXPECT_EQ(::read(s, b, sizeof b), 0);  // EOF
      EXPECT_EQ(::write(s, "bye", 3), 3);
      ::close(s);
    });
    settle();
    ASSERT_EQ(::shutdown(c, SHUT_WR), 0);
    char b[8] = {};
    EXPECT_EQ(::read(c, b, sizeof b), 3);
    EXPECT_STREQ(b, "bye");
    server.join();
    ::close(c);
  });
}

// Writing to a reset socket raises SIGPIPE exactly as libc would (the
// hooks neither block nor swallow it); MSG_NOSIGNAL suppresses it.
TEST(Faults, SigpipeIsLibcs) {
  struct sigaction sa {}, old{};
  sa.sa_handler = count_sigpipe;
  sigaction(SIGPIPE, &sa, &old);
  weft::run([] {
    auto [c, s] = tcp_pair();
    reset_close(c);
    weft::this_fiber::sleep_for(5ms);
    char b[4];
    (void)::read(s, b, sizeof b);  // consumes the reset
    int before = g_sigpipes.load();
    EXPECT_EQ(::write(s, "x", 1), -1);
    EXPECT_EQ(errno, EPIPE);
    EXPECT_EQ(g_sigpipes.load(), before + 1);
    EXPECT_EQ(::send(s, "x", 1, MSG_NOSIGNAL), -1);
    EXPECT_EQ(errno, EPIPE);
    EXPECT_EQ(g_sigpipes.load(), before + 1);
    ::close(s);
  });
  sigaction(SIGPIPE, &old, nullptr);
}

// close() from another fiber wakes fibers waiting in read, write and accept
// on that fd with EBADF.
TEST(Faults, CloseWhileWaitingFromAnotherFiber) {
  weft::run([] {
    auto [c, s] = tcp_pair();
    auto [c2, s2] = tcp_pair();
    fill(s2, c2);
    int port = 0;
    int l = listen_tcp(&port, 4096);
    std::atomic<int> ebadf{0};
    auto expect_ebadf = [&](ssize_t r) {
      if (r < 0 && errno == EBADF) ebadf.fetch_add(1);
    };
    auto reader = weft::spawn([&, s = s] {
      char b[8];
      expect_ebadf(::read(s, b, sizeof b));
    });
    auto writer = weft::spawn([&, s2 = s2] {
      static char junk[1 << 16];
      for (;;) {
        ssize_t r = ::write(s2, junk, sizeof junk);
        if (r < 0) return expect_ebadf(r);
      }
    });
    auto acceptor = weft::spawn([&] { expect_ebadf(::accept(l, nullptr, nullptr)); });
    weft::this_fiber::sleep_for(20ms);
    auto closer = weft::spawn([&, s = s, s2 = s2] {
      ::close(s);
      ::close(s2);
      ::close(l);
    });
    closer.join();
    reader.join();
    writer.join();
    acceptor.join();
    EXPECT_EQ(ebadf.load(), 3);
    ::close(c);
    ::close(c2);
  });
}

// close() from a plain thread (no scheduler) while a fiber waits in read:
// the fiber wakes with EBADF (runtime/sched_registry.hpp).
TEST(Faults, CloseWhileWaitingFromAnotherThread) {
  weft::run([] {
    auto [c, s] = tcp_pair();
    std::atomic<bool> done{false};
    auto reader = weft::spawn([&, s = s] {
      char b[8];
      ssize_t r = ::read(s, b, sizeof b);
      EXPECT_EQ(r, -1);
      EXPECT_EQ(errno, EBADF);
      done = true;
    });
    settle();
    std::thread([s = s] { ::close(s); }).join();
    // Bounded: the watchdog would abort a hang; fail clearly before that.
    bool ok = eventually([&] { return done.load(); }, 3000ms);
    EXPECT_TRUE(ok) << "a fiber waiting in read on an fd closed by another thread was not woken";
    if (!ok) reader.cancel();
    try {
      reader.join();
    } catch (const weft::cancelled&) {
    }
    ::close(c);
  });
}

// With the fd limit reached, accept fails with EMFILE (it does not hang or
// spin), and the server accepts the waiting client once fds are freed: one
// for the connection, two for the epoll set and eventfd weft makes at its
// first wait, one spare (UBSan's memory checks open a pipe).
TEST(Faults, EmfileAtAcceptThenKeepsServing) {
  rlimit old{};
  getrlimit(RLIMIT_NOFILE, &old);
  weft::run([&] {
    int port = 0;
    int l = listen_tcp(&port, 4096);
    int c1 = connect_tcp(port);
    ASSERT_GE(c1, 0);
    // Fill the table: everything up to the (lowered) limit is in use.
    rlimit low = old;
    low.rlim_cur = static_cast<rlim_t>(open_fds() + 8);
    ASSERT_EQ(setrlimit(RLIMIT_NOFILE, &low), 0);
    std::vector<int> hogs;
    for (int fd; (fd = ::open("/dev/null", O_RDONLY | O_CLOEXEC)) >= 0;) hogs.push_back(fd);
    ASSERT_EQ(errno, EMFILE);
    EXPECT_EQ(::accept(l, nullptr, nullptr), -1);
    EXPECT_EQ(errno, EMFILE);
    for (int i = 0; i < 5; ++i) {
      ::close(hogs.back());
      hogs.pop_back();
    }
    int a = ::accept(l, nullptr, nullptr);
    EXPECT_GE(a, 0) << "accept after freeing an fd: errno " << errno;
    // And it goes on serving: an echo over the accepted connection.
    auto echo = weft::spawn([a] {
      char b;
      if (::read(a, &b, 1) == 1) (void)!::write(a, &b, 1);
    });
    char r = 0;
    EXPECT_EQ(::write(c1, "e", 1), 1);
    EXPECT_EQ(::read(c1, &r, 1), 1);
    EXPECT_EQ(r, 'e');
    echo.join();
    for (int fd : hogs) ::close(fd);
    ::close(a);
    ::close(c1);
    ::close(l);
    setrlimit(RLIMIT_NOFILE, &old);
  });
}
