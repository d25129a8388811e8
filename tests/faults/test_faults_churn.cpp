// tests/faults/test_faults_churn.cpp — 10,000 connections opened, echoed,
// held and closed, 20 rounds, against a fiber-per-connection server: after
// the last round this process has the same open fds as after the first,
// and its RSS has not grown beyond a small slack. The clients run in a
// separate process (tests/faults/churn_client) so each side stays under the
// fd limit. WEFT_CHURN="CONNS ROUNDS" overrides the size for local runs.
#include "faults.hpp"
#include "helpers.hpp"

#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>

#include <cstdio>
#include <string>

using namespace weft_test;
using namespace weft_faults;

extern char** environ;

namespace {

// read_line() reads one short line from fd (hooked, parks the fiber).
bool read_line(int fd) {
  char c;
  while (::read(fd, &c, 1) == 1)
    if (c == '\n') return true;
  return false;
}

}  // namespace

TEST(FaultsChurn, FdsAndRssStableOverRounds) {
  int conns = 10000, rounds = 20;
  if (const char* e = std::getenv("WEFT_CHURN")) std::sscanf(e, "%d %d", &conns, &rounds);
  // The listener, the control pipes and the client process are made before
  // weft::run: fds a fiber creates are non-blocking for real (the hooks
  // emulate blocking), and a child would inherit them that way.
  int port = 0;
  int l = listen_tcp(&port, 4096);
  ASSERT_GE(l, 0);
  int to_child[2], from_child[2];
  ASSERT_EQ(::pipe2(to_child, O_CLOEXEC), 0);
  ASSERT_EQ(::pipe2(from_child, O_CLOEXEC), 0);
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_adddup2(&fa, to_child[0], 0);
  posix_spawn_file_actions_adddup2(&fa, from_child[1], 1);
  std::string p = std::to_string(port), n = std::to_string(conns), r = std::to_string(rounds);
  char* argv[] = {const_cast<char*>(CHURN_CLIENT), p.data(), n.data(), r.data(), nullptr};
  pid_t child;
  ASSERT_EQ(posix_spawn(&child, CHURN_CLIENT, &fa, nullptr, argv, environ), 0);
  posix_spawn_file_actions_destroy(&fa);
  ::close(to_child[0]);
  ::close(from_child[1]);

  weft::run([&] {
    std::atomic<int> live{0}, served{0};
    auto server = weft::spawn(weft::spawn_options{.name = "acceptor"}, [&] {
      for (;;) {
        int fd = ::accept4(l, nullptr, nullptr, SOCK_CLOEXEC);
        if (fd < 0) {
          if (errno == EBADF) return;
          continue;
        }
        ++live;
        weft::spawn(weft::spawn_options{.name = "conn"}, [&, fd] {
          char b[16];
          if (::read(fd, b, 1) == 1 && ::write(fd, b, 1) == 1) ++served;
          while (::read(fd, b, sizeof b) > 0) {
          }
          ::close(fd);
          --live;
        }).detach();
      }
    });

    int fds_first = 0;
    long rss_first = 0;
    for (int i = 0; i < rounds; ++i) {
      ASSERT_TRUE(read_line(from_child[0])) << "client failed in round " << i;
      ASSERT_TRUE(eventually([&] { return live.load() == 0; }, 10000ms)) << live.load() << " connections left";
      weft::this_fiber::sleep_for(100ms);  // idle: the stack pool trims what it keeps
      if (i == 0) {
        fds_first = open_fds();
        rss_first = rss_kib();
      }
      if (std::getenv("WEFT_CHURN_VERBOSE"))
        std::printf("round %d: fds %d, RSS %ld KiB\n", i + 1, open_fds(), rss_kib());
      ASSERT_EQ(::write(to_child[1], "G\n", 2), 2);
    }
    int fds_last = open_fds();
    long rss_last = rss_kib();
    int status = 0;
    ::waitpid(child, &status, 0);
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << "client status " << status;
    EXPECT_EQ(served.load(), conns * rounds);
    EXPECT_EQ(fds_last, fds_first);
#if !defined(__SANITIZE_ADDRESS__)  // ASan's quarantine holds freed memory by design
    EXPECT_LE(rss_last, rss_first + rss_first / 10 + 4096)
        << "RSS grew from " << rss_first << " KiB to " << rss_last << " KiB";
#endif
    std::printf("churn: %d x %d connections; fds %d -> %d; RSS %ld -> %ld KiB\n", conns, rounds, fds_first,
                fds_last, rss_first, rss_last);
    ::close(l);
    server.join();
  });
  ::close(to_child[1]);
  ::close(from_child[0]);
}
