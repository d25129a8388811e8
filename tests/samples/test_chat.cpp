// tests/samples/test_chat.cpp — samples/chat with real clients: messages
// reach the others (not the sender), joins and leaves are announced, and a
// client that never reads is dropped while the room keeps flowing.
#include "sample_proc.hpp"

#include <atomic>
#include <thread>

using namespace sample_test;

namespace {

class Chat : public ::testing::Test {
 protected:
  process server{{sample_path("chat"), "--port", "0", "--queue", "64"}};
  int port = 0;
  void SetUp() override {
    port = server.port();
    ASSERT_GT(port, 0) << server.output();
  }
  void TearDown() override {
    server.signal(SIGTERM);
    EXPECT_EQ(server.wait_exit(5s), 0) << server.output();
  }
  // join(c) reads c's greeting "* you are NAME" and returns NAME ("" if none).
  static std::string join(conn& c) {
    auto l = c.in.line();
    const std::string prefix = "* you are ";
    if (!l || l->rfind(prefix, 0) != 0) return "";
    return l->substr(prefix.size());
  }
};

TEST_F(Chat, LinesReachEveryoneElse) {
  conn a(port);
  std::string na = join(a);
  conn b(port);
  std::string nb = join(b);
  EXPECT_EQ(a.in.line().value_or(""), "* " + nb + " joined");
  conn c(port);
  std::string nc = join(c);
  ASSERT_FALSE(na.empty() || nb.empty() || nc.empty());
  EXPECT_EQ(a.in.line().value_or(""), "* " + nc + " joined");
  EXPECT_EQ(b.in.line().value_or(""), "* " + nc + " joined");

  ASSERT_TRUE(send_all(a.fd, "hello room\r\n"));
  EXPECT_EQ(b.in.line().value_or(""), na + ": hello room");
  EXPECT_EQ(c.in.line().value_or(""), na + ": hello room");
  ASSERT_TRUE(send_all(b.fd, "one\ntwo\n\nthree\n"));  // empty lines are not sent
  for (const char* w : {"one", "two", "three"}) {
    EXPECT_EQ(a.in.line().value_or(""), nb + ": " + w);
    EXPECT_EQ(c.in.line().value_or(""), nb + ": " + w);
  }
  // Senders get nothing back: the next line b sees is c's.
  ASSERT_TRUE(send_all(c.fd, "bye\n"));
  EXPECT_EQ(a.in.line().value_or(""), nc + ": bye");
  EXPECT_EQ(b.in.line().value_or(""), nc + ": bye");
  ::close(c.fd);
  c.fd = -1;
  EXPECT_EQ(a.in.line().value_or(""), "* " + nc + " left");
  EXPECT_EQ(b.in.line().value_or(""), "* " + nc + " left");
}

TEST_F(Chat, ClientThatNeverReadsIsDroppedAndRoomKeepsFlowing) {
  conn talker(port), listener(port);
  conn sloth(port, 4096);  // never reads after its greeting
  std::string nt = join(talker), nl = join(listener), ns = join(sloth);
  ASSERT_FALSE(ns.empty());
  ASSERT_EQ(listener.in.line().value_or(""), "* " + ns + " joined");
  ASSERT_EQ(talker.in.line().value_or(""), "* " + nl + " joined");
  ASSERT_EQ(talker.in.line().value_or(""), "* " + ns + " joined");

  // The listener reads everything on its own thread; the talker floods
  // until the listener has seen the sloth dropped.
  std::atomic<bool> dropped{false};
  std::atomic<long> received{0};
  long out_of_order = 0;
  std::thread reader([&] {
    long next = 0;
    while (auto l = listener.in.line()) {
      if (*l == "* " + ns + " dropped (too slow)") {
        dropped = true;
      } else if (l->rfind(nt + ": msg ", 0) == 0) {
        long n = std::atol(l->c_str() + nt.size() + 6);
        if (n != next) ++out_of_order;
        next = n + 1;
        ++received;
      } else if (*l == nt + ": done") {
        return;
      }
    }
  });
  const std::string pad(1000, 'x');
  long sent = 0;
  auto t0 = clk::now();
  while (!dropped && sent < 100000 && clk::now() - t0 < 15s)
    ASSERT_TRUE(send_all(talker.fd, "msg " + std::to_string(sent++) + " " + pad + "\n"));
  ASSERT_TRUE(send_all(talker.fd, "done\n"));
  reader.join();
  EXPECT_TRUE(dropped) << "sloth never dropped after " << sent << " lines; " << server.output();
  EXPECT_EQ(received.load(), sent) << "the listener lost lines";
  EXPECT_EQ(out_of_order, 0);
  EXPECT_TRUE(server.wait_for("dropped " + ns, 5s)) << server.output();

  // The sloth's connection was closed by the server: reading it to the end terminates.
  char buf[65536];
  ssize_t n;
  while ((n = ::recv(sloth.fd, buf, sizeof buf, 0)) > 0) {
  }
  EXPECT_TRUE(n == 0 || errno == ECONNRESET) << "the sloth's connection is still open: " << std::strerror(errno);

  // And the room still works.
  ASSERT_TRUE(send_all(listener.fd, "still here\n"));
  EXPECT_EQ(talker.in.line().value_or(""), "* " + ns + " dropped (too slow)");
}

}  // namespace
