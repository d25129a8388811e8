// weft/timeout.hpp — weft::timeout, a deadline scope (gevent's Timeout).
//
// While a timeout object lives, every interruptible blocking wait of the
// calling fiber (or thread) that would still be waiting at the deadline
// throws weft::timed_out; a hooked POSIX call fails with ETIMEDOUT instead.
// Scopes nest: the earliest deadline wins. Waits that complete without
// blocking never throw. mutex::lock is not interruptible.
#pragma once
#include <weft/detail/export.hpp>
#include <weft/detail/wait.hpp>

#include <chrono>

namespace weft {

class timeout {
  detail::ns_t saved_;
  detail::ns_t deadline_;

  WEFT_API void enter(detail::ns_t deadline) noexcept;

 public:
  // timeout(d) starts a scope whose deadline is now + d.
  template <class Rep, class Period>
  explicit timeout(std::chrono::duration<Rep, Period> d) {
    enter(detail::deadline_after(d));
  }
  // timeout(tp) starts a scope whose deadline is the time point tp.
  template <class Clock, class Dur>
  explicit timeout(std::chrono::time_point<Clock, Dur> tp) {
    enter(detail::deadline_at(tp));
  }
  // Ends the scope, restoring the enclosing deadline. Scopes must end in
  // reverse order of creation, on the fiber that made them.
  WEFT_API ~timeout();
  timeout(const timeout&) = delete;
  timeout& operator=(const timeout&) = delete;

  // expired() is true once this scope's own deadline has passed.
  bool expired() const noexcept { return detail::now_ns() >= deadline_; }
};

}  // namespace weft
