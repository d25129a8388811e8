// runtime/fiber_backtrace.hpp — backtraces of suspended fibers.
//
// Design: a switched-out fiber's saved fcontext points at the registers
// jump_fcontext pushed (callee-saved registers, then the return address).
// From those we build a machine context as if the fiber had stopped right
// after the jump and let libunwind walk it with the DWARF unwind tables, so
// it works without frame pointers. libunwind (libunwind.so.8) is dlopen()ed
// privately (RTLD_LOCAL) on first use: linking it would put its _Unwind_*
// symbols in the process and compete with libgcc_s's exception unwinder.
// Without libunwind, or on a platform whose fcontext layout is not known
// here, backtraces are reported as unavailable. Limit: frames whose code has
// no unwind tables (hand-written assembly without CFI) end the walk.
#pragma once
#include <cstddef>
#include <ostream>

namespace weft::detail {

struct fiber_ctl;

// write_saved_backtrace(os, f, indent) writes one line per frame of the
// suspended fiber f (not the running one) with demangled names, or a line
// saying why it cannot. Scheduler thread of f only (its stack must not run).
void write_saved_backtrace(std::ostream& os, const fiber_ctl* f, const char* indent);

}  // namespace weft::detail
