// runtime/raw_syscall.hpp — a syscall without libc: sys(nr, args...)
// returns the kernel's answer as is, the result or -errno, and touches no
// errno. For the I/O hot path (io_attempt.cpp); x86-64.
#pragma once
#include <cstdint>

namespace weft::detail {

// sys() makes syscall nr with up to six integer or pointer arguments.
// Callable anywhere (async-signal-safe).
template <class... A>
inline long sys(long nr, A... args) noexcept {
  static_assert(sizeof...(A) <= 6, "at most six syscall arguments");
  long a[6] = {(long)(args)...};
  register long r10 asm("r10") = a[3];
  register long r8 asm("r8") = a[4];
  register long r9 asm("r9") = a[5];
  long ret;
  asm volatile("syscall"
               : "=a"(ret)
               : "a"(nr), "D"(a[0]), "S"(a[1]), "d"(a[2]), "r"(r10), "r"(r8), "r"(r9)
               : "rcx", "r11", "memory");
  return ret;
}

}  // namespace weft::detail
