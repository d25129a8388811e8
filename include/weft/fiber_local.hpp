// weft/fiber_local.hpp — weft::fiber_local<T>, a value per fiber (gevent's
// local, Boost's fiber_specific_ptr).
//
// Each fiber that touches a fiber_local gets its own T, made on first use
// (by the initializer given at construction, else T's default constructor)
// and destroyed on that fiber right after its function returns or throws
// (cancellation too). On a plain thread, or on run()'s own thread outside
// any fiber, the value is per thread and destroyed at thread exit. Values
// outlive the fiber_local object that made them: they are destroyed with
// their fiber or thread, never earlier. A fiber_local may be used from any
// fiber or thread; each sees only its own value.
#pragma once
#include <weft/detail/export.hpp>

#include <cstdint>
#include <functional>
#include <utility>

namespace weft {

namespace detail {
// The per-fiber / per-thread tables (runtime/fiber_local.cpp). Each call
// acts on the caller's own table; callable from fibers and plain threads.
WEFT_API std::uint64_t local_key() noexcept;                               // a fresh key
WEFT_API void* local_get(std::uint64_t key) noexcept;                      // value or nullptr
WEFT_API void local_set(std::uint64_t key, void* value, void (*dtor)(void*));  // replaces; nullptr erases
}  // namespace detail

template <class T>
class fiber_local {
  std::uint64_t key_ = detail::local_key();
  std::function<T()> init_;

  static void destroy(void* p) noexcept { delete static_cast<T*>(p); }

 public:
  // fiber_local() makes each fiber's value with T{} on first use.
  fiber_local() = default;
  // fiber_local(init) makes each fiber's value with init() on first use.
  template <class Init>
  explicit fiber_local(Init init) : init_(std::move(init)) {}
  fiber_local(const fiber_local&) = delete;
  fiber_local& operator=(const fiber_local&) = delete;

  // get() is the caller's value, made on first use.
  T& get() {
    if (void* p = detail::local_get(key_)) return *static_cast<T*>(p);
    T* v = init_ ? new T(init_()) : new T();
    detail::local_set(key_, v, &destroy);
    return *v;
  }
  T& operator*() { return get(); }
  T* operator->() { return &get(); }

  // has_value() is true once the caller's value exists (get() or set()).
  bool has_value() const noexcept { return detail::local_get(key_) != nullptr; }
  // set(v) replaces the caller's value (destroying the old one).
  template <class U>
  void set(U&& v) {
    detail::local_set(key_, new T(std::forward<U>(v)), &destroy);
  }
  // reset() destroys the caller's value now; the next get() makes a new one.
  void reset() { detail::local_set(key_, nullptr, &destroy); }
};

}  // namespace weft
