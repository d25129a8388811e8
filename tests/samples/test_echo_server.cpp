// tests/samples/test_echo_server.cpp — samples/echo_server against real
// loopback clients: bytes come back intact from many connections at once,
// and SIGTERM/SIGINT stop it cleanly (stop accepting, drain, exit 0).
#include "sample_proc.hpp"

#include <thread>

using namespace sample_test;

namespace {

// echo_rounds(port, size, rounds) sends rounds messages of size bytes and
// counts those echoed back byte for byte.
int echo_rounds(int port, std::size_t size, int rounds, int seed) {
  conn c(port);
  if (c.fd < 0) return 0;
  int ok = 0;
  for (int r = 0; r < rounds; ++r) {
    std::string msg(size, '\0');
    for (std::size_t i = 0; i < size; ++i) msg[i] = static_cast<char>('a' + (seed * 7 + r * 13 + i) % 26);
    if (!send_all(c.fd, msg)) break;
    auto back = c.in.bytes(size);
    if (back && *back == msg) ++ok;
  }
  return ok;
}

TEST(EchoServer, ManyConnectionsEchoIntact) {
  process server({sample_path("echo_server"), "--port", "0"});
  int port = server.port();
  ASSERT_GT(port, 0) << server.output();
  constexpr int clients = 16, rounds = 200;
  std::vector<int> ok(clients);
  std::vector<std::thread> ts;
  for (int c = 0; c < clients; ++c)
    ts.emplace_back([&, c] { ok[c] = echo_rounds(port, c % 2 ? 4096 : 64, rounds, c); });
  for (auto& t : ts) t.join();
  for (int c = 0; c < clients; ++c) EXPECT_EQ(ok[c], rounds) << "client " << c;
}

TEST(EchoServer, LargeWriteComesBackWhole) {
  process server({sample_path("echo_server"), "--port", "0"});
  int port = server.port();
  ASSERT_GT(port, 0) << server.output();
  conn c(port);
  ASSERT_GE(c.fd, 0);
  std::string big(1 << 20, 'x');
  for (std::size_t i = 0; i < big.size(); i += 1000) big[i] = static_cast<char>('0' + i % 10);
  std::string back;
  std::thread reader([&] { back = c.in.bytes(big.size()).value_or(""); });
  EXPECT_TRUE(send_all(c.fd, big));
  reader.join();
  EXPECT_TRUE(back == big) << "got " << back.size() << " bytes";
}

TEST(EchoServer, SigtermLetsOpenConnectionsFinishThenExits0) {
  process server({sample_path("echo_server"), "--port", "0", "--drain-ms", "5000"});
  int port = server.port();
  ASSERT_GT(port, 0) << server.output();
  conn c(port);
  ASSERT_EQ(echo_rounds(port, 64, 1, 1), 1);
  ASSERT_TRUE(send_all(c.fd, "before"));
  ASSERT_EQ(c.in.bytes(6).value_or(""), "before");
  server.signal(SIGTERM);
  ASSERT_TRUE(server.wait_for("stopping", 5s)) << server.output();
  EXPECT_EQ(connect_to(port), -1) << "still accepting after SIGTERM";
  // The open connection still works during the drain.
  ASSERT_TRUE(send_all(c.fd, "after"));
  EXPECT_EQ(c.in.bytes(5).value_or(""), "after");
  auto t0 = clk::now();
  ::close(c.fd);
  c.fd = -1;
  EXPECT_EQ(server.wait_exit(4s), 0) << server.output();
  EXPECT_LT(clk::now() - t0, 3s) << "did not exit when its last connection closed";
}

TEST(EchoServer, DrainDeadlineClosesIdleConnections) {
  process server({sample_path("echo_server"), "--port", "0", "--drain-ms", "300"});
  int port = server.port();
  ASSERT_GT(port, 0) << server.output();
  conn idle(port);
  ASSERT_TRUE(send_all(idle.fd, "x"));
  ASSERT_EQ(idle.in.bytes(1).value_or(""), "x");
  auto t0 = clk::now();
  server.signal(SIGINT);
  EXPECT_EQ(server.wait_exit(5s), 0) << server.output();
  EXPECT_GE(clk::now() - t0, 250ms) << "did not wait for the drain deadline";
  EXPECT_TRUE(idle.in.at_eof()) << "the idle connection was not closed";
}

// Two carriers: connections spread over both, echo intact, and SIGTERM
// (the stop fiber closing the listener another carrier may wait on) still
// stops accepting, drains the open connection and exits 0.
TEST(EchoServer, TwoWorkersEchoAndStopCleanly) {
  process server({sample_path("echo_server"), "--port", "0", "--workers", "2", "--drain-ms", "5000"});
  int port = server.port();
  ASSERT_GT(port, 0) << server.output();
  constexpr int clients = 8, rounds = 100;
  std::vector<int> ok(clients);
  std::vector<std::thread> ts;
  for (int c = 0; c < clients; ++c) ts.emplace_back([&, c] { ok[c] = echo_rounds(port, 64, rounds, c); });
  for (auto& t : ts) t.join();
  for (int c = 0; c < clients; ++c) EXPECT_EQ(ok[c], rounds) << "client " << c;
  conn open1(port), open2(port);
  ASSERT_TRUE(send_all(open1.fd, "a") && send_all(open2.fd, "b"));
  ASSERT_EQ(open1.in.bytes(1).value_or(""), "a");
  ASSERT_EQ(open2.in.bytes(1).value_or(""), "b");
  server.signal(SIGTERM);
  ASSERT_TRUE(server.wait_for("stopping", 5s)) << server.output();
  EXPECT_EQ(connect_to(port), -1) << "still accepting after SIGTERM";
  ASSERT_TRUE(send_all(open2.fd, "c"));
  EXPECT_EQ(open2.in.bytes(1).value_or(""), "c");
  ::close(open1.fd);
  open1.fd = -1;
  ::close(open2.fd);
  open2.fd = -1;
  EXPECT_EQ(server.wait_exit(4s), 0) << server.output();
}

TEST(EchoServer, BadFlagsAreRefused) {
  auto [code, out] = run_to_end({sample_path("echo_server"), "--port", "70000"});
  EXPECT_EQ(code, 2) << out;
  EXPECT_NE(out.find("--port"), std::string::npos) << out;
  auto [code2, out2] = run_to_end({sample_path("echo_server"), "--prot", "1"});
  EXPECT_EQ(code2, 2) << out2;
  EXPECT_NE(out2.find("unknown flag --prot"), std::string::npos) << out2;
}

}  // namespace
