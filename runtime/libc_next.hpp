// runtime/libc_next.hpp — the one way weft finds the libc functions it
// interposes, or that a preloaded interposer may take over.
//
// The hooks interpose libc symbols (read, connect, pthread_create...), so
// calling them from inside weft would call weft again. Inside weft, the
// real function is the next definition after this object, found with
// dlsym(RTLD_NEXT) on first use (so calls made before any constructor ran
// work too), falling back to the default lookup when nothing follows (a
// static link). WEFT_REAL(fn) caches it per call site. The runtime itself
// mostly makes raw syscalls instead.
#pragma once
#include <atomic>

namespace weft::detail {

// libc_next() is the next definition of `name` after this object; aborts
// with a message if there is none. Any thread; cache the result.
void* libc_next(const char* name) noexcept;
// libc_next_opt() is the next definition of `name`, or nullptr when libc
// lacks it (no default-lookup fallback: that could find weft's own hook).
void* libc_next_opt(const char* name) noexcept;

// libc_fn<F>() is libc_next() cast to the function type F.
template <class F>
F libc_fn(const char* name) noexcept {
  return reinterpret_cast<F>(libc_next(name));
}

// cached_next() is libc_next(name) through a per-call-site cache.
inline void* cached_next(std::atomic<void*>& slot, const char* name) noexcept {
  void* f = slot.load(std::memory_order_acquire);
  if (__builtin_expect(f == nullptr, 0)) {
    f = libc_next(name);
    slot.store(f, std::memory_order_release);
  }
  return f;
}

}  // namespace weft::detail

// WEFT_REAL(fn) is the real libc `fn` with fn's own type; WEFT_REAL_AS(T,
// name) the same for a function the headers do not declare (__read_chk...).
#define WEFT_REAL_AS(T, name)                                              \
  ([]() noexcept {                                                        \
    static constinit std::atomic<void*> slot{nullptr};                    \
    return reinterpret_cast<T>(::weft::detail::cached_next(slot, name));  \
  }())
#define WEFT_REAL(fn) WEFT_REAL_AS(decltype(&::fn), #fn)
