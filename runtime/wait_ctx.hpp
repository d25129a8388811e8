// runtime/wait_ctx.hpp — what can block: a fiber or a plain OS thread.
//
// Every waiter names its owner as a wait_ctx. A fiber's context is its
// fiber_ctl (which derives from wait_ctx); a plain thread's is a
// thread-local thread_ctx that sleeps on a futex; another fiber library's
// fiber hosted by a weft fiber is a foreign_ctx (weft/detail/foreign.hpp).
#pragma once
#include <weft/detail/foreign.hpp>
#include <weft/detail/wait.hpp>

#include <atomic>
#include <cstdint>

namespace weft::detail {

struct wait_ctx {
  bool is_fiber;                          // fiber_ctl, or thread_ctx / foreign_ctx
  bool is_foreign = false;                // foreign_ctx (is_fiber is false)
  std::atomic<bool> cancel_requested{false};  // sticky; fibers only
  ns_t scope_deadline = no_deadline;      // innermost weft::timeout
};

// A plain OS thread blocking in a weft primitive.
struct thread_ctx : wait_ctx {
  std::atomic<std::uint32_t> woken{0};  // futex word: 1 once wake_up() ran
  constexpr thread_ctx() : wait_ctx{false} {}
};

// A foreign library's fiber blocking in a weft primitive: parked and woken
// through its library's ops (weft/detail/foreign.hpp).
struct foreign_ctx : wait_ctx {
  const foreign_ops* ops;
  void* self;
  foreign_ctx(const foreign_ops* o, void* s) : wait_ctx{false, true}, ops(o), self(s) {}
};

}  // namespace weft::detail

namespace weft::detail {
// block_local() is block() for waits whose claimers all run on the caller's
// own thread (fd waits, sleeps), so there is no lock to release.
wake block_local(waiter& w, const wait_opts& o);
}  // namespace weft::detail
