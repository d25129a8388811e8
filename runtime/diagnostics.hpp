// runtime/diagnostics.hpp — what a carrier sets up for debugging when its
// scheduler binds: the stack-overflow report (overflow.hpp), the table
// debuggers read (debug_table.hpp), the dump on WEFT_DUMP_SIGNAL
// (dump_signal.hpp) and the blocking monitor (monitor.hpp).
#pragma once

namespace weft::detail {

class scheduler;

// diagnostics_attach(s) is called by scheduler::bind() on the carrier, after
// s is bound; diagnostics_detach(s) by scheduler::unbind(), before.
void diagnostics_attach(scheduler& s) noexcept;
void diagnostics_detach(scheduler& s) noexcept;

}  // namespace weft::detail
