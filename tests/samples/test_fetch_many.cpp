// tests/samples/test_fetch_many.cpp — samples/fetch_many (libcurl's blocking
// easy API on fibers) against samples/http_server --delay-ms: N fetches take
// about one delay, not N, and every body is checked.
#include "sample_proc.hpp"

using namespace sample_test;

namespace {

// A started http_server with a delay before each answer.
struct slow_server {
  process proc;
  int port;
  explicit slow_server(int delay_ms)
      : proc({sample_path("http_server"), "--port", "0", "--delay-ms", std::to_string(delay_ms)}), port(proc.port()) {}
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port) + "/"; }
};

TEST(FetchMany, FiftyFetchesTakeAboutOneDelay) {
  constexpr int delay_ms = 200, n = 50;
  slow_server server(delay_ms);
  ASSERT_GT(server.port, 0) << server.proc.output();
  auto t0 = clk::now();
  auto [code, out] = run_to_end({sample_path("fetch_many"), "--url", server.url(), "--fibers", std::to_string(n)}, 30s);
  auto wall = std::chrono::duration_cast<ms>(clk::now() - t0);
  ASSERT_EQ(code, 0) << out;
  EXPECT_NE(out.find("50/50 bodies OK"), std::string::npos) << out;
  EXPECT_NE(out.find("1 OS thread(s)"), std::string::npos) << out;
  EXPECT_GE(wall.count(), delay_ms) << out;
  EXPECT_LT(wall.count(), 5 * delay_ms) << "not concurrent: " << out;  // sequential would be 10 s
}

TEST(FetchMany, SequentialRunShowsTheDifference) {
  constexpr int delay_ms = 100, n = 5;
  slow_server server(delay_ms);
  ASSERT_GT(server.port, 0) << server.proc.output();
  auto [code, out] =
      run_to_end({sample_path("fetch_many"), "--url", server.url(), "--fibers", std::to_string(n), "--sequential"}, 30s);
  ASSERT_EQ(code, 0) << out;
  auto line = out.find("result: seq_ms=");
  ASSERT_NE(line, std::string::npos) << out;
  double seq_ms = std::atof(out.c_str() + line + 15);
  double conc_ms = std::atof(out.c_str() + out.find("conc_ms=", line) + 8);
  EXPECT_GE(seq_ms, n * delay_ms) << out;
  EXPECT_LT(conc_ms, seq_ms / 2) << out;
  EXPECT_NE(out.find("ok=10/10"), std::string::npos) << out;
}

TEST(FetchMany, WrongBodiesAreCaught) {
  slow_server server(0);
  ASSERT_GT(server.port, 0) << server.proc.output();
  auto [code, out] = run_to_end({sample_path("fetch_many"), "--url", server.url(), "--fibers", "5", "--expect", "nope"}, 30s);
  EXPECT_EQ(code, 1) << out;
  EXPECT_NE(out.find("0/5 bodies OK"), std::string::npos) << out;
  auto [code404, out404] = run_to_end({sample_path("fetch_many"), "--url", server.url() + "missing", "--fibers", "3"}, 30s);
  EXPECT_EQ(code404, 1) << out404;
  EXPECT_NE(out404.find("HTTP 404"), std::string::npos) << out404;
}

}  // namespace
