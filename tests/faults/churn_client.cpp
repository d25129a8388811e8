// tests/faults/churn_client.cpp PORT CONNS ROUNDS — the client half of
// test_faults_churn: per round, opens CONNS connections to 127.0.0.1:PORT
// (at most 256 connecting at once), echoes one byte on each, holds them all
// open, then closes them all (with RST, so no TIME_WAIT piles up across
// rounds), writes "R\n" to stdout and waits for a line on stdin before the
// next round. Exits 1 with a message on stderr if anything fails.
#include "faults.hpp"

#include <cstdio>
#include <cstdlib>
#include <vector>

// fail() reports what went wrong and gives the exit status.
static int fail(const char* what) {
  std::fprintf(stderr, "churn_client: %s failed: errno %d\n", what, errno);
  return 1;
}

int main(int argc, char** argv) {
  if (argc != 4) {
    std::fprintf(stderr, "usage: churn_client PORT CONNS ROUNDS\n");
    return 2;
  }
  const int port = std::atoi(argv[1]), conns = std::atoi(argv[2]), rounds = std::atoi(argv[3]);
  return weft::run([&] {
    for (int r = 0; r < rounds; ++r) {
      weft::semaphore connecting(256);
      weft::wait_group echoed;
      weft::event close_now;
      std::atomic<int> failures{0};
      std::vector<weft::fiber<>> fs;
      fs.reserve(conns);
      echoed.add(conns);
      for (int i = 0; i < conns; ++i)
        fs.push_back(weft::spawn([&] {
          connecting.acquire();
          int fd = weft_faults::connect_tcp(port);
          connecting.release();
          char b = 0;
          if (fd < 0 || ::write(fd, "x", 1) != 1 || ::read(fd, &b, 1) != 1 || b != 'x') {
            if (failures.fetch_add(1) == 0) std::fprintf(stderr, "churn_client: connection failed: errno %d\n", errno);
          }
          echoed.done();
          close_now.wait();
          if (fd >= 0) weft_faults::reset_close(fd);
        }));
      echoed.wait();
      close_now.set();
      for (auto& f : fs) f.join();
      if (failures.load()) return 1;
      if (::write(1, "R\n", 2) != 2) return fail("write to stdout");
      char line[8];
      if (::read(0, line, sizeof line) <= 0) return fail("read from stdin");
    }
    return 0;
  });
}
