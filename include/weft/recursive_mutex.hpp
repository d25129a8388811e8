// weft/recursive_mutex.hpp — weft::recursive_mutex: a mutex its owner (fiber
// or thread) may lock again; it is free once unlocked as often as locked.
//
// Ownership passes FIFO to the next waiter at the last unlock(). lock() is
// not a cancellation point (like mutex::lock); try_lock_for/until are, and
// obey weft::timeout. unlock() by a non-owner is a usage_error. Usable with
// std::lock_guard / std::unique_lock, from fibers on any carrier and from
// plain threads.
#pragma once
#include <weft/detail/export.hpp>
#include <weft/detail/wait.hpp>

#include <chrono>
#include <cstddef>

namespace weft {

class WEFT_API recursive_mutex {
  detail::spinlock lk_;
  detail::wait_queue q_;
  detail::wait_ctx* owner_ = nullptr;
  std::size_t depth_ = 0;

  bool lock_ns(detail::ns_t deadline, bool interruptible);

 public:
  recursive_mutex() = default;
  recursive_mutex(const recursive_mutex&) = delete;
  recursive_mutex& operator=(const recursive_mutex&) = delete;
  void lock() { lock_ns(detail::no_deadline, false); }
  bool try_lock();
  template <class Rep, class Period>
  bool try_lock_for(std::chrono::duration<Rep, Period> d) {
    return lock_ns(detail::deadline_after(d), true);
  }
  template <class Clock, class Dur>
  bool try_lock_until(std::chrono::time_point<Clock, Dur> tp) {
    return lock_ns(detail::deadline_at(tp), true);
  }
  void unlock();
  // depth() is how often the caller holds the lock (0 if not the owner).
  std::size_t depth();
};

}  // namespace weft
