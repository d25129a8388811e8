// weft/detail/foreign.hpp — the seam through which another fiber library's
// fibers wait in weft primitives (used by weft_boost_fiber; see
// docs/design.md, "Boost.Fiber interop").
//
// A weft fiber may *host* a foreign scheduler: foreign fibers then run on
// the host's carrier, on their own stacks, while weft sees only the host as
// running. Without this seam a foreign fiber that waits in a weft primitive
// (channel, mutex, a hooked recv, a sleep) would park the host, and every
// foreign fiber with it. With it:
//   - the host installs a per-thread park provider (set_park_provider);
//     current_ctx() asks it, but only while the host fiber itself is the
//     running weft fiber, which context is waiting: a foreign context
//     (foreign_ctx_create) for a foreign fiber, or nullptr when the host
//     fiber itself is to wait as any weft fiber does (for Boost.Fiber: in
//     its dispatcher's idle wait);
//   - block() on a waiter owned by a foreign context calls its ops->park,
//     which suspends only that foreign fiber; wake_up() calls ops->wake.
// The claim protocol of wait.hpp is unchanged: a foreign waiter is claimed
// exactly once, by a notifier, a close, or its deadline (which the park
// function must enforce itself: weft's timer heap holds only weft fibers).
// Cancellation never reaches a foreign context (it has no weft handle);
// weft::timeout scopes in a foreign fiber do (scope_deadline is per context).
#pragma once
#include <weft/detail/export.hpp>
#include <weft/detail/wait.hpp>

namespace weft::detail {

// How one foreign library parks and wakes its fibers.
struct foreign_ops {
  // park() is called on the foreign fiber (the one that owns w) with `lk`
  // held, or with lk == nullptr for waits whose claimers all run on this
  // thread. It must release lk only once a wake can no longer be lost,
  // suspend the foreign fiber until w is claimed, and, if `deadline` is not
  // no_deadline, claim w itself with `on_deadline` once it passes.
  void (*park)(void* self, waiter& w, spinlock* lk, ns_t deadline, wake on_deadline);
  // wake() makes the foreign fiber whose waiter was claimed runnable again.
  // Any thread; called exactly once per claim.
  void (*wake)(void* self) noexcept;
};

// foreign_ctx_create() makes a wait context for one foreign fiber; `self`
// is passed back to ops. foreign_ctx_destroy() frees it (no waiter of it may
// be queued). Any thread.
WEFT_API wait_ctx* foreign_ctx_create(const foreign_ops* ops, void* self);
WEFT_API void foreign_ctx_destroy(wait_ctx* c) noexcept;

// A park provider answers, on its host's carrier while the host fiber runs,
// the foreign context of the foreign fiber on the CPU, or nullptr when the
// host weft fiber itself is the one to wait.
using park_provider = wait_ctx* (*)() noexcept;

// set_park_provider() makes the calling weft fiber a host: from now on
// current_ctx() asks fn while this fiber runs. set_park_provider(nullptr)
// ends it. Fiber only (usage_error elsewhere, or when another fiber of the
// carrier is already a host).
WEFT_API void set_park_provider(park_provider fn);

// host_yield() lets the other weft fibers of the carrier run once, unless
// the host has been cancelled; returns whether it has. The host's carrier,
// while the host fiber runs (on any of its foreign stacks); never throws.
WEFT_API bool host_yield() noexcept;

}  // namespace weft::detail
