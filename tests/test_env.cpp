// tests/test_env.cpp — configuration from the environment. meson runs this
// executable once per setting (see meson.build), with a gtest filter.
#include "helpers.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cstdlib>
#include <string>

using namespace weft_test;

// Run with WEFT_STACK_SIZE=1048576: fibers get 1 MiB stacks by default.
TEST(EnvStackSize, DefaultStackFromEnvironment) {
  ASSERT_STREQ(std::getenv("WEFT_STACK_SIZE"), "1048576");
  int r = weft::run([] { return weft::spawn([] { return burn_stack(600); }).join(); });
  EXPECT_EQ(r, 601);
}

// The environment overrides config::stack_size.
TEST(EnvStackSize, EnvironmentOverridesConfig) {
  ASSERT_STREQ(std::getenv("WEFT_STACK_SIZE"), "1048576");
  int r = weft::run(weft::config{.stack_size = 64 * 1024, .workers = 1, .backend = {}},
                    [] { return weft::spawn([] { return burn_stack(600); }).join(); });
  EXPECT_EQ(r, 601);
}

// Run with WEFT_BACKEND=epoll WEFT_WORKERS=1: the supported settings work.
TEST(EnvBackend, SupportedSettingsWork) {
  ASSERT_STREQ(std::getenv("WEFT_BACKEND"), "epoll");
  ASSERT_STREQ(std::getenv("WEFT_WORKERS"), "1");
  int r = weft::run([] {
    int p[2];
    if (::pipe2(p, O_NONBLOCK | O_CLOEXEC) != 0) return -1;
    auto w = weft::spawn([&] {
      weft::this_fiber::sleep_for(10ms);
      return ::write(p[1], "k", 1);
    });
    weft::wait_io(p[0], weft::io_event::readable);
    char c = 0;
    int n = static_cast<int>(::read(p[0], &c, 1));
    w.join();
    weft::close_fd(p[0]);
    weft::close_fd(p[1]);
    return n == 1 && c == 'k' ? 1 : 0;
  });
  EXPECT_EQ(r, 1);
}
