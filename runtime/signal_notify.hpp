// runtime/signal_notify.hpp — delivering caught signals to receivers
// (weft::signal_channel, weft::on_signal: include/weft/signal.hpp).
//
// Design notes
//  1. Catching. The first receiver of a signal installs the runtime's
//     handler (runtime_sigaction, past any hook) and keeps the action it
//     replaced. The handler runs that action first (a handler the program
//     installed before), then counts the signal. A handler the program
//     installs later replaces the runtime's in the kernel; through weft's
//     sigaction hook it runs behind the hooks' trampoline, which calls
//     signal_caught() (signals.hpp), which counts the signal too. The count
//     happens once per delivery: while the runtime's handler runs the
//     chained action, signal_caught() on that thread does not count (a
//     chain that leads back into the runtime's handler returns at once);
//     and when the runtime's handler runs as the program's own (the
//     program put back the action sigaction reported, so the trampoline
//     calls it), the kernel holds another handler: it marks the thread,
//     and the trampoline's signal_caught() that follows does not count
//     again. (Without the hooks no trampoline follows; the mark then
//     stays unread, harmless.)
//     The last receiver puts the replaced action back if the kernel still
//     holds the runtime's handler (else the program changed it since, and
//     its choice stands).
//  2. Counting is async-signal-safe: one atomic counter per signal and an
//     eventfd write. Nothing else happens in the handler: receivers take
//     locks and channels' spinlocks, which the interrupted code may hold.
//  3. Delivery. One runtime thread (started with the first receiver, with
//     asynchronous signals blocked) reads the eventfd and hands each new
//     count to every receiver of the signal under the registry's lock, so
//     that a receiver that unsubscribed gets nothing afterwards. Receivers
//     never block (a signal_channel drops a delivery when full, as Go's
//     signal.Notify does). Rejected: signalfd (the signal would have to be
//     blocked in every thread, which breaks the program's own handlers and
//     its children's masks); waking fibers from the handler (locks).
//  4. A fork()ed child has no delivery thread; the next subscription made
//     there starts one (the registry's receivers are the parent's copies).
#pragma once

namespace weft::detail {

// note_caught() counts a delivery of sig for its receivers unless the
// runtime's own handler is counting it on this thread (note 1). Signal
// handlers only (signal_caught); async-signal-safe.
void note_caught(int sig) noexcept;
// signal_notify_fork_child() renews the registry's locks and forgets the
// delivery thread (note 4). fork() child handler only.
void signal_notify_fork_child() noexcept;
// signal_receivers_active() is true while some signal has a receiver
// (signal_channel, on_signal): a signal another process sends may then
// wake a fiber. Any thread (deadlock.hpp).
bool signal_receivers_active() noexcept;

}  // namespace weft::detail
