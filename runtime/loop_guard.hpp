// runtime/loop_guard.hpp — what the wait protocol needs to know about loop
// callbacks (weft/loop.hpp, runtime/loop.cpp): a callback must not park.
//
// While the loop dispatcher runs a callback, tl_callback_fiber names the
// dispatcher fiber. fiber_block (wait.cpp) checks it: an interruptible wait
// of that fiber ends at once, self-claimed as `cancelled` exactly as a
// pending cancel would (so every primitive unwinds its queue as usual),
// with tl_callback_blocked set; raise() then throws usage_error instead of
// cancelled. A hooked call (read on a blocking fd) gets the hooks' answer
// to a cancelled wait, -1 with ECANCELED, and the dispatcher logs the
// refusal when the callback returns with the flag still set. A
// non-interruptible wait (weft::mutex::lock) cannot end early without
// breaking its caller: it parks, stalling the loop, and is logged.
#pragma once
#include <weft/detail/wait.hpp>

namespace weft::detail {

struct fiber_ctl;

// The dispatcher fiber while it runs a callback, else nullptr. Carrier
// thread only.
extern __attribute__((tls_model("initial-exec"))) thread_local fiber_ctl* tl_callback_fiber;
// Set by fiber_block when it refused a callback's wait; read and cleared
// by raise() and the dispatcher. Carrier thread only.
extern __attribute__((tls_model("initial-exec"))) thread_local bool tl_callback_blocked;
// callback_refused() is fiber_block's cold path for the dispatcher inside
// a callback: an interruptible wait (`intr`) is claimed as cancelled, lk
// released, tl_callback_blocked set, and it returns true (fiber_block
// returns cancelled); any other wait is logged and false (it parks).
// Carrier thread, with lk held as block() has it.
bool callback_refused(waiter& w, spinlock* lk, bool intr, wait_reason r) noexcept;

}  // namespace weft::detail
