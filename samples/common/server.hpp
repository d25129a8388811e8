// samples/common/server.hpp — what every sample server does around its
// per-connection code: listen on loopback, announce the port, accept with a
// fiber per connection, and stop cleanly on SIGINT/SIGTERM.
//
// Everything here is plain blocking POSIX code; inside weft::run the hooks
// in libweft turn each blocking call into a fiber park. The stop path: a
// fiber receives SIGINT/SIGTERM from a weft::signal_channel and closes the
// listening socket, which wakes the accepting fiber with EBADF.
#pragma once
#include "args.hpp"

#include <weft/run.hpp>

#include <functional>
#include <string>

namespace samples {

// listen_on(name, host, port) makes a listening TCP socket on host:port
// (port 0 = ephemeral) and prints the one line "<name>: listening on
// HOST:PORT" with the chosen port to stdout. Exits 1 with a message on
// failure. Call before or inside weft::run.
int listen_on(const char* name, const std::string& host, long port);

// serve(name, lfd, drain_ms, conn) accepts connections on lfd until
// SIGINT/SIGTERM, running conn(fd) on a fiber per connection (the fd is
// closed after conn returns; conn must not throw). Once a signal came it
// stops accepting, waits up to drain_ms for the connections to finish,
// cancels the ones left (their blocked calls fail with ECANCELED) and
// returns. Call on a fiber, once per process.
void serve(const char* name, int lfd, long drain_ms, const std::function<void(int fd)>& conn);

// run_config(workers) is the weft::config for --workers N.
weft::config run_config(long workers);

// The flags every server takes: --host (127.0.0.1), --port (0), --workers
// (1), --drain-ms (2000). server_usage is their usage text.
struct server_flags {
  std::string host;
  long port, workers, drain_ms;
};
inline constexpr const char* server_usage = "[--port N] [--host ADDR] [--workers N] [--drain-ms MS]";
// read_server_flags(a) reads them from a (then call a.done()).
server_flags read_server_flags(args& a);

// run_server(name, f, conn, before) is a server's whole life: it raises the
// soft fd limit to the hard one, then weft::run with f.workers: before() (if
// given) on the root fiber, listen_on, serve; it reports an escaped exception. Returns the exit code (0 after a clean stop).
int run_server(const char* name, const server_flags& f, const std::function<void(int fd)>& conn,
               const std::function<void()>& before = {});

// os_threads() is this process's OS thread count (/proc/self/status).
long os_threads();

}  // namespace samples
