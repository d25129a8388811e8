// bench/echo_weft_api.cpp — the echo server written against the weft API: a
// fiber per connection (weft::spawn) under weft::run.
//
// --mode api (default): non-blocking sockets driven by raw syscalls and
//   weft::wait_io. A read shorter than the buffer drained the socket, so the
//   next wait goes straight to wait_io instead of trying a read that would
//   return EAGAIN: 2 syscalls per round trip plus a share of epoll_wait,
//   like the limit (the poller is edge-triggered, so no edge is lost).
// --mode hooked: plain blocking accept/read/write, so weft's libc hooks do
//   the waiting (what samples/echo_server measures: try, park on EAGAIN,
//   retry — 3 syscalls per round trip).
// Usage: echo_weft_api --port N [--workers N] [--mode api|hooked]
#include "net_common.hpp"

#include <weft/weft.hpp>

#include <sys/syscall.h>

namespace {

const char* const usage = "echo_weft_api --port N [--workers N] [--mode api|hooked]";
constexpr std::size_t buf_size = 16384;  // on the fiber stack (64 KiB default)

// sys() makes the raw syscall, bypassing weft's hooks.
template <class... A>
long sys(long nr, A... a) {
  return ::syscall(nr, a...);
}

// write_all_api() writes n bytes, waiting with wait_io when the kernel is full; false on error.
bool write_all_api(int fd, const char* p, std::size_t n) {
  while (n > 0) {
    long w = sys(SYS_write, fd, p, n);
    if (w < 0) {
      if (errno != EAGAIN) return false;
      weft::wait_io(fd, weft::io_event::writable);
      continue;
    }
    p += w;
    n -= static_cast<std::size_t>(w);
  }
  return true;
}

// serve_api() echoes one non-blocking connection with raw syscalls and wait_io.
void serve_api(int fd) {
  char buf[buf_size];
  bool drained = false;  // the last read was short: the socket was empty then
  for (;;) {
    if (drained) weft::wait_io(fd, weft::io_event::readable);
    long n = sys(SYS_read, fd, buf, sizeof buf);
    if (n < 0 && errno == EAGAIN) {
      drained = true;
      continue;
    }
    if (n <= 0 || !write_all_api(fd, buf, static_cast<std::size_t>(n))) break;
    drained = static_cast<std::size_t>(n) < sizeof buf;
  }
  weft::close_fd(fd);
}

// serve_hooked() echoes one blocking connection with plain read/write (hooked).
void serve_hooked(int fd) {
  char buf[buf_size];
  for (;;) {
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n <= 0) break;
    ssize_t w = ::write(fd, buf, static_cast<std::size_t>(n));  // a blocking write moves everything
    if (w != n) break;
  }
  ::close(fd);
}

// accept_loop() spawns a fiber per accepted connection, forever.
void accept_loop(int lfd, bool api) {
  for (;;) {
    int fd;
    if (api) {
      fd = static_cast<int>(sys(SYS_accept4, lfd, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC));
      if (fd < 0 && errno == EAGAIN) {
        weft::wait_io(lfd, weft::io_event::readable);
        continue;
      }
    } else {
      fd = ::accept4(lfd, nullptr, nullptr, SOCK_CLOEXEC);
    }
    if (fd < 0) {
      if (errno == EMFILE || errno == ENFILE) bench::die("accept4");
      continue;  // ECONNABORTED and friends: the next one
    }
    bench::set_nodelay(fd);
    weft::spawn([fd, api] { api ? serve_api(fd) : serve_hooked(fd); }).detach();
  }
}

}  // namespace

int main(int argc, char** argv) {
  long port = -1, workers = 1;
  std::string mode = "api";
  for (int i = 1; i < argc; ++i) {
    std::string v;
    if (bench::flag(argc, argv, i, "--port", v, usage)) port = bench::to_long(v, 0, 65535, usage);
    else if (bench::flag(argc, argv, i, "--workers", v, usage)) workers = bench::to_long(v, 1, 1024, usage);
    else if (bench::flag(argc, argv, i, "--mode", v, usage)) mode = v;
    else bench::usage_exit(usage);
  }
  if (port < 0 || (mode != "api" && mode != "hooked")) bench::usage_exit(usage);
  bench::raise_nofile();
  bench::exit_on_sigterm();
  bool api = mode == "api";
  int lfd = bench::listen_on(static_cast<int>(port), api);
  weft::config cfg;
  cfg.workers = static_cast<unsigned>(workers);
  weft::run(cfg, [&] {
    bench::announce(api ? "echo_weft_api" : "echo_weft_hooked", static_cast<int>(port));
    accept_loop(lfd, api);
  });
}
