// weft/detail/resume.hpp — the first thing a fiber does when it is resumed.
//
// Design: a switch is Boost.Context's jump_fcontext. It suspends the caller
// at its return address and hands the fiber it resumes a pair: the
// suspended context, and a word that the switching side chose. The resumed
// side must store that context where the next switch to the suspended fiber
// will find it; the word says where:
//   - an even word is the address of the suspended fiber's context slot:
//     store the context there (the fast path, inline below);
//   - an odd word (a fiber control block address + 1, or 1 when the
//     suspended fiber ended) goes to finish_resume(): stack freeing, the
//     sanitizer hooks.
// this_fiber::yield() is inline so that its switch is a tail call out of
// yield_switch(): the suspended fiber then resumes directly in the code
// that called yield(), with no return from a library function after the
// switch. Such a return is mispredicted on every switch, because the CPU's
// return-address stack holds the other fiber's calls; the tail call keeps
// a yield at the cost of a bare Boost.Context switch (docs/performance.md).
//
// These are internals of this_fiber::yield(); user code does not call them.
#pragma once
#include <weft/detail/export.hpp>

#include <cstdint>

namespace weft::detail {

// What a switch hands the resumed fiber (the layout of Boost.Context's
// transfer_t: returned in two registers).
struct resume_info {
  void* fctx;  // context of the fiber that was suspended
  void* slot;  // where to store it (even), or a tagged word (odd)
};

// yield_switch() does this_fiber::yield() up to and including the switch
// and returns, in the resumed fiber, what resumed() must be given. Throws
// weft::cancelled at a cancellation request. Only this_fiber::yield().
WEFT_API resume_info yield_switch();

// finish_resume() is resumed()'s path for an odd word. Runtime only.
WEFT_API void finish_resume(resume_info r) noexcept;

// resumed(r) runs first in a resumed fiber (or after a switch that did not
// happen: then r.slot is the running fiber's own slot).
inline void resumed(resume_info r) noexcept {
  if (__builtin_expect((reinterpret_cast<std::uintptr_t>(r.slot) & 1) == 0, 1))
    *static_cast<void**>(r.slot) = r.fctx;
  else
    finish_resume(r);
}

}  // namespace weft::detail
