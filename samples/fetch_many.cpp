// samples/fetch_many.cpp — libcurl's blocking easy API made concurrent by fibers.
//
//   fetch_many --url URL [--fibers N] [--expect BODY] [--sequential] [--workers N]
//
// Each of --fibers (50) fibers runs curl_easy_perform() on its own easy
// handle: the plain blocking call. libcurl waits with poll(), which the
// hooks turn into a fiber park, so against a server that answers after a
// delay D (http_server --delay-ms D) all N finish in about D, not N * D.
// --sequential runs the same fetches one after another first, for the
// speed-up. Every body must be 200 + --expect ("Hello, World!"); exits 1
// otherwise. The last line, "result: ...", is for tools/demo.sh.
#include "common/args.hpp"
#include "common/server.hpp"

#include <weft/weft.hpp>

#include <curl/curl.h>

#include <chrono>
#include <cstdio>
#include <exception>
#include <string>

namespace {

using clk = std::chrono::steady_clock;

struct outcome {
  long ok = 0;        // fetches with status 200 and the expected body
  std::string error;  // the first failure
  double ms = 0;
  long threads = 0;   // OS threads while the fetches ran
};

// on_data is libcurl's write callback: appends to the std::string in user.
size_t on_data(char* p, size_t size, size_t n, void* user) {
  static_cast<std::string*>(user)->append(p, size * n);
  return size * n;
}

// fetch(url, expect, o) does one blocking GET and checks it. Fiber or thread.
void fetch(const std::string& url, const std::string& expect, outcome& o) {
  CURL* h = curl_easy_init();
  std::string body;
  curl_easy_setopt(h, CURLOPT_URL, url.c_str());
  curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_data);
  curl_easy_setopt(h, CURLOPT_WRITEDATA, &body);
  curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(h, CURLOPT_TIMEOUT, 30L);
  CURLcode rc = curl_easy_perform(h);
  long status = 0;
  curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
  curl_easy_cleanup(h);
  if (rc == CURLE_OK && status == 200 && body == expect) ++o.ok;
  else if (o.error.empty())
    o.error = rc != CURLE_OK ? curl_easy_strerror(rc)
                             : "HTTP " + std::to_string(status) + ", body '" + body.substr(0, 64) + "'";
}

double ms_since(clk::time_point t0) { return std::chrono::duration<double, std::milli>(clk::now() - t0).count(); }

// sequential(...) fetches n times, one after another. Fiber.
outcome sequential(const std::string& url, const std::string& expect, long n) {
  outcome o;
  auto t0 = clk::now();
  o.threads = samples::os_threads();
  for (long i = 0; i < n; ++i) fetch(url, expect, o);
  o.ms = ms_since(t0);
  return o;
}

// concurrent(...) fetches from n fibers at once. Fiber.
outcome concurrent(const std::string& url, const std::string& expect, long n) {
  outcome o;
  auto t0 = clk::now();
  weft::group fetchers;
  for (long i = 0; i < n; ++i) fetchers.spawn([&] { fetch(url, expect, o); });
  weft::this_fiber::yield();  // let them all start and park in poll()
  o.threads = samples::os_threads();
  fetchers.wait();
  o.ms = ms_since(t0);
  return o;
}

// report(what, n, o) prints one run's line.
void report(const char* what, long n, const outcome& o) {
  std::printf("fetch_many: %s: %ld/%ld bodies OK in %.0f ms wall, %ld OS thread(s)\n", what, o.ok, n, o.ms, o.threads);
  if (!o.error.empty()) std::fprintf(stderr, "fetch_many: %s: first failure: %s\n", what, o.error.c_str());
}

}  // namespace

int main(int argc, char** argv) {
  samples::args a(argc, argv, "--url URL [--fibers N] [--expect BODY] [--sequential] [--workers N]");
  const std::string url = a.str("url", "");
  const long n = a.num("fibers", 50, 1, 100000);
  const std::string expect = a.str("expect", "Hello, World!");
  const bool also_sequential = a.has("sequential");
  const long workers = a.num("workers", 1, 1, 1024);
  a.done();
  if (url.empty()) {
    std::fprintf(stderr, "fetch_many: --url is required (e.g. an http_server --delay-ms 200)\n");
    return 2;
  }
  if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
    std::fprintf(stderr, "fetch_many: curl_global_init failed\n");
    return 1;
  }
  outcome seq, conc;
  try {
    weft::run(samples::run_config(workers), [&] {
      if (also_sequential) seq = sequential(url, expect, n);
      conc = concurrent(url, expect, n);
    });
  } catch (const std::exception& e) {
    std::fprintf(stderr, "fetch_many: %s\n", e.what());
    return 1;
  }
  curl_global_cleanup();
  bool ok = conc.ok == n;
  if (also_sequential) {
    report("sequential", n, seq);
    ok = ok && seq.ok == n;
  }
  std::string label = std::to_string(n) + " fibers";
  report(label.c_str(), n, conc);
  const double speedup = also_sequential && conc.ms > 0 ? seq.ms / conc.ms : 0;
  if (also_sequential) std::printf("fetch_many: speed-up %.1fx\n", speedup);
  std::printf("result: seq_ms=%.0f conc_ms=%.0f threads=%ld speedup=%.1f ok=%ld/%ld\n", seq.ms, conc.ms, conc.threads,
              speedup, seq.ok + conc.ok, also_sequential ? 2 * n : n);
  return ok ? 0 : 1;
}
