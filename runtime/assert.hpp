// runtime/assert.hpp — always-on invariant checks.
//
// WEFT_ASSERT(cond, fmt, ...) stays on in release builds (like Go's throw()
// or libdill's dill_assert): a broken invariant prints where and why, then
// aborts, rather than limping on into undefined behaviour.
#pragma once

namespace weft::detail {
[[noreturn]] __attribute__((format(printf, 4, 5))) void assert_fail(const char* cond, const char* file,
                                                                    int line, const char* fmt, ...) noexcept;
}  // namespace weft::detail

#define WEFT_ASSERT(cond, ...)                                                      \
  do {                                                                              \
    if (__builtin_expect(!(cond), 0))                                               \
      ::weft::detail::assert_fail(#cond, __FILE__, __LINE__, __VA_ARGS__);          \
  } while (0)
