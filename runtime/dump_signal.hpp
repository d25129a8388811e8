// runtime/dump_signal.hpp — WEFT_DUMP_SIGNAL: print weft::dump on a signal.
//
// Design: the signal handler only writes a byte to a self-pipe per carrier
// (async-signal-safe). Each carrier runs a small detached fiber,
// "weft-dump-signal", that waits for its pipe to become readable and then
// prints weft::dump(std::cerr, dump_detail::backtraces) from the scheduler,
// where walking the fiber list is safe. Limit: a carrier held by a fiber
// that never switches cannot print (use WEFT_MONITOR_MS for that case).
#pragma once

namespace weft::detail {

class scheduler;

// parse_signal(text, var) turns "SIGQUIT", "QUIT" or "3" into a signal
// number; throws usage_error naming var otherwise. Callable anywhere.
int parse_signal(const char* text, const char* var);

// start_dump_listener(sig) installs the handler for sig (once per process)
// and spawns the calling scheduler's listener fiber. Carrier thread, with
// its scheduler bound.
void start_dump_listener(int sig);

}  // namespace weft::detail
