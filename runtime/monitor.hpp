// runtime/monitor.hpp — the blocking monitor (WEFT_MONITOR_MS,
// config::monitor_ms), gevent's max_blocking_time.
//
// Design: one watchdog thread per process samples every registered carrier
// every threshold/4. A carrier is "held" while its scheduler's progress()
// (a count of picks, see scheduler.hpp) stands still and it is not idle in
// the poller. Once it has been held for the threshold, the watchdog sends
// the carrier thread a real-time signal (pthread_sigqueue, carrying the held
// time); the handler, on the carrier's alternate stack, prints the running
// fiber's name and the carrier's backtrace with async-signal-safe writes.
// One report per episode: the next comes only after the carrier switched.
// Cost on the switch path: none beyond the existing pick counter.
// Side effect: a blocking system call the fiber is stuck in is interrupted
// once; calls that restart (SA_RESTART) do, others (nanosleep, poll,
// epoll_wait, ...) return EINTR as for any signal.
#pragma once

namespace weft::detail {

class scheduler;

// monitor_attach(s, ms) watches s, which runs on the calling thread, with
// threshold ms (> 0). Carrier thread, when its scheduler is bound.
void monitor_attach(scheduler& s, unsigned ms);
// monitor_detach(s) stops watching s; after it returns the watchdog no
// longer touches s. Carrier thread, before its scheduler unbinds.
void monitor_detach(scheduler& s) noexcept;

}  // namespace weft::detail
