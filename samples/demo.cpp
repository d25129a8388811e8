// samples/demo.cpp — a few seconds' look at what weft does.
//
//   demo           runs three small scenes and prints a table
//   demo --check   the same, then verifies the results (exit 1 on failure)
//
// Scenes: 10,000 fibers that each sleep 100 ms (they all sleep at once, on
// one OS thread), a three-stage channel pipeline, and an echo server with
// clients over loopback TCP, written with nonblocking sockets + weft::wait_io.
#include <weft/weft.hpp>

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <string>
#include <system_error>
#include <vector>

namespace {

using clk = std::chrono::steady_clock;
using namespace std::chrono_literals;

// ms_since(t0) is the wall time since t0 in milliseconds.
double ms_since(clk::time_point t0) {
  return std::chrono::duration<double, std::milli>(clk::now() - t0).count();
}

// proc_status(key) reads a number field ("Threads", "VmRSS") of /proc/self/status.
long proc_status(const char* key) {
  std::ifstream f("/proc/self/status");
  std::string k;
  long v = -1;
  while (f >> k) {
    if (k == std::string(key) + ":") {
      f >> v;
      return v;
    }
    f.ignore(1 << 16, '\n');
  }
  return -1;
}

// One line of the table plus what --check verifies about it.
struct row {
  std::string scene, result;
  bool ok;
  std::string why;  // what went wrong when !ok
};

std::string fmt(const char* f, auto... a) {
  char buf[256];
  std::snprintf(buf, sizeof buf, f, a...);
  return buf;
}

// Scene 1: many fibers sleeping concurrently. Runs on a fiber.
row sleepers() {
  constexpr int n = 10000;
  const long threads_before = proc_status("Threads");
  const long rss_before = proc_status("VmRSS");
  weft::wait_group wg;
  int finished = 0;
  auto t0 = clk::now();
  wg.add(n);
  for (int i = 0; i < n; ++i) {
    weft::spawn([&] {
      weft::this_fiber::sleep_for(100ms);
      ++finished;
      wg.done();
    }).detach();
  }
  weft::this_fiber::yield();  // let them all start sleeping
  const long threads_during = proc_status("Threads");
  const long rss_during = proc_status("VmRSS");
  wg.wait();
  double ms = ms_since(t0);

  row r{fmt("%d fibers each sleep 100 ms", n),
        fmt("%.0f ms wall, %ld OS thread%s, RSS +%ld MiB", ms, threads_during,
            threads_during == 1 ? "" : "s", (rss_during - rss_before) / 1024),
        true, ""};
  if (finished != n) r = {r.scene, r.result, false, fmt("%d of %d fibers finished", finished, n)};
  else if (ms < 99) r = {r.scene, r.result, false, fmt("woke early: %.1f ms", ms)};
  else if (ms > 3000) r = {r.scene, r.result, false, fmt("not concurrent: %.0f ms", ms)};
  else if (threads_during > threads_before)
    r = {r.scene, r.result, false, fmt("threads grew from %ld to %ld", threads_before, threads_during)};
  return r;
}

// Scene 2: producer -> square -> sum over two buffered channels. Runs on a fiber.
row pipeline() {
  constexpr std::uint64_t n = 1000000;
  weft::channel<std::uint64_t> nums(64), squares(64);
  auto t0 = clk::now();
  auto producer = weft::spawn([&] {
    for (std::uint64_t i = 1; i <= n; ++i) nums.send(i);
    nums.close();
  });
  auto squarer = weft::spawn([&] {
    for (std::uint64_t v : nums) squares.send(v * v);
    squares.close();
  });
  auto summer = weft::spawn([&] {
    std::uint64_t sum = 0, count = 0;
    for (std::uint64_t v : squares) sum += v, ++count;
    return std::pair{sum, count};
  });
  producer.join();
  squarer.join();
  auto [sum, count] = summer.join();
  double ms = ms_since(t0);

  const std::uint64_t want = n * (n + 1) * (2 * n + 1) / 6;
  row r{fmt("channel pipeline, 3 fibers, %llu values", (unsigned long long)n),
        fmt("%.0f ms, %.2f M values/s, sum of squares %s", ms, n / ms / 1000.0,
            sum == want ? "correct" : "WRONG"),
        true, ""};
  if (count != n || sum != want)
    r = {r.scene, r.result, false,
         fmt("got %llu values summing to %llu, want %llu summing to %llu", (unsigned long long)count,
             (unsigned long long)sum, (unsigned long long)n, (unsigned long long)want)};
  return r;
}

// --- Scene 3 helpers: nonblocking sockets driven by weft::wait_io ---

[[noreturn]] void fail(const char* what) { throw std::system_error(errno, std::generic_category(), what); }

// nb_socket() makes a nonblocking TCP socket.
int nb_socket() {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) fail("socket");
  return fd;
}

// read_some(fd, buf, n) reads at least one byte, parking the fiber while none
// is there; 0 at end of stream.
size_t read_some(int fd, char* buf, size_t n) {
  for (;;) {
    ssize_t k = ::read(fd, buf, n);
    if (k >= 0) return static_cast<size_t>(k);
    if (errno != EAGAIN && errno != EINTR) fail("read");
    weft::wait_io(fd, weft::io_event::readable);
  }
}

// write_all(fd, buf, n) writes all n bytes, parking while the socket is full.
void write_all(int fd, const char* buf, size_t n) {
  while (n > 0) {
    ssize_t k = ::write(fd, buf, n);
    if (k >= 0) {
      buf += k, n -= static_cast<size_t>(k);
      continue;
    }
    if (errno != EAGAIN && errno != EINTR) fail("write");
    weft::wait_io(fd, weft::io_event::writable);
  }
}

// connect_to(addr) connects a nonblocking socket, parking until it is done.
int connect_to(const sockaddr_in& addr) {
  int fd = nb_socket();
  if (::connect(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof addr) < 0) {
    if (errno != EINPROGRESS) fail("connect");
    weft::wait_io(fd, weft::io_event::writable);
    int err = 0;
    socklen_t len = sizeof err;
    ::getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len);
    if (err) {
      errno = err;
      fail("connect");
    }
  }
  int one = 1;
  ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  return fd;
}

// Scene 3: an echo server fiber that spawns a fiber per connection, and
// client fibers doing request/response round trips. Runs on a fiber.
row echo() {
  constexpr int clients = 8, rounds = 1000, msg = 64;
  int lfd = nb_socket();
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t alen = sizeof addr;
  if (::bind(lfd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) < 0) fail("bind");
  if (::listen(lfd, 64) < 0) fail("listen");
  ::getsockname(lfd, reinterpret_cast<sockaddr*>(&addr), &alen);

  weft::group handlers;  // one fiber per accepted connection
  auto server = weft::spawn(weft::spawn_options{.name = "echo-server"}, [&] {
    for (int accepted = 0; accepted < clients;) {
      int cfd = ::accept4(lfd, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
      if (cfd < 0) {
        if (errno != EAGAIN && errno != EINTR) fail("accept");
        weft::wait_io(lfd, weft::io_event::readable);
        continue;
      }
      ++accepted;
      int one = 1;
      ::setsockopt(cfd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
      handlers.spawn([cfd] {
        char buf[4096];
        while (size_t k = read_some(cfd, buf, sizeof buf)) write_all(cfd, buf, k);
        weft::close_fd(cfd);
      });
    }
  });

  int good = 0;
  auto t0 = clk::now();
  {
    weft::timeout limit(20s);  // a hang becomes weft::timed_out, not a stuck demo
    std::vector<weft::fiber<int>> cs;
    for (int c = 0; c < clients; ++c) {
      cs.push_back(weft::spawn([&, c] {
        int fd = connect_to(addr);
        int ok = 0;
        char out[msg], in[msg];
        for (int i = 0; i < rounds; ++i) {
          std::snprintf(out, sizeof out, "client %d round %d", c, i);
          write_all(fd, out, msg);
          size_t got = 0;
          while (got < msg) {
            size_t k = read_some(fd, in + got, msg - got);
            if (k == 0) break;
            got += k;
          }
          if (got == msg && std::memcmp(in, out, msg) == 0) ++ok;
        }
        weft::close_fd(fd);
        return ok;
      }));
    }
    for (auto& f : cs) good += f.join();
    server.join();
    handlers.wait();
  }
  double ms = ms_since(t0);
  weft::close_fd(lfd);

  const int total = clients * rounds;
  row r{fmt("TCP echo, %d connections x %d round trips", clients, rounds),
        fmt("%.0f ms, %.0f k round trips/s, %d/%d echoed intact", ms, total / ms, good, total),
        true, ""};
  if (good != total) r = {r.scene, r.result, false, fmt("only %d of %d round trips intact", good, total)};
  return r;
}

}  // namespace

int main(int argc, char** argv) {
  const bool check = argc > 1 && std::string(argv[1]) == "--check";
  std::vector<row> rows;
  try {
    weft::run([&] {
      rows.push_back(sleepers());
      rows.push_back(pipeline());
      rows.push_back(echo());
    });
  } catch (const std::exception& e) {
    std::fprintf(stderr, "demo: %s\n", e.what());
    return 1;
  } catch (...) {
    std::fprintf(stderr, "demo: unexpected exception (weft::cancelled?)\n");
    return 1;
  }

  std::printf("weft demo: every scene runs as fibers inside one weft::run\n\n");
  std::printf("  %-44s %s\n", "scene", "result");
  std::printf("  %-44s %s\n", "-----", "------");
  for (const row& r : rows) std::printf("  %-44s %s\n", r.scene.c_str(), r.result.c_str());
  if (!check) return 0;

  int failed = 0;
  std::printf("\n");
  for (const row& r : rows) {
    if (r.ok) continue;
    ++failed;
    std::printf("CHECK FAILED: %s: %s\n", r.scene.c_str(), r.why.c_str());
  }
  if (failed == 0) std::printf("check: all %zu scenes OK\n", rows.size());
  return failed == 0 ? 0 : 1;
}
