// weft/sync.hpp — mutex, condition_variable, event, semaphore, wait_group.
//
// All of them park a fiber (or block a plain thread) instead of spinning, and
// all work across schedulers and threads. mutex::lock is not a cancellation
// point (like pthread_mutex_lock); every other wait is, and throws
// weft::cancelled / weft::timed_out when interrupted.
#pragma once
#include <weft/detail/export.hpp>
#include <weft/detail/wait.hpp>

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <mutex>

namespace weft {

namespace detail {
struct wait_access;  // weft/wait_any.hpp: waits on an event among other objects
}

// A non-recursive mutex; ownership is handed to the next waiter in FIFO
// order on unlock. Usable with std::lock_guard / std::unique_lock. Locking it
// twice from one fiber, or unlocking it from a non-owner, is a usage_error.
class WEFT_API mutex {
  detail::spinlock lk_;
  detail::wait_queue q_;
  detail::wait_ctx* owner_ = nullptr;

 public:
  mutex() = default;
  mutex(const mutex&) = delete;
  mutex& operator=(const mutex&) = delete;
  void lock();
  bool try_lock();
  void unlock();
};

// A condition variable for weft::mutex. wait() is a cancellation point; the
// mutex is always re-acquired before wait() returns or throws.
class WEFT_API condition_variable {
  detail::spinlock lk_;
  detail::wait_queue q_;
  detail::wake wait_ns(std::unique_lock<mutex>& lock, detail::ns_t deadline);
  static std::cv_status status(detail::wake r) noexcept {
    return r == detail::wake::timeout ? std::cv_status::timeout : std::cv_status::no_timeout;
  }
  template <class Pred>
  bool wait_pred(std::unique_lock<mutex>& lock, detail::ns_t deadline, Pred& pred) {
    while (!pred())
      if (wait_ns(lock, deadline) == detail::wake::timeout) return pred();
    return true;
  }

 public:
  condition_variable() = default;
  condition_variable(const condition_variable&) = delete;
  condition_variable& operator=(const condition_variable&) = delete;
  void notify_one() noexcept;
  void notify_all() noexcept;

  void wait(std::unique_lock<mutex>& lock);
  template <class Pred>
  void wait(std::unique_lock<mutex>& lock, Pred pred) {
    while (!pred()) wait(lock);
  }
  template <class Clock, class Dur>
  std::cv_status wait_until(std::unique_lock<mutex>& lock, std::chrono::time_point<Clock, Dur> tp) {
    return status(wait_ns(lock, detail::deadline_at(tp)));
  }
  template <class Clock, class Dur, class Pred>
  bool wait_until(std::unique_lock<mutex>& lock, std::chrono::time_point<Clock, Dur> tp, Pred pred) {
    return wait_pred(lock, detail::deadline_at(tp), pred);
  }
  template <class Rep, class Period>
  std::cv_status wait_for(std::unique_lock<mutex>& lock, std::chrono::duration<Rep, Period> d) {
    return status(wait_ns(lock, detail::deadline_after(d)));
  }
  template <class Rep, class Period, class Pred>
  bool wait_for(std::unique_lock<mutex>& lock, std::chrono::duration<Rep, Period> d, Pred pred) {
    return wait_pred(lock, detail::deadline_after(d), pred);
  }
};

// A manual-reset event (gevent's Event): set() wakes all waiters and keeps
// later waits from blocking until clear().
class WEFT_API event {
  mutable detail::spinlock lk_;
  detail::wait_queue q_;
  bool set_ = false;
  bool wait_ns(detail::ns_t deadline);
  friend struct detail::wait_access;

 public:
  event() = default;
  event(const event&) = delete;
  event& operator=(const event&) = delete;
  void set() noexcept;
  void clear() noexcept;
  bool is_set() const noexcept;
  void wait() { wait_ns(detail::no_deadline); }
  // wait_for(d) is true if the event was set, false on timeout.
  template <class Rep, class Period>
  bool wait_for(std::chrono::duration<Rep, Period> d) {
    return wait_ns(detail::deadline_after(d));
  }
  template <class Clock, class Dur>
  bool wait_until(std::chrono::time_point<Clock, Dur> tp) {
    return wait_ns(detail::deadline_at(tp));
  }
};

// A counting semaphore; release() hands a unit straight to the first waiter.
class WEFT_API semaphore {
  mutable detail::spinlock lk_;
  detail::wait_queue q_;
  std::ptrdiff_t count_;
  bool acquire_ns(detail::ns_t deadline);

 public:
  explicit semaphore(std::ptrdiff_t initial = 0);
  semaphore(const semaphore&) = delete;
  semaphore& operator=(const semaphore&) = delete;
  void acquire() { acquire_ns(detail::no_deadline); }
  bool try_acquire() noexcept;
  template <class Rep, class Period>
  bool try_acquire_for(std::chrono::duration<Rep, Period> d) {
    return acquire_ns(detail::deadline_after(d));
  }
  // release(n) adds n units (n < 0 is a usage_error).
  void release(std::ptrdiff_t n = 1);
  std::ptrdiff_t available() const noexcept;
};

// Go's sync.WaitGroup: add(n) before starting work, done() when each piece
// ends, wait() until the count is back to zero. A negative count is a
// usage_error.
class WEFT_API wait_group {
  mutable detail::spinlock lk_;
  detail::wait_queue q_;
  std::int64_t count_ = 0;
  bool wait_ns(detail::ns_t deadline, bool interruptible = true);
  friend class group;  // waits uninterruptibly in its destructor

 public:
  wait_group() = default;
  wait_group(const wait_group&) = delete;
  wait_group& operator=(const wait_group&) = delete;
  void add(std::int64_t n = 1);
  void done() { add(-1); }
  void wait() { wait_ns(detail::no_deadline); }
  template <class Rep, class Period>
  bool wait_for(std::chrono::duration<Rep, Period> d) {
    return wait_ns(detail::deadline_after(d));
  }
  std::int64_t count() const noexcept;
};

}  // namespace weft
