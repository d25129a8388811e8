// weft/errors.hpp — the exception types the C++ API throws.
//
// Hooked POSIX calls never throw; they report through errno. The C++ API
// reports misuse with usage_error, an expired weft::timeout scope with
// timed_out, and cancellation with cancelled.
#pragma once
#include <stdexcept>

namespace weft {

// Thrown for misuse of the API: joining twice, joining a detached fiber, a
// fiber joining itself, a fiber-only call made where no fiber runs, bad config.
class usage_error : public std::logic_error {
 public:
  using std::logic_error::logic_error;
};

// Thrown by future::get() when the promise was destroyed without a value
// or an exception (std::future_errc::broken_promise).
class broken_promise : public std::runtime_error {
 public:
  broken_promise() : std::runtime_error("weft: broken promise (destroyed without a value)") {}
};

// Thrown by a blocking wait once the deadline of an enclosing weft::timeout
// scope has passed (gevent's Timeout).
class timed_out : public std::runtime_error {
 public:
  timed_out() : std::runtime_error("weft: timed out") {}
};

// Thrown at the blocking points of a fiber after fiber::cancel().
// It deliberately does not derive from std::exception, so that
// `catch (const std::exception&)` does not swallow a cancellation (like
// gevent's GreenletExit, which is not an Exception).
class cancelled {
 public:
  const char* what() const noexcept { return "weft: fiber cancelled"; }
};

}  // namespace weft
