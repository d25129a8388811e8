// weft/dump.hpp — a readable listing of the fibers of this thread's scheduler.
#pragma once
#include <weft/detail/export.hpp>

#include <iosfwd>

namespace weft {

// How much dump() writes per fiber.
enum class dump_detail : unsigned char {
  fibers,      // one line per fiber
  backtraces,  // the line, then the backtrace of each suspended fiber
};

// dump(os) writes one line per live fiber of the calling thread's scheduler:
// id, name, state, what it waits for (`read fd 7`, `sleep 120 ms left`,
// `channel recv`, `mutex`, `join fiber 9`) and for how long, and where it was
// spawned; with dump_detail::backtraces, each suspended fiber's stack too.
// Call it from a fiber or from run()'s thread. The same dump is printed to
// stderr on the signal named by WEFT_DUMP_SIGNAL (e.g. SIGQUIT).
WEFT_API void dump(std::ostream& os, dump_detail detail = dump_detail::fibers);

}  // namespace weft
