// weft/shared_mutex.hpp — weft::shared_mutex, a reader/writer lock for
// fibers and threads (usable with std::unique_lock and std::shared_lock).
//
// Many shared owners or one exclusive owner. Waiters queue in one FIFO;
// unlock hands the lock straight to the front waiter (a writer, or every
// reader up to the next writer), so woken waiters never retry. A reader
// that arrives while a writer waits queues behind it: writers do not
// starve, and a reader taking the lock twice while a writer waits
// deadlocks (as with std::shared_mutex). lock() and lock_shared() are not
// cancellation points (like mutex::lock); the timed try_*_for/until are,
// and obey weft::timeout. Misuse is a usage_error: lock() by the exclusive
// owner, unlock() by a non-owner, unlock_shared() with no shared owner.
// All members callable from fibers on any carrier and from plain threads.
#pragma once
#include <weft/detail/export.hpp>
#include <weft/detail/wait.hpp>

#include <chrono>
#include <cstddef>

namespace weft {

class WEFT_API shared_mutex {
  detail::spinlock lk_;
  detail::wait_queue q_;          // waiter::slot: non-null = wants exclusive
  detail::wait_ctx* writer_ = nullptr;
  std::size_t readers_ = 0;

  bool lock_ns(bool exclusive, detail::ns_t deadline, bool interruptible);
  void grant() noexcept;  // hands the lock to the front waiters; lk_ held

 public:
  shared_mutex() = default;
  shared_mutex(const shared_mutex&) = delete;
  shared_mutex& operator=(const shared_mutex&) = delete;

  // Exclusive side.
  void lock() { lock_ns(true, detail::no_deadline, false); }
  bool try_lock();
  template <class Rep, class Period>
  bool try_lock_for(std::chrono::duration<Rep, Period> d) {
    return lock_ns(true, detail::deadline_after(d), true);
  }
  template <class Clock, class Dur>
  bool try_lock_until(std::chrono::time_point<Clock, Dur> tp) {
    return lock_ns(true, detail::deadline_at(tp), true);
  }
  void unlock();

  // Shared side.
  void lock_shared() { lock_ns(false, detail::no_deadline, false); }
  bool try_lock_shared();
  template <class Rep, class Period>
  bool try_lock_shared_for(std::chrono::duration<Rep, Period> d) {
    return lock_ns(false, detail::deadline_after(d), true);
  }
  template <class Clock, class Dur>
  bool try_lock_shared_until(std::chrono::time_point<Clock, Dur> tp) {
    return lock_ns(false, detail::deadline_at(tp), true);
  }
  void unlock_shared();
};

}  // namespace weft
