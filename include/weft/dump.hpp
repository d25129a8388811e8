// weft/dump.hpp — a readable listing of the fibers of this thread's scheduler.
#pragma once
#include <weft/detail/export.hpp>

#include <iosfwd>

namespace weft {

// dump(os) writes one line per live fiber of the calling thread's scheduler:
// id, name, state, what it waits for and for how long, and where it was
// spawned. Call it from a fiber or from run()'s thread.
WEFT_API void dump(std::ostream& os);

}  // namespace weft
