// tests/samples/test_redis_fanout.cpp — samples/redis_fanout against a real
// redis-server (Debian's package) that the test starts on a free loopback
// port without persistence and stops afterwards (also when a check fails).
#include "sample_proc.hpp"

#include <memory>

using namespace sample_test;

namespace {

// A redis-server on 127.0.0.1:port for one test; stopped by the destructor.
struct redis_server {
  std::unique_ptr<process> proc;
  int port = 0;
  redis_server() {
    for (int attempt = 0; attempt < 5 && !proc; ++attempt) {  // the free port may be taken meanwhile
      port = free_port();
      auto p = std::make_unique<process>(std::vector<std::string>{
          "redis-server", "--port", std::to_string(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
          "--daemonize", "no"});
      if (p->wait_for("Ready to accept connections", 10s)) proc = std::move(p);
    }
  }
  ~redis_server() {
    if (!proc) return;
    proc->signal(SIGTERM);
    proc->wait_exit(5s);  // else ~process kills it
  }
  // command(c) sends one inline command and returns the first reply line.
  std::string command(conn& c, const std::string& cmd) {
    if (!send_all(c.fd, cmd + "\r\n")) return "";
    std::string l = c.in.line().value_or("");
    if (!l.empty() && l[0] == '$' && l != "$-1\r") l = c.in.line().value_or("");  // a bulk string's payload
    if (!l.empty() && l.back() == '\r') l.pop_back();
    return l;
  }
};

// count(s, what) is how often what occurs in s.
int count(const std::string& s, const std::string& what) {
  int n = 0;
  for (auto p = s.find(what); p != std::string::npos; p = s.find(what, p + 1)) ++n;
  return n;
}

TEST(RedisFanout, SequentialAndConcurrentRunsCheckEveryValue) {
  redis_server redis;
  ASSERT_TRUE(redis.proc) << "redis-server did not start";
  auto [code, out] = run_to_end({sample_path("redis_fanout"), "--port", std::to_string(redis.port)}, 40s);
  ASSERT_EQ(code, 0) << out;
  EXPECT_EQ(count(out, "1000/1000 values checked"), 2) << out;
  EXPECT_NE(out.find("sequential, 1 connection"), std::string::npos) << out;
  EXPECT_NE(out.find("1000 fibers over 50 connections"), std::string::npos) << out;
  EXPECT_NE(out.find("1 OS thread(s)"), std::string::npos) << "hiredis must run on fibers of one thread: " << out;
  EXPECT_NE(out.find("speed-up "), std::string::npos) << out;

  // What the sample wrote is really in redis, and each value belongs to its key.
  conn c(redis.port);
  ASSERT_GE(c.fd, 0);
  EXPECT_EQ(redis.command(c, "DBSIZE"), ":2000");
  for (int i : {0, 1, 499, 999}) {
    EXPECT_EQ(redis.command(c, "GET weft:fanout:seq:" + std::to_string(i)).rfind("seq-value-" + std::to_string(i) + "-", 0),
              0u);
    EXPECT_EQ(redis.command(c, "GET weft:fanout:conc:" + std::to_string(i)).rfind("conc-value-" + std::to_string(i) + "-", 0),
              0u);
  }
}

TEST(RedisFanout, SmallPoolStillChecksEveryValue) {
  redis_server redis;
  ASSERT_TRUE(redis.proc) << "redis-server did not start";
  auto [code, out] = run_to_end(
      {sample_path("redis_fanout"), "--port", std::to_string(redis.port), "--jobs", "300", "--pool", "3"}, 40s);
  ASSERT_EQ(code, 0) << out;
  EXPECT_EQ(count(out, "300/300 values checked"), 2) << out;
}

TEST(RedisFanout, NoServerIsAClearError) {
  auto [code, out] = run_to_end({sample_path("redis_fanout"), "--port", std::to_string(free_port())}, 20s);
  EXPECT_EQ(code, 1) << out;
  EXPECT_NE(out.find("connect:"), std::string::npos) << out;
}

}  // namespace
