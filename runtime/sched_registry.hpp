// runtime/sched_registry.hpp — the process's live schedulers, and telling
// the carriers that watch an fd that its file went away.
//
// Design: every scheduler takes one of 64 slots while it lives. Pollers
// mark in the fd registry (fd_registry.hpp) which slots registered an fd,
// so forget_fd() — called before a close, dup2 or dup3 replaces an fd —
// knows which other carriers hold waiters or registrations for it (libco,
// coost and Photon track none of this and leave such waiters hanging).
// forget_fd() bumps the fd's incarnation and posts "forget fd of
// incarnation N" to the other carriers without waiting (waiting could
// deadlock: the carrier may be blocked by the very thread that closes).
// Each carrier wakes the waiters with `closed` when it reads its mailbox,
// and a carrier that waits on the reused number before that sees the stale
// incarnation itself.
#pragma once
#include <cstdint>

namespace weft::detail {

class scheduler;

// At most this many schedulers (carrier threads over all weft::run calls)
// live at once.
constexpr int max_schedulers = 64;

// register_scheduler() gives s a slot; throws usage_error if all are taken.
// Called by the scheduler's constructor.
int register_scheduler(scheduler* s);
// unregister_scheduler() frees the slot; no forget request reaches the
// scheduler afterwards. Called by the scheduler's destructor.
void unregister_scheduler(int slot) noexcept;
// keep_only_slot() forgets every other scheduler (their threads do not
// exist in a fork()ed child); slot -1 forgets them all. Fork child only.
void keep_only_slot(int slot) noexcept;

// note_watch()/clear_watch() record that the scheduler in `slot` has fd
// registered in its poller, or no longer has. That scheduler's thread only.
void note_watch(int fd, int slot) noexcept;
void clear_watch(int fd, int slot) noexcept;

// forget_fd() says the file under fd goes away: it bumps fd's incarnation,
// clears its facts, wakes the calling carrier's fibers waiting on fd with
// `closed` and drops its registration at once, and has every other carrier
// that watches fd do the same at its next maintenance. Call it before the
// fd is closed or replaced. Any thread or fiber; never blocks; keeps errno.
void forget_fd(int fd) noexcept;

}  // namespace weft::detail
