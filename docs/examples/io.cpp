// docs/examples/io.cpp — waiting for file descriptors (docs/api.md).
#include <weft/weft.hpp>

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>

using namespace std::chrono_literals;

int main() {
  int p[2];
  if (pipe2(p, O_NONBLOCK) != 0) return 1;
  int rc = weft::run([&] {
    auto writer = weft::spawn([&] {
      weft::this_fiber::sleep_for(5ms);
      (void)!write(p[1], "hi", 2);
    });
    char buf[8];
    ssize_t n;
    // The non-blocking pattern: try, and on EAGAIN park until readable.
    while ((n = read(p[0], buf, sizeof buf)) < 0 && errno == EAGAIN) weft::wait_io(p[0], weft::io_event::readable);
    writer.join();
    bool idle = !weft::wait_io_for(p[0], weft::io_event::readable, 5ms);  // nothing more: false
    std::printf("read %zd bytes, then idle=%d\n", n, idle);
    return n == 2 && idle ? 0 : 1;
  });
  weft::close_fd(p[0]);
  close(p[1]);
  return rc;
}
