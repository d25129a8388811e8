// samples/echo_server.cpp — a TCP echo server, one fiber per connection,
// written with plain blocking POSIX calls.
//
//   echo_server [--port N] [--host ADDR] [--workers N] [--drain-ms MS]
//
// There is no weft I/O API in here: accept(), read() and write() are the
// ordinary blocking calls, and the hooks in libweft park the calling fiber
// instead of the thread (samples/common/io.hpp only adds the usual EINTR and
// short-write loops). It is the server the echo benchmarks measure, so
// the per-round-trip path is one read() and one write(). SIGINT/SIGTERM
// stop accepting, give open connections --drain-ms to finish, and exit 0.
#include "common/args.hpp"
#include "common/io.hpp"
#include "common/server.hpp"

#include <weft/weft.hpp>

#include <unistd.h>


namespace {

// echo(fd) echoes until the peer closes, an error, or cancellation. Fiber only.
void echo(int fd) {
  char buf[4096];
  for (;;) {
    ssize_t n = samples::read_some(fd, buf, sizeof buf);  // parks this fiber until data arrives
    if (n <= 0) return;  // EOF, error, or ECANCELED at shutdown
    if (!samples::write_all(fd, buf, static_cast<size_t>(n))) return;  // one blocking write
  }
}

}  // namespace

int main(int argc, char** argv) {
  samples::args a(argc, argv, samples::server_usage);
  samples::server_flags f = samples::read_server_flags(a);
  a.done();
  return samples::run_server("echo_server", f, echo);
}
