// runtime/sanitizer.hpp — telling ASan and TSan about fiber switches.
//
// Design: Debian's Boost.Context is an fcontext build without sanitizer
// hooks, so the scheduler calls these helpers around each of its own
// switches (jump_to, finish, and resume_slow, which every resumed fiber
// and fiber_entry run: scheduler.hpp resume_word()). In builds without -fsanitize=address/thread (GCC
// defines __SANITIZE_ADDRESS__ / __SANITIZE_THREAD__) they are empty inline
// functions and fiber_san is an empty member, so normal builds pay nothing.
//   ASan: start_switch_fiber(&fake, bottom, size) names the stack we go to
//   (its fake stack saved in the leaving fiber; nullptr when the leaving
//   fiber ends, so ASan frees it); finish_switch_fiber(fake, &b, &s) in the
//   resumed fiber returns the bounds of the stack we came from, which is how
//   the run() thread's own stack (main context) learns its bounds.
//   TSan: a TSan fiber per weft fiber (the main context uses the thread's
//   own), switched to before each jump; an ended fiber's TSan fiber is
//   destroyed by the next fiber to run, once off that stack.
#pragma once
#include <cerrno>
#include <cstddef>

#if defined(__SANITIZE_ADDRESS__)
#include <sanitizer/asan_interface.h>
#define WEFT_ASAN 1
#endif
#if defined(__SANITIZE_THREAD__)
#include <sanitizer/tsan_interface.h>
#define WEFT_TSAN 1
#endif

namespace weft::detail {

// Per-fiber sanitizer state (a member of fiber_ctl; empty in normal builds).
struct fiber_san {
#ifdef WEFT_ASAN
  void* fake_stack = nullptr;      // ASan fake stack while switched out
  const void* bottom = nullptr;    // stack bounds (main context: learnt)
  std::size_t size = 0;
#endif
#ifdef WEFT_TSAN
  void* tsan = nullptr;            // TSan fiber
#endif
};

// sanitized is true in ASan/TSan builds. The sanitizers learn of threads
// through their pthread_create interceptor, which a dlsym(RTLD_NEXT) lookup
// skips, so os_thread.cpp then starts carriers with the plain symbol (such
// builds are never LD_PRELOADed: tests/hooks/meson.build).
#if defined(WEFT_ASAN) || defined(WEFT_TSAN)
inline constexpr bool sanitized = true;
#else
inline constexpr bool sanitized = false;
#endif

#if defined(WEFT_ASAN) || defined(WEFT_TSAN)
namespace san_detail {
#ifdef WEFT_TSAN
inline thread_local void* tl_dead_tsan = nullptr;  // ended fiber's, to destroy
#endif
}  // namespace san_detail
#endif

// san_init_fiber(s, bottom, size, is_main) sets up a fiber's state when its
// stack is made (bottom/size: usable stack; main: the calling thread's).
inline void san_init_fiber([[maybe_unused]] fiber_san& s, [[maybe_unused]] const void* bottom,
                           [[maybe_unused]] std::size_t size, [[maybe_unused]] bool is_main) noexcept {
#ifdef WEFT_ASAN
  s.bottom = bottom;
  s.size = size;
  // A pooled stack keeps the shadow of the fiber that ended on it (its
  // outermost frames never returned, so their redzones stay poisoned).
  if (bottom) __asan_unpoison_memory_region(bottom, size);
#endif
#ifdef WEFT_TSAN
  s.tsan = is_main ? __tsan_get_current_fiber() : __tsan_create_fiber(0);
#endif
}

// san_before_switch(from, to) runs just before jumping from `from` (nullptr:
// it is ending) to `to`.
inline void san_before_switch([[maybe_unused]] fiber_san* from, [[maybe_unused]] fiber_san& to) noexcept {
#ifdef WEFT_ASAN
  __sanitizer_start_switch_fiber(from ? &from->fake_stack : nullptr, to.bottom, to.size);
#endif
#ifdef WEFT_TSAN
  __tsan_switch_to_fiber(to.tsan, 0);
#endif
}

// san_ending(s) runs in a fiber that is about to end (before its control
// block may be freed); its TSan fiber is destroyed after the switch.
inline void san_ending([[maybe_unused]] fiber_san& s) noexcept {
#ifdef WEFT_TSAN
  san_detail::tl_dead_tsan = s.tsan;
  s.tsan = nullptr;
#endif
}

// san_after_switch(self, from) runs first thing in the resumed fiber; from
// is the fiber we came from, or nullptr if it ended. It keeps errno: the
// switching side has already loaded the resumed fiber's.
inline void san_after_switch([[maybe_unused]] fiber_san& self, [[maybe_unused]] fiber_san* from) noexcept {
#if defined(WEFT_ASAN) || defined(WEFT_TSAN)
  int saved_errno = errno;
#endif
#ifdef WEFT_ASAN
  const void* b = nullptr;
  std::size_t n = 0;
  __sanitizer_finish_switch_fiber(self.fake_stack, &b, &n);
  if (from && !from->bottom) {
    from->bottom = b;
    from->size = n;
  }
#endif
#ifdef WEFT_TSAN
  if (void* dead = san_detail::tl_dead_tsan) {
    san_detail::tl_dead_tsan = nullptr;
    __tsan_destroy_fiber(dead);
  }
#endif
#if defined(WEFT_ASAN) || defined(WEFT_TSAN)
  errno = saved_errno;
#endif
}

}  // namespace weft::detail
