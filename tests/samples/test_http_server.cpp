// tests/samples/test_http_server.cpp — samples/http_server over real
// loopback connections: keep-alive, pipelining, request bodies, status codes
// for bad input (400, 431, 404, 405, 501), and that it survives all of it.
#include "sample_proc.hpp"

#include <algorithm>
#include <map>

using namespace sample_test;

namespace {

struct response {
  int status = 0;  // 0 = no (complete) response
  std::map<std::string, std::string> headers;  // lower-case names
  std::string body;
};

// read_response(c, head_only) reads one response (its body by Content-Length).
response read_response(conn& c, bool head_only = false) {
  response r;
  auto status_line = c.in.line();
  if (!status_line || status_line->rfind("HTTP/1.1 ", 0) != 0) return r;
  int status = std::atoi(status_line->c_str() + 9);
  for (;;) {
    auto l = c.in.line();
    if (!l || l->empty() || l->back() != '\r') return r;
    l->pop_back();
    if (l->empty()) break;
    auto colon = l->find(':');
    if (colon == std::string::npos) return r;
    std::string name = l->substr(0, colon);
    std::transform(name.begin(), name.end(), name.begin(), ::tolower);
    r.headers[name] = l->substr(l->find_first_not_of(' ', colon + 1));
  }
  std::size_t len = std::stoul(r.headers.count("content-length") ? r.headers["content-length"] : "0");
  if (!head_only) {
    auto body = c.in.bytes(len);
    if (!body) return r;
    r.body = *body;
  }
  r.status = status;
  return r;
}

class HttpServer : public ::testing::Test {
 protected:
  process server{{sample_path("http_server"), "--port", "0"}};
  int port = 0;
  void SetUp() override {
    port = server.port();
    ASSERT_GT(port, 0) << server.output();
  }
  void TearDown() override {
    // Whatever the test sent, the server is still up and answering.
    {
      conn c(port);
      ASSERT_GE(c.fd, 0) << "server gone: " << server.output();
      ASSERT_TRUE(send_all(c.fd, "GET / HTTP/1.1\r\nHost: t\r\n\r\n"));
      EXPECT_EQ(read_response(c).status, 200) << server.output();
    }
    server.signal(SIGTERM);
    EXPECT_EQ(server.wait_exit(5s), 0) << server.output();
  }
  // one(request) sends request on a new connection and reads one response.
  response one(const std::string& request, bool head_only = false) {
    conn c(port);
    if (c.fd < 0 || !send_all(c.fd, request)) return {};
    return read_response(c, head_only);
  }
  // closes_after(request, status) checks that request gets status and the connection is closed.
  void closes_after(const std::string& request, int status) {
    conn c(port);
    ASSERT_TRUE(send_all(c.fd, request));
    response r = read_response(c);
    EXPECT_EQ(r.status, status) << "for request: " << request.substr(0, 80);
    EXPECT_EQ(r.headers["connection"], "close");
    EXPECT_TRUE(c.in.at_eof()) << "connection left open after " << status;
  }
};

TEST_F(HttpServer, GetRootAnswersHelloWorld) {
  response r = one("GET / HTTP/1.1\r\nHost: t\r\n\r\n");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, "Hello, World!");
  EXPECT_EQ(r.headers["content-length"], "13");
}

TEST_F(HttpServer, KeepAliveServesManyRequestsOnOneConnection) {
  conn c(port);
  for (int i = 0; i < 200; ++i) {
    ASSERT_TRUE(send_all(c.fd, "GET / HTTP/1.1\r\nHost: t\r\nUser-Agent: test\r\n\r\n"));
    response r = read_response(c);
    ASSERT_EQ(r.status, 200) << "request " << i;
    ASSERT_EQ(r.body, "Hello, World!");
  }
}

TEST_F(HttpServer, PipelinedRequestsAreAnsweredInOrder) {
  conn c(port);
  std::string batch;
  for (int i = 0; i < 50; ++i) batch += i % 5 == 4 ? "GET /missing HTTP/1.1\r\n\r\n" : "GET / HTTP/1.1\r\n\r\n";
  ASSERT_TRUE(send_all(c.fd, batch));
  for (int i = 0; i < 50; ++i) {
    response r = read_response(c);
    ASSERT_EQ(r.status, i % 5 == 4 ? 404 : 200) << "response " << i;
  }
}

TEST_F(HttpServer, RequestSentByteByByteWorks) {
  conn c(port);
  std::string req = "GET / HTTP/1.1\r\nHost: slow\r\n\r\n";
  for (char ch : req) {
    ASSERT_TRUE(send_all(c.fd, std::string(1, ch)));
    ::usleep(200);
  }
  EXPECT_EQ(read_response(c).body, "Hello, World!");
}

TEST_F(HttpServer, RequestBodiesAreSkipped) {
  conn c(port);
  std::string body(20000, 'b');  // larger than the server's buffer
  ASSERT_TRUE(send_all(c.fd, "GET / HTTP/1.1\r\nContent-Length: 20000\r\n\r\n" + body + "GET / HTTP/1.1\r\n\r\n"));
  EXPECT_EQ(read_response(c).status, 200);
  EXPECT_EQ(read_response(c).body, "Hello, World!");
}

TEST_F(HttpServer, HeadHasNoBody) {
  conn c(port);
  ASSERT_TRUE(send_all(c.fd, "HEAD / HTTP/1.1\r\n\r\nGET / HTTP/1.1\r\n\r\n"));
  response h = read_response(c, true);
  EXPECT_EQ(h.status, 200);
  EXPECT_EQ(h.headers["content-length"], "13");
  EXPECT_EQ(read_response(c).body, "Hello, World!");  // the next response starts right after the head
}

TEST_F(HttpServer, OtherPathsAndMethods) {
  EXPECT_EQ(one("GET /nope HTTP/1.1\r\n\r\n").status, 404);
  response r = one("POST / HTTP/1.1\r\nContent-Length: 0\r\n\r\n");
  EXPECT_EQ(r.status, 405);
  EXPECT_EQ(r.headers["allow"], "GET, HEAD");
}

TEST_F(HttpServer, Http10ClosesUnlessKeepAlive) {
  closes_after("GET / HTTP/1.0\r\n\r\n", 200);
  closes_after("GET / HTTP/1.1\r\nConnection: close\r\n\r\n", 200);
  conn c(port);
  ASSERT_TRUE(send_all(c.fd, "GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\nGET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n"));
  EXPECT_EQ(read_response(c).status, 200);
  EXPECT_EQ(read_response(c).status, 200);
}

TEST_F(HttpServer, MalformedRequestsGet400AndClose) {
  for (const char* bad : {
           "GARBAGE\r\n\r\n",
           "GET /\r\n\r\n",
           "GET / HTTP/2.0\r\n\r\n",
           "GET  / HTTP/1.1\r\n\r\n",
           "G(T / HTTP/1.1\r\n\r\n",
           "GET / HTTP/1.1\r\nNo colon here\r\n\r\n",
           "GET / HTTP/1.1\r\nBad Name: x\r\n\r\n",
           "GET / HTTP/1.1\r\n folded: x\r\n\r\n",
           "GET / HTTP/1.1\r\nContent-Length: 12x\r\n\r\n",
           "GET / HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n",
           "GET / HTTP/1.1\r\nContent-Length: 99999999999999999999\r\n\r\n",
           "\r\n\r\n",
       })
    closes_after(bad, 400);
  closes_after(std::string("GET /\x01 HTTP/1.1\r\n\r\n"), 400);
  closes_after(std::string("GET / HTTP/1.1\r\nX: a\0b\r\n\r\n", 28), 400);
}

TEST_F(HttpServer, OversizedHeadGets431) {
  closes_after("GET / HTTP/1.1\r\nX-Big: " + std::string(9000, 'a') + "\r\n\r\n", 431);
  closes_after("GET /" + std::string(10000, 'a'), 431);  // no end of head ever comes
  // Just under the limit is fine.
  response r = one("GET / HTTP/1.1\r\nX-Big: " + std::string(8000, 'a') + "\r\n\r\n");
  EXPECT_EQ(r.status, 200);
}

TEST_F(HttpServer, TransferEncodingGets501) {
  closes_after("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 501);
}

TEST_F(HttpServer, ClientsThatVanishMidRequestDoNotHurt) {
  for (int i = 0; i < 50; ++i) {
    conn c(port);
    send_all(c.fd, "GET / HTTP/1.1\r\nHost: hal");  // and gone
  }
  std::string junk;
  for (int i = 0; i < 4096; ++i) junk.push_back(static_cast<char>((i * 131) % 256));
  conn c(port);
  send_all(c.fd, junk);
}

}  // namespace
