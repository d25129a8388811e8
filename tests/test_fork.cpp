// fork() inside weft::run: the child gets its own poller objects and goes on
// using weft (fd waits, timers); the parent's fibers are unaffected.
#include "helpers.hpp"

#include <weft/weft.hpp>

#include <gtest/gtest.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstring>

using namespace std::chrono_literals;

namespace {

// Both processes wait on fds registered before the fork; each must be woken
// by its own writes only.
TEST(Fork, ChildAndParentKeepWorking) {
  weft::run([] {
    int sv[2];
    ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv), 0);
    // Register sv[0] with the parent's poller before forking.
    EXPECT_FALSE(weft::wait_io_for(sv[0], weft::io_event::readable, 10ms));
    pid_t pid = ::fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
      // Child: keep polling its poller for 300 ms. Had it kept the epoll set
      // shared with the parent, its epoll_wait calls would consume the
      // parent's edge on sv[0] below and the parent's waiter would miss it.
      // Then a fiber waits on a new fd written by another fiber after a
      // sleep: fd waits and timers work in the child.
      int code = 1;
      int pp[2];
      if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, pp) == 0) {
        auto until = std::chrono::steady_clock::now() + 300ms;
        while (std::chrono::steady_clock::now() < until) weft::wait_io_for(pp[0], weft::io_event::readable, 1ms);
        auto waiter = weft::spawn([&] { return weft::wait_io_for(pp[0], weft::io_event::readable, 2s); });
        weft::this_fiber::sleep_for(20ms);
        char c = 'x';
        if (::write(pp[1], &c, 1) == 1 && waiter.join()) code = 0;
      }
      ::_exit(code);
    }
    // Parent: its own poller still works for the pre-fork fd.
    auto w = weft::spawn([&] { return weft::wait_io_for(sv[0], weft::io_event::readable, 2s); });
    weft::this_fiber::sleep_for(50ms);  // the child is polling by now
    char c = 'y';
    ASSERT_EQ(::write(sv[1], &c, 1), 1);
    // Stay off the poller for 100 ms (no yield), so that only the child
    // polls while the edge is pending.
    for (auto t = std::chrono::steady_clock::now(); std::chrono::steady_clock::now() < t + 100ms;) {
    }
    EXPECT_TRUE(w.join());
    int status = 0;
    ASSERT_EQ(::waitpid(pid, &status, 0), pid);
    ASSERT_TRUE(WIFEXITED(status));
    EXPECT_EQ(WEXITSTATUS(status), 0);
    ::close(sv[0]);
    ::close(sv[1]);
  });
}

}  // namespace
