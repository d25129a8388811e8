// runtime/overflow.hpp — a readable report when a fiber overflows its stack.
//
// Design: every fiber stack has a guard page below it (stack_pool.hpp). A
// process-wide SIGSEGV/SIGBUS handler, run on a per-carrier alternate stack
// (sigaltstack) because the faulting stack has no room left, checks whether
// the fault lies in the guard region of the fiber running on that carrier.
// If so it prints
//     weft: fiber 42 "conn-handler" overflowed its 64 KiB stack
// plus the faulting address and a backtrace (write(2) and
// backtrace_symbols_fd only; backtrace() is warmed up at install time so it
// does not dlopen libgcc_s inside the handler), then aborts. Any other fault
// goes to the action that was installed before ours (a chained handler, or
// the default action, re-raised so the process dies of the same signal and
// dumps core as it would have without weft).
#pragma once

namespace weft::detail {

// install_overflow_handler() installs the process-wide handler (once) and an
// alternate signal stack for the calling thread (once per thread, unless the
// thread already has one big enough). Called by scheduler::bind() on each
// carrier thread; safe to call again.
void install_overflow_handler() noexcept;

}  // namespace weft::detail
