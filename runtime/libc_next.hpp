// runtime/libc_next.hpp — libc functions past any interposer.
//
// The runtime calls a few libc functions that weft itself interposes
// (sigaction, in hooks/) or that a preloaded interposer may take over
// (pthread_create, pthread_join, pthread_kill, in hooks/threads/). It finds
// them with dlsym(RTLD_NEXT), falling back to the default lookup when
// nothing follows this object (a static link).
#pragma once

namespace weft::detail {

// libc_next() is the next definition of `name` after this object; aborts
// with a message if there is none. Any thread; cache the result.
void* libc_next(const char* name) noexcept;

// libc_fn<F>() is libc_next() cast to the function type F.
template <class F>
F libc_fn(const char* name) noexcept {
  return reinterpret_cast<F>(libc_next(name));
}

}  // namespace weft::detail
