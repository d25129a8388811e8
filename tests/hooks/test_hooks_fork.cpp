// tests/hooks/test_hooks_fork.cpp — fork() on a fiber, linked mode: the
// child gets a fresh poller and goes on using weft (hooked I/O between its
// own fibers), and the parent is unaffected: a fiber of the parent parked
// on a socket still wakes, although the child closed its copy of that
// socket and waited in its own poller meanwhile. With a shared epoll set
// (no after-fork support) the child's close would remove the parent's
// registration and the parent's reader would time out.
#include "hooks_test.hpp"

#include <sys/wait.h>

#include <cstring>

using namespace hooks_test;

namespace {

// child_main() is the fork child's work on the forking fiber: 0 = success.
int child_main(int a_c, int a_s) {
  ::close(a_s);  // the parent's reader keeps waiting on its own copy
  ::close(a_c);
  int sv[2];
  if (::socketpair(AF_UNIX, SOCK_STREAM, 0, sv) != 0) return 2;
  auto w = weft::spawn([fd = sv[0]] {
    weft::this_fiber::sleep_for(20ms);
    (void)!::write(fd, "hi", 2);
  });
  auto t0 = clock_type::now();
  char buf[4] = {};
  ssize_t n;
  {
    weft::timeout t(2s);
    n = ::read(sv[1], buf, sizeof buf);
  }
  if (n != 2 || std::memcmp(buf, "hi", 2) != 0) return 3;
  if (ms_since(t0) < 15) return 4;
  w.join();
  weft::this_fiber::sleep_for(150ms);  // the child's scheduler waits in its poller meanwhile
  return 0;
}

TEST(Fork, ChildGetsAFreshPollerAndTheParentIsUnaffected) {
  weft::run([] {
    auto [a_c, a_s] = tcp_pair();
    res rd;
    char got = 0;
    auto reader = weft::spawn([&, s = a_s] {
      weft::timeout t(3s);
      rd.r = ::read(s, &got, 1);
      rd.err = errno;
    });
    weft::this_fiber::sleep_for(10ms);  // the reader is parked (registered in the poller)
    std::fflush(nullptr);
    pid_t pid = ::fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) ::_exit(child_main(a_c, a_s));
    weft::this_fiber::sleep_for(80ms);  // the child closed its copies and waits in its poller
    ASSERT_EQ(::write(a_c, "p", 1), 1);
    auto t0 = clock_type::now();
    reader.join();
    EXPECT_LT(ms_since(t0), 1000);
    EXPECT_EQ(rd.r, 1) << "errno " << rd.err;
    EXPECT_EQ(got, 'p');
    int status = -1;
    for (int i = 0; i < 1000; ++i) {  // up to 5 s
      if (::waitpid(pid, &status, WNOHANG) == pid) break;
      weft::this_fiber::sleep_for(5ms);
    }
    ASSERT_TRUE(WIFEXITED(status)) << status;
    EXPECT_EQ(WEXITSTATUS(status), 0) << "child step that failed";
    // The parent's poller still works after the child is gone.
    auto w = weft::spawn([c = a_c] {
      weft::this_fiber::sleep_for(20ms);
      (void)!::write(c, "q", 1);
    });
    {
      weft::timeout t(2s);
      EXPECT_EQ(::read(a_s, &got, 1), 1);
    }
    EXPECT_EQ(got, 'q');
    w.join();
    ::close(a_c);
    ::close(a_s);
  });
}

}  // namespace
