// runtime/sched_registry.hpp — the process's live schedulers, and which of
// them watch each fd.
//
// Design: every scheduler takes one of 64 slots while it lives. Each poller
// marks, per fd, the slots that registered the fd (one atomic bit set per
// registration, i.e. once per fd lifetime per scheduler), so forget_fd() —
// called before a close, dup2 or dup3 replaces an fd — knows which other
// carriers hold waiters or registrations for it (libco, coost and Photon
// track none of this and leave such waiters hanging).
// Each fd number also has an incarnation, bumped by forget_fd() when other
// carriers watch it. A poller stores the incarnation it registered; a
// registration whose incarnation is no longer current belongs to a closed
// file. forget_fd() posts "forget fd of incarnation N" to the other
// carriers and returns without waiting (waiting could deadlock: the carrier
// may be blocked by the very thread that closes). Each carrier wakes the
// waiters with `closed` when it reads its mailbox, and a carrier that waits
// on the reused number before that sees the stale incarnation itself.
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
// exist in a fork()ed child). Fork child handler only.
void keep_only_slot(int slot) noexcept;

// note_watch()/clear_watch() record that the scheduler in `slot` has fd
// registered in its poller, or no longer has. That scheduler's thread only.
void note_watch(int fd, int slot) noexcept;
void clear_watch(int fd, int slot) noexcept;

// fd_incarnation() is fd's current incarnation (0 until first bumped).
// Any thread; one atomic load.
std::uint32_t fd_incarnation(int fd) noexcept;

// forget_fd() wakes the calling carrier's fibers waiting on fd with
// `closed` and drops its registration at once, and has every other carrier
// that watches fd do the same at its next maintenance. Call it before the
// fd is closed or replaced. Any thread or fiber; never blocks; keeps errno.
void forget_fd(int fd) noexcept;

}  // namespace weft::detail
