// tests/samples/test_boost_fiber_echo.cpp — samples/boost_fiber_echo, a
// plain Boost.Fiber echo server, under weft-run (issue 15, test 6): 100
// concurrent loopback connections each get their bytes back intact, the
// server runs on one OS thread, and it exits 0 with no Boost fiber left
// behind once they have closed.
#include "sample_proc.hpp"

#include <filesystem>
#include <memory>
#include <thread>

using namespace sample_test;

namespace {

TEST(BoostFiberEcho, HundredConnectionsUnderWeftRun) {
  const char* weft_run = std::getenv("WEFT_RUN");
  ASSERT_NE(weft_run, nullptr);
  constexpr int clients = 100, rounds = 50;
  process server({weft_run, sample_path("boost_fiber_echo"), "--port", "0", "--sessions", std::to_string(clients)});
  int port = server.port();
  ASSERT_GT(port, 0) << server.output();
  // Open every connection first: all 100 sessions are live at once.
  std::vector<std::unique_ptr<conn>> cs;
  for (int c = 0; c < clients; ++c) {
    cs.push_back(std::make_unique<conn>(port));
    ASSERT_GE(cs.back()->fd, 0);
  }
  std::vector<int> ok(clients);
  std::vector<std::thread> ts;
  for (int c = 0; c < clients; ++c)
    ts.emplace_back([&, c] {
      for (int r = 0; r < rounds; ++r) {
        std::string msg(c % 2 ? 3000 : 40, static_cast<char>('a' + (c + r) % 26));
        if (!send_all(cs[c]->fd, msg)) return;
        auto back = cs[c]->in.bytes(msg.size());
        if (back && *back == msg) ++ok[c];
      }
    });
  for (auto& t : ts) t.join();
  // One OS thread serves them all.
  std::string task_dir = "/proc/" + std::to_string(server.pid()) + "/task";
  int threads = 0;
  for (auto& e : std::filesystem::directory_iterator(task_dir)) (void)e, ++threads;
  EXPECT_EQ(threads, 1);
  for (int c = 0; c < clients; ++c) EXPECT_EQ(ok[c], rounds) << "client " << c;
  cs.clear();
  auto code = server.wait_exit(10s);
  ASSERT_TRUE(code.has_value()) << server.output();
  EXPECT_EQ(*code, 0) << server.output();
  EXPECT_NE(server.output().find("100 sessions served"), std::string::npos) << server.output();
  EXPECT_EQ(server.output().find("abandoned"), std::string::npos) << server.output();
}

}  // namespace
