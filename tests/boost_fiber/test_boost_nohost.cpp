// tests/boost_fiber/test_boost_nohost.cpp — on a carrier without a host,
// neither the hooks nor the runtime call into libboost_fiber (issue 15):
// this executable interposes boost::fibers::context::active() (the call
// that would lazily create a Boost scheduler on the thread) and counts its
// calls per thread, while a weft fiber on a carrier without a host makes
// hooked recv() and sleep calls and waits on weft primitives that a Boost
// fiber of the other carrier (with a host) wakes.
#include "helpers.hpp"

#include <weft/boost_fiber.hpp>

#include <boost/fiber/all.hpp>

#include <dlfcn.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <atomic>

namespace {
thread_local long tl_active_calls = 0;
}

// The interposed context::active(): counts, then calls libboost_fiber's.
boost::fibers::context* boost::fibers::context::active() noexcept {
  using fn_t = boost::fibers::context* (*)();
  static fn_t real = reinterpret_cast<fn_t>(dlsym(RTLD_NEXT, "_ZN5boost6fibers7context6activeEv"));
  ++tl_active_calls;
  return real();
}

namespace {

using namespace weft_test;
namespace bf = boost::fibers;

pid_t tid() { return static_cast<pid_t>(syscall(SYS_gettid)); }

TEST(BoostNoHost, CarrierWithoutHostNeverCallsIntoBoost) {
  long on_host = 0, off_host = -1;
  pid_t t_host = 0, t_plain = 0;
  weft::run(weft::config{.workers = 2}, [&] {
    int sv[2];
    ASSERT_EQ(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    weft::event go, done;
    weft::channel<int> ch(1);
    // Two fibers on the two carriers: one hosts, one not.
    auto a = spawn_elsewhere([&] {
      t_host = tid();
      weft::boost_fiber::host scope;
      bf::fiber f([&] {
        go.wait();
        char c = 'x';
        ASSERT_EQ(write(sv[0], &c, 1), 1);
        ch.send(7);
        done.wait();
      });
      f.join();
      on_host = tl_active_calls;
    });
    auto b = [&] {  // on the root fiber's carrier, without a host
      t_plain = tid();
      long before = tl_active_calls;
      weft::this_fiber::sleep_for(1ms);
      timespec ts{0, 1000000};
      nanosleep(&ts, nullptr);  // hooked
      go.set();
      char c;
      EXPECT_EQ(recv(sv[1], &c, 1, 0), 1);  // hooked, woken by the Boost fiber's write
      EXPECT_EQ(ch.recv(), 7);              // sent by the Boost fiber
      done.set();
      off_host = tl_active_calls - before;
    };
    b();
    a.join();
    close(sv[0]);
    close(sv[1]);
  });
  EXPECT_NE(t_host, t_plain);
  EXPECT_GT(on_host, 0);   // the interposition works: the host's carrier calls it
  EXPECT_EQ(off_host, 0);  // the carrier without a host never does
}

}  // namespace
