// samples/http_server.cpp — a minimal HTTP/1.1 server, one fiber per
// connection, written with plain blocking POSIX calls.
//
//   http_server [--port N] [--host ADDR] [--workers N] [--delay-ms MS] [--drain-ms MS]
//
// GET / (and HEAD /) answer 200 with the 13-byte body "Hello, World!";
// other paths 404, other methods 405. Connections are kept alive (HTTP/1.1
// default, or HTTP/1.0 with "Connection: keep-alive"); pipelined requests
// are answered in order, with one write() per batch that arrived together.
// A malformed request gets 400, a request head over 8 KiB gets 431, a
// Transfer-Encoding 501; each of those closes the connection. Request
// bodies announced by Content-Length are read and discarded.
//
// --delay-ms sleeps (plain usleep(), which the hooks turn into a fiber
// sleep) before each answer: fetch_many uses it to show that N blocking
// clients wait one delay, not N. The request path allocates nothing: the
// buffers live on the connection fiber's stack and the answers are fixed.
#include "common/args.hpp"
#include "common/io.hpp"
#include "common/server.hpp"

#include <weft/weft.hpp>

#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <string_view>

namespace {

constexpr std::size_t max_head = 8192;  // larger request heads get 431
long delay_us = 0;                      // --delay-ms, in microseconds

// What parse() found at the start of the buffer.
struct request {
  enum { incomplete, ok, bad, unsupported } state = incomplete;
  std::size_t head_len = 0;        // bytes of request line + headers + blank line
  unsigned long long body_len = 0; // Content-Length
  bool keep_alive = true;
  bool head_only = false;          // HEAD: headers, no body
  int status = 200;                // what to answer (200, 404, 405)
};

bool is_tchar(unsigned char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
         std::strchr("!#$%&'*+-.^_`|~", c) != nullptr;
}

// iequal(a, b) compares ASCII case-insensitively; b is lower case.
bool iequal(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i)
    if ((a[i] | 0x20) != b[i]) return false;
  return true;
}

// has_token(v, t) is true if the comma-separated list v holds token t (lower case).
bool has_token(std::string_view v, std::string_view t) {
  while (!v.empty()) {
    std::size_t comma = v.find(',');
    std::string_view item = v.substr(0, comma);
    while (!item.empty() && (item.front() == ' ' || item.front() == '\t')) item.remove_prefix(1);
    while (!item.empty() && (item.back() == ' ' || item.back() == '\t')) item.remove_suffix(1);
    if (iequal(item, t)) return true;
    if (comma == std::string_view::npos) break;
    v.remove_prefix(comma + 1);
  }
  return false;
}

// parse_line(line, r) reads the request line "METHOD SP TARGET SP HTTP/1.x".
bool parse_line(std::string_view line, request& r) {
  std::size_t sp1 = line.find(' ');
  if (sp1 == 0 || sp1 == std::string_view::npos) return false;
  std::string_view method = line.substr(0, sp1);
  for (unsigned char c : method)
    if (!is_tchar(c)) return false;
  std::size_t sp2 = line.find(' ', sp1 + 1);
  if (sp2 == std::string_view::npos || sp2 == sp1 + 1) return false;
  std::string_view target = line.substr(sp1 + 1, sp2 - sp1 - 1);
  for (unsigned char c : target)
    if (c <= 0x20 || c >= 0x7f) return false;
  std::string_view version = line.substr(sp2 + 1);
  if (version.size() != 8 || version.substr(0, 7) != "HTTP/1." || (version[7] != '0' && version[7] != '1'))
    return false;
  r.keep_alive = version[7] == '1';
  r.head_only = method == "HEAD";
  if (method != "GET" && !r.head_only) r.status = 405;
  else if (target != "/") r.status = 404;
  return true;
}

// parse_header(line, r, seen_length) reads one "Name: value" line.
bool parse_header(std::string_view line, request& r, bool& seen_length) {
  std::size_t colon = line.find(':');
  if (colon == 0 || colon == std::string_view::npos) return false;
  std::string_view name = line.substr(0, colon);
  for (unsigned char c : name)
    if (!is_tchar(c)) return false;  // also rejects "Name :" and folded lines
  std::string_view value = line.substr(colon + 1);
  for (unsigned char c : value)
    if ((c < 0x20 && c != '\t') || c == 0x7f) return false;
  while (!value.empty() && (value.front() == ' ' || value.front() == '\t')) value.remove_prefix(1);
  while (!value.empty() && (value.back() == ' ' || value.back() == '\t')) value.remove_suffix(1);
  if (iequal(name, "content-length")) {
    if (value.empty() || value.size() > 15) return false;
    unsigned long long n = 0;
    for (char c : value) {
      if (c < '0' || c > '9') return false;
      n = n * 10 + static_cast<unsigned>(c - '0');
    }
    if (seen_length && n != r.body_len) return false;
    seen_length = true;
    r.body_len = n;
  } else if (iequal(name, "transfer-encoding")) {
    r.state = request::unsupported;
  } else if (iequal(name, "connection")) {
    if (has_token(value, "close")) r.keep_alive = false;
    else if (has_token(value, "keep-alive")) r.keep_alive = true;
  }
  return true;
}

// parse(p, n) reads the request at the start of p[0..n).
request parse(const char* p, std::size_t n) {
  request r;
  std::string_view buf(p, n);
  std::size_t end = buf.find("\r\n\r\n");
  if (end == std::string_view::npos) return r;  // incomplete (the caller checks the size)
  r.head_len = end + 4;
  if (r.head_len > max_head) return r;
  std::string_view head = buf.substr(0, end + 2);  // every line ends in CRLF
  std::size_t eol = head.find("\r\n");
  r.state = request::bad;
  if (!parse_line(head.substr(0, eol), r)) return r;
  bool seen_length = false;
  for (std::size_t pos = eol + 2; pos < head.size(); pos = eol + 2) {
    eol = head.find("\r\n", pos);
    if (!parse_header(head.substr(pos, eol - pos), r, seen_length)) {
      r.state = request::bad;
      return r;
    }
  }
  if (r.state == request::bad) r.state = request::ok;  // parse_header may have set unsupported
  return r;
}

// answer(out, status, keep_alive, head_only) appends one fixed response to
// out and returns its length (at most 256 bytes).
std::size_t answer(char* out, int status, bool keep_alive, bool head_only) {
  std::string_view line, body;
  switch (status) {
    case 200: line = "HTTP/1.1 200 OK\r\n", body = "Hello, World!"; break;
    case 404: line = "HTTP/1.1 404 Not Found\r\n", body = "not found\n"; break;
    case 405: line = "HTTP/1.1 405 Method Not Allowed\r\nAllow: GET, HEAD\r\n", body = "method not allowed\n"; break;
    case 431: line = "HTTP/1.1 431 Request Header Fields Too Large\r\n", body = "request header too large\n"; break;
    case 501: line = "HTTP/1.1 501 Not Implemented\r\n", body = "transfer-encoding not supported\n"; break;
    default: line = "HTTP/1.1 400 Bad Request\r\n", body = "bad request\n"; break;
  }
  char* o = out;
  auto put = [&](std::string_view s) {
    std::memcpy(o, s.data(), s.size());
    o += s.size();
  };
  put(line);
  put("Server: weft\r\nContent-Type: text/plain\r\nContent-Length: ");
  char len[8];
  put(std::string_view(len, static_cast<std::size_t>(std::snprintf(len, sizeof len, "%zu", body.size()))));
  put(keep_alive ? "\r\n\r\n" : "\r\nConnection: close\r\n\r\n");
  if (!head_only) put(body);
  return static_cast<std::size_t>(o - out);
}

// serve_http(fd) answers requests on one connection until it closes. Fiber only.
void serve_http(int fd) {
  char in[max_head];         // unanswered bytes are in[0, have)
  char out[16 * 1024];       // answers not yet written
  std::size_t have = 0, out_len = 0;
  unsigned long long skip = 0;  // body bytes still to discard
  bool open = true;
  while (open) {
    ssize_t n = samples::read_some(fd, in + have, sizeof in - have);  // parks the fiber
    if (n <= 0) break;
    have += static_cast<std::size_t>(n);
    std::size_t pos = 0;
    while (open) {
      std::size_t k = static_cast<std::size_t>(std::min<unsigned long long>(skip, have - pos));
      pos += k, skip -= k;
      if (skip > 0) break;  // the body goes on in the next read
      request r = parse(in + pos, have - pos);
      if (r.state == request::incomplete && r.head_len == 0 && have - pos < sizeof in) break;
      int status = r.status;
      if (r.state == request::incomplete) status = 431;  // no end of head within 8 KiB
      else if (r.state == request::bad) status = 400;
      else if (r.state == request::unsupported) status = 501;
      if (status >= 400 && status != 404 && status != 405) r.keep_alive = false, r.head_only = false;
      if (delay_us) ::usleep(static_cast<useconds_t>(delay_us));  // a fiber sleep under weft
      out_len += answer(out + out_len, status, r.keep_alive, r.head_only);
      open = r.keep_alive;
      pos += r.head_len;
      skip = r.body_len;
      if (out_len > sizeof out - 256) {  // full: write this batch, go on with the next
        if (!samples::write_all(fd, out, out_len)) return;
        out_len = 0;
      }
    }
    if (out_len && !samples::write_all(fd, out, out_len)) return;
    out_len = 0;
    std::memmove(in, in + pos, have - pos);
    have -= pos;
  }
}

}  // namespace

int main(int argc, char** argv) {
  samples::args a(argc, argv, std::string(samples::server_usage) + " [--delay-ms MS]");
  samples::server_flags f = samples::read_server_flags(a);
  delay_us = a.num("delay-ms", 0, 0, 600 * 1000) * 1000;
  a.done();
  return samples::run_server("http_server", f, serve_http);
}
