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

// The child keeps only the forking fiber, as POSIX keeps only the calling
// thread: a fiber of the parent that writes its pid into a pipe every
// millisecond never writes from the child, although the child parks (so
// its scheduler would run any fiber it kept).
TEST(Fork, ChildKeepsOnlyTheForkingFiber) {
  weft::run([] {
    int p[2];
    ASSERT_EQ(::pipe2(p, O_CLOEXEC), 0);
    std::atomic<bool> stop{false};
    auto ticker = weft::spawn([&] {
      while (!stop) {
        pid_t me = ::getpid();
        (void)!::write(p[1], &me, sizeof me);
        weft::this_fiber::sleep_for(1ms);
      }
    });
    weft::this_fiber::sleep_for(5ms);
    pid_t pid = ::fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
      ::usleep(50000);  // hooked: parks the forking fiber for 50 ms
      ::_exit(0);
    }
    int status = -1;
    ASSERT_EQ(::waitpid(pid, &status, 0), pid);
    stop = true;
    ticker.join();
    ::close(p[1]);
    pid_t who;
    int from_parent = 0, from_child = 0;
    while (::read(p[0], &who, sizeof who) == sizeof who) (who == pid ? from_child : from_parent)++;
    ::close(p[0]);
    EXPECT_EQ(from_child, 0) << "a fiber of the parent ran in the child";
    EXPECT_GT(from_parent, 10);
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  });
}

// fork() from a fiber that is not the root: the child calls exit(0) when
// that fiber ends, as a process does when its last thread ends. (The child
// registers an exit handler that ends it with 42 first: exit() ran, and the
// test's own static objects, whose threads the child has not, are spared.)
TEST(Fork, ChildOfANonRootFiberExitsWhenItEnds) {
  weft::run([] {
    pid_t pid = -1;
    weft::spawn([&] {
      pid = ::fork();
      if (pid == 0) {
        std::atexit([] { ::_exit(42); });
        weft::this_fiber::sleep_for(10ms);  // then the fiber returns
      }
    }).join();
    ASSERT_GT(pid, 0) << "the child went on with the parent's root fiber";
    int status = -1;
    {
      weft::timeout t(5s);
      ASSERT_EQ(::waitpid(pid, &status, 0), pid);
    }
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 42) << status;
  });
}

// A vfork() child shares the parent's memory: its close() and dup2() must
// change nothing the parent owns. The parent's reader stays parked on the
// pipe the child closed, and gets the byte written after the child is gone.
TEST(Fork, VforkChildChangesNothingOfTheParent) {
  weft::run([] {
    int p[2];
    ASSERT_EQ(::pipe(p), 0);
    res rd;
    char got = 0;
    auto reader = weft::spawn([&] {
      weft::timeout t(3s);
      rd.r = ::read(p[0], &got, 1);
      rd.err = errno;
    });
    weft::this_fiber::sleep_for(10ms);  // parked, registered in the poller
    pid_t pid = ::vfork();
    if (pid == 0) {
      ::close(p[0]);
      ::dup2(p[1], p[0]);
      ::close(p[1]);
      ::_exit(0);
    }
    ASSERT_GT(pid, 0);
    int status = -1;
    ASSERT_EQ(::waitpid(pid, &status, 0), pid);
    ASSERT_EQ(::write(p[1], "v", 1), 1);
    reader.join();
    EXPECT_EQ(rd.r, 1) << "errno " << rd.err;
    EXPECT_EQ(got, 'v');
    EXPECT_EQ(::fcntl(p[0], F_GETFL) & O_NONBLOCK, 0);
    ::close(p[0]);
    ::close(p[1]);
  });
}
