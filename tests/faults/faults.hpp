// tests/faults/faults.hpp — helpers for the fault tests: the loopback
// socket helpers of the hooks suite (tests/hooks/hooks_test.hpp: listen_tcp,
// connect_tcp, tcp_pair, reset_close, fill) plus /proc readings. Every
// test links libweft, so plain socket calls on fibers are hooked.
#pragma once
#include "hooks/hooks_test.hpp"

namespace weft_faults {

using namespace hooks_test;

// open_fds() counts this process's open fds.
int open_fds();
// rss_kib() is this process's resident set size.
long rss_kib();

}  // namespace weft_faults
