// tests/hooks/test_hooks_fdstate.cpp — the per-fd state of the hooks:
// the user's O_NONBLOCK (SOCK_NONBLOCK, F_SETFL, FIONBIO, socketpair),
// what F_GETFL shows, fds learned at first use, dup/dup2/dup3/F_DUPFD
// carrying the state, close and dup2 waking waiters, fd number reuse,
// blocking kept on plain threads, regular files passing through.
#include "hooks_test.hpp"

#include <dirent.h>
#include <stdio.h>
#include <sys/wait.h>
#include <sys/ioctl.h>
#include <sys/stat.h>

#include <algorithm>
#include <cstdlib>
#include <string>
#include <thread>
#include <vector>

using namespace hooks_test;

namespace {

// spawn_reader() starts a fiber that reads one byte from fd into r
// (result and errno).
weft::fiber<> spawn_reader(int fd, res& r) {
  return weft::spawn([fd, &r] {
    char b;
    r.r = ::read(fd, &b, 1);
    r.err = errno;
  });
}

// read_after() reads 1 byte from fd on this fiber while another fiber
// writes it to `peer` after 20 ms; returns the read's result.
ssize_t read_after(int fd, int peer) {
  auto w = weft::spawn([peer] {
    weft::this_fiber::sleep_for(20ms);
    (void)!::write(peer, "z", 1);
  });
  char b = 0;
  ssize_t n = ::read(fd, &b, 1);
  w.join();
  return n == 1 && b == 'z' ? 1 : -1;
}

TEST(FdState, FsetflAndFionbioChangeOnlyTheUsersView) {
  weft::run([] {
    auto [c, s] = tcp_pair();
    EXPECT_FALSE(::fcntl(s, F_GETFL) & O_NONBLOCK);
    EXPECT_FALSE(real_flags(s) & O_NONBLOCK) << "the description keeps the program's flags";

    ASSERT_EQ(::fcntl(s, F_SETFL, ::fcntl(s, F_GETFL) | O_NONBLOCK), 0);
    EXPECT_TRUE(::fcntl(s, F_GETFL) & O_NONBLOCK);
    char b;
    EXPECT_EQ(::read(s, &b, 1), -1);
    EXPECT_EQ(errno, EAGAIN);

    ASSERT_EQ(::fcntl(s, F_SETFL, ::fcntl(s, F_GETFL) & ~O_NONBLOCK), 0);
    EXPECT_FALSE(::fcntl(s, F_GETFL) & O_NONBLOCK);
    EXPECT_FALSE(real_flags(s) & O_NONBLOCK) << "the description keeps the program's flags";
    EXPECT_EQ(read_after(s, c), 1);

    int on = 1;
    ASSERT_EQ(::ioctl(s, FIONBIO, &on), 0);
    EXPECT_TRUE(::fcntl(s, F_GETFL) & O_NONBLOCK);
    EXPECT_EQ(::recv(s, &b, 1, 0), -1);
    EXPECT_EQ(errno, EAGAIN);
    on = 0;
    ASSERT_EQ(::ioctl(s, FIONBIO, &on), 0);
    EXPECT_FALSE(::fcntl(s, F_GETFL) & O_NONBLOCK);
    EXPECT_EQ(read_after(s, c), 1);
    EXPECT_EQ(::ioctl(12345, FIONBIO, &on), -1);
    EXPECT_EQ(errno, EBADF);
    ::close(c);
    ::close(s);
  });
}

TEST(FdState, SocketpairAndSocketFlags) {
  weft::run([] {
    int sv[2];
    ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv), 0);
    EXPECT_TRUE(::fcntl(sv[0], F_GETFL) & O_NONBLOCK);
    char b;
    EXPECT_EQ(::read(sv[0], &b, 1), -1);
    EXPECT_EQ(errno, EAGAIN);
    ::close(sv[0]);
    ::close(sv[1]);

    ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    EXPECT_FALSE(::fcntl(sv[0], F_GETFL) & O_NONBLOCK);
    EXPECT_EQ(read_after(sv[0], sv[1]), 1);
    ::close(sv[0]);
    ::close(sv[1]);
  });
}

TEST(FdState, FdsNoHookSawAreLearnedAtFirstUse) {
  // Made by raw syscalls, so only the kernel knows them.
  int sv[2];
  ASSERT_EQ(::syscall(SYS_socketpair, AF_UNIX, SOCK_STREAM, 0, sv), 0);
  int nb[2];
  ASSERT_EQ(::syscall(SYS_socketpair, AF_UNIX, SOCK_STREAM, 0, nb), 0);
  ASSERT_EQ(::syscall(SYS_fcntl, nb[0], F_SETFL, O_NONBLOCK), 0);
  timeval tv{0, 80000};
  ASSERT_EQ(::syscall(SYS_setsockopt, sv[0], SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv), 0);
  weft::run([&] {
    char b;
    auto t0 = clock_type::now();
    EXPECT_EQ(::read(sv[0], &b, 1), -1) << "SO_RCVTIMEO set before the hooks knew the fd";
    EXPECT_EQ(errno, EAGAIN);
    EXPECT_GE(ms_since(t0), 75);
    EXPECT_FALSE(::fcntl(sv[0], F_GETFL) & O_NONBLOCK);
    EXPECT_FALSE(real_flags(sv[0]) & O_NONBLOCK) << "a fiber's read leaves the flags alone";

    t0 = clock_type::now();
    EXPECT_EQ(::read(nb[0], &b, 1), -1) << "O_NONBLOCK set before the hooks knew the fd";
    EXPECT_EQ(errno, EAGAIN);
    EXPECT_LT(ms_since(t0), 50);
  });
  for (int fd : {sv[0], sv[1], nb[0], nb[1]}) ::close(fd);
}

TEST(FdState, SetsockoptTimeoutsAreRecordedAndReadBack) {
  weft::run([] {
    auto [c, s] = tcp_pair();
    set_timeo(s, SO_RCVTIMEO, 70);
    timeval tv{};
    socklen_t len = sizeof tv;
    ASSERT_EQ(::getsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &tv, &len), 0);
    EXPECT_EQ(tv.tv_sec, 0);
    EXPECT_GE(tv.tv_usec, 70000);  // the kernel rounds up to its clock tick
    EXPECT_LT(tv.tv_usec, 80000);
    char b;
    auto t0 = clock_type::now();
    EXPECT_EQ(::read(s, &b, 1), -1);
    EXPECT_EQ(errno, EAGAIN);
    EXPECT_GE(ms_since(t0), 65);
    set_timeo(s, SO_RCVTIMEO, 0);  // back to "no timeout"
    EXPECT_EQ(read_after(s, c), 1);
    ::close(c);
    ::close(s);
  });
}

TEST(FdState, DuplicatesCarryTheState) {
  weft::run([] {
    auto [c, s] = tcp_pair(0, SOCK_NONBLOCK);
    char b;
    int d = ::dup(s);
    ASSERT_GE(d, 0);
    EXPECT_TRUE(::fcntl(d, F_GETFL) & O_NONBLOCK);
    EXPECT_EQ(::read(d, &b, 1), -1);
    EXPECT_EQ(errno, EAGAIN);
    ::close(d);

    auto [c2, s2] = tcp_pair();
    set_timeo(s2, SO_RCVTIMEO, 50);
    int d2 = ::fcntl(s2, F_DUPFD_CLOEXEC, 100);
    ASSERT_GE(d2, 100);
    EXPECT_FALSE(::fcntl(d2, F_GETFL) & O_NONBLOCK);
    auto t0 = clock_type::now();
    EXPECT_EQ(::read(d2, &b, 1), -1);
    EXPECT_EQ(errno, EAGAIN);
    EXPECT_GE(ms_since(t0), 45);

    int d3 = ::dup3(s2, 200, O_CLOEXEC);
    ASSERT_EQ(d3, 200);
    EXPECT_TRUE(::fcntl(d3, F_GETFD) & FD_CLOEXEC);
    EXPECT_FALSE(::fcntl(d3, F_GETFL) & O_NONBLOCK);
    set_timeo(d3, SO_RCVTIMEO, 0);
    EXPECT_EQ(read_after(d3, c2), 1);
    for (int fd : {c, s, c2, s2, d2, d3}) ::close(fd);
  });
}

TEST(FdState, Dup2OntoAWaitedFdWakesTheWaiterWithEbadf) {
  weft::run([] {
    auto [c, s] = tcp_pair();
    auto [c2, s2] = tcp_pair();
    res r;
    auto f = spawn_reader(s, r);
    weft::this_fiber::sleep_for(20ms);
    ASSERT_EQ(::dup2(s2, s), s);
    f.join();
    EXPECT_EQ(r.r, -1);
    EXPECT_EQ(r.err, EBADF);
    EXPECT_EQ(read_after(s, c2), 1) << "the fd number now names the other socket, and works";
    for (int fd : {c, s, c2, s2}) ::close(fd);
  });
}

TEST(FdState, AClosedNumberReusedLaterStartsClean) {
  weft::run([] {
    auto [c, s] = tcp_pair();
    res r;
    auto f = spawn_reader(s, r);
    weft::this_fiber::sleep_for(10ms);
    ::close(s);
    f.join();
    EXPECT_EQ(r.err, EBADF);
    // Open sockets until the old number comes back.
    std::vector<int> held;
    int sv[2] = {-1, -1};
    for (int i = 0; i < 16 && sv[0] != s; ++i) {
      ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
      if (sv[1] == s) std::swap(sv[0], sv[1]);
      if (sv[0] != s) {
        held.push_back(sv[0]);
        held.push_back(sv[1]);
      }
    }
    ASSERT_EQ(sv[0], s) << "the number should have been reused";
    EXPECT_EQ(read_after(sv[0], sv[1]), 1) << "nothing of the old fd may stay registered";
    for (int fd : held) ::close(fd);
    for (int fd : {c, sv[0], sv[1]}) ::close(fd);
  });
}

TEST(FdState, FcloseWakesWaitersToo) {
  weft::run([] {
    auto [c, s] = tcp_pair();
    FILE* f = ::fdopen(s, "r");
    ASSERT_NE(f, nullptr);
    res r;
    auto g = spawn_reader(s, r);
    weft::this_fiber::sleep_for(10ms);
    ::fclose(f);
    g.join();
    EXPECT_EQ(r.r, -1);
    EXPECT_EQ(r.err, EBADF);
    ::close(c);
  });
}

// close_range() and closefrom() close without close(): waiters still wake
// with EBADF, and the reused number starts clean; CLOSE_RANGE_CLOEXEC
// closes nothing and wakes nobody.
TEST(FdState, CloseRangeAndClosefromWakeWaiters) {
  for (bool use_closefrom : {false, true}) {
    weft::run([use_closefrom] {
      auto [c, s] = tcp_pair();
      if (c > s) std::swap(c, s);  // s is the highest fd: closefrom(s) closes only it
      res r;
      auto f = spawn_reader(s, r);
      weft::this_fiber::sleep_for(10ms);
      ASSERT_EQ(::close_range(s, s, CLOSE_RANGE_CLOEXEC), 0);
      weft::this_fiber::sleep_for(10ms);
      EXPECT_FALSE(f.done()) << "CLOSE_RANGE_CLOEXEC closes nothing";
      if (use_closefrom) ::closefrom(s);
      else ASSERT_EQ(::close_range(s, ~0u, 0), 0);
      f.join();
      EXPECT_EQ(r.r, -1) << "closefrom " << use_closefrom;
      EXPECT_EQ(r.err, EBADF) << "closefrom " << use_closefrom;
      // The number comes back clean.
      int sv[2];
      ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
      int mine = sv[0] == s ? 0 : sv[1] == s ? 1 : -1;
      ASSERT_GE(mine, 0) << "the number should have been reused";
      EXPECT_EQ(read_after(sv[mine], sv[1 - mine]), 1) << "nothing of the old fd may stay registered";
      for (int fd : {c, sv[0], sv[1]}) ::close(fd);
    });
  }
}

TEST(FdState, PlainThreadsStillBlockOnAFdFibersUsed) {
  int c = -1, s = -1;
  weft::run([&] {
    std::tie(c, s) = tcp_pair();
    char b;
    auto r = weft::spawn([&] { (void)!::read(s, &b, 1); });
    weft::this_fiber::sleep_for(10ms);
    (void)!::write(c, "q", 1);
    r.join();
  });
  ASSERT_FALSE(real_flags(s) & O_NONBLOCK);
  EXPECT_FALSE(::fcntl(s, F_GETFL) & O_NONBLOCK);
  std::thread w([c] {
    std::this_thread::sleep_for(50ms);
    (void)!::write(c, "p", 1);
  });
  char b = 0;
  auto t0 = clock_type::now();
  EXPECT_EQ(::read(s, &b, 1), 1) << "a blocking read must not see EAGAIN";
  EXPECT_EQ(b, 'p');
  EXPECT_GE(ms_since(t0), 40);
  w.join();
  set_timeo(s, SO_RCVTIMEO, 60);
  t0 = clock_type::now();
  EXPECT_EQ(::read(s, &b, 1), -1);
  EXPECT_EQ(errno, EAGAIN);
  EXPECT_GE(ms_since(t0), 55);
  ::close(c);
  ::close(s);
}

TEST(FdState, InheritedStdinStaysBlocking) {
  // Make fd 0 a pipe behind the hooks' back, as a parent process would.
  int saved = static_cast<int>(::syscall(SYS_dup, 0));
  int p[2];
  ASSERT_EQ(::syscall(SYS_pipe2, p, 0), 0);
  ASSERT_EQ(::syscall(SYS_dup2, p[0], 0), 0);
  ASSERT_EQ(::syscall(SYS_write, p[1], "in", 2), 2);
  weft::run([] {
    char buf[4] = {};
    EXPECT_EQ(::read(0, buf, sizeof buf), 2);
    EXPECT_FALSE(real_flags(0) & O_NONBLOCK) << "a shared stdin must not be made non-blocking";
  });
  EXPECT_EQ(::dup2(saved, 0), 0);  // hooked: drops what was learned about fd 0
  for (int fd : {saved, p[0], p[1]}) ::close(fd);
}

TEST(FdState, RegularFilesPassThrough) {
  char path[] = "/tmp/weft_hooks_XXXXXX";
  int fd = ::mkstemp(path);
  ASSERT_GE(fd, 0);
  weft::run([&] {
    unsigned long p0 = weft::hooks::parks();
    EXPECT_EQ(::write(fd, "data", 4), 4);
    EXPECT_EQ(::lseek(fd, 0, SEEK_SET), 0);
    char buf[8] = {};
    EXPECT_EQ(::read(fd, buf, sizeof buf), 4);
    EXPECT_EQ(std::string(buf), "data");
    EXPECT_EQ(weft::hooks::parks(), p0);
    EXPECT_FALSE(real_flags(fd) & O_NONBLOCK) << "regular files are not touched";
  });
  ::close(fd);
  ::unlink(path);
}

}  // namespace

namespace {
// open_fds() lists the fds open in this process (/proc/self/fd), without
// the directory's own.
std::vector<int> open_fds() {
  std::vector<int> v;
  DIR* d = ::opendir("/proc/self/fd");
  int self = ::dirfd(d);
  while (dirent* e = ::readdir(d))
    if (e->d_name[0] != '.' && std::atoi(e->d_name) != self) v.push_back(std::atoi(e->d_name));
  ::closedir(d);
  return v;
}
}  // namespace

// weft's own fds (the poller's epoll set and eventfd) exist only once a
// fiber waited on an fd, sit at the top of the fd range, and are not the
// program's to close: close() leaves them, closefrom() spares them, dup2()
// onto one fails with EBUSY. A fork()ed child closes everything it asks to.
TEST(FdState, WeftsOwnFdsAreHighLateAndKept) {
  std::vector<int> before = open_fds();
  weft::run([&] {
    weft::this_fiber::sleep_for(1ms);
    EXPECT_EQ(open_fds(), before) << "no fd of weft's own before a fiber waits on an fd";
    int p[2];
    ASSERT_EQ(::pipe(p), 0);
    res got;
    auto r = spawn_reader(p[0], got);
    weft::this_fiber::sleep_for(5ms);
    std::vector<int> now = open_fds();
    std::vector<int> weft_fds;
    for (int fd : now)
      if (std::find(before.begin(), before.end(), fd) == before.end() && fd != p[0] && fd != p[1])
        weft_fds.push_back(fd);
    ASSERT_EQ(weft_fds.size(), 2u) << "an epoll set and an eventfd";
    for (int fd : weft_fds) EXPECT_GT(fd, 64) << "kept out of the low numbers";
    int w = weft_fds[0];
    EXPECT_EQ(::close(w), 0);
    EXPECT_GE(::syscall(SYS_fcntl, w, F_GETFD), 0) << "still open";
    EXPECT_EQ(::dup2(p[0], w), -1);
    EXPECT_EQ(errno, EBUSY);
    pid_t child = ::fork();
    if (child == 0) {
      ::closefrom(3);
      _exit(open_fds().size() == 3 ? 0 : 1);  // 0, 1, 2
    }
    int st = 0;
    ASSERT_EQ(::waitpid(child, &st, 0), child);
    EXPECT_TRUE(WIFEXITED(st) && WEXITSTATUS(st) == 0) << "the child's closefrom closed everything";
    ::closefrom(3);
    EXPECT_GE(::syscall(SYS_fcntl, w, F_GETFD), 0) << "closefrom spares weft's fds";
    EXPECT_LT(::syscall(SYS_fcntl, p[1], F_GETFD), 0) << "and closes the program's";
    r.join();
    EXPECT_EQ(got.r, -1);
    EXPECT_EQ(got.err, EBADF) << "the waiting reader woke when closefrom closed its fd";
  });
}
