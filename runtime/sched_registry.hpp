// runtime/sched_registry.hpp — the process's live schedulers, and which of
// them watch each fd.
//
// Design: every scheduler takes one of 64 slots while it lives. Each poller
// marks, per fd, the slots that registered the fd (one atomic bit set per
// registration, i.e. once per fd lifetime per scheduler), so forget_fd() —
// called before a close, dup2 or dup3 replaces an fd — knows which other
// carriers hold waiters or registrations for it. It asks each of them to
// forget the fd and waits until they all have, so the fd number cannot be
// reused while a stale registration survives anywhere (Go's netpoll does the
// same with its per-fd lock; libco, coost and Photon do not).
#pragma once

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

// forget_fd() wakes every fiber of every scheduler waiting on fd with
// `closed` and drops all poller registrations of fd; it returns once all
// carriers have done so. Call it before the fd is closed or replaced. Any
// thread or fiber; keeps errno.
void forget_fd(int fd) noexcept;

}  // namespace weft::detail
