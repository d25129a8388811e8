// weft/boost_fiber.hpp — Boost.Fiber code inside weft (library
// weft_boost_fiber; link it and Boost.Fiber). See docs/design.md,
// "Boost.Fiber interop", for the design and docs/boost_fiber.md for use.
//
//   weft::run([] {
//     weft::boost_fiber::host scope;   // this weft fiber now hosts Boost.Fiber
//     boost::fibers::fiber f(serve);   // Boost fibers run on this carrier;
//     f.join();                        // their hooked recv()/sleeps/weft waits
//   });                                // suspend only the Boost fiber
//
// Rules:
//  - Boost fibers may wait on any weft primitive (channel, event, mutex,
//    wait_group, join) and make hooked blocking calls.
//  - weft fibers may make Boost's non-suspending calls (try_push,
//    set_value, notify_*, close, launching a fiber) anywhere; a suspending
//    one (pop, future::get, mutex::lock, cv.wait, join, sleep) goes
//    through await(fn) on a carrier with a host. Entering one directly on
//    a host carrier is reported and aborts (Boost's switch is noexcept).
//  - The host's own code is Boost's main context: it calls Boost directly.
#pragma once
#include <weft/errors.hpp>
#include <weft/fiber.hpp>
#include <weft/sync.hpp>

#include <boost/fiber/fiber.hpp>

#include <chrono>
#include <cstddef>
#include <exception>
#include <optional>
#include <type_traits>
#include <utility>

namespace weft::boost_fiber {

namespace detail_ {
struct host_state;
// hosted_here() is true on a weft fiber whose carrier has a host.
bool hosted_here() noexcept;
// on_boost_context() is true on a Boost worker fiber of this carrier's host.
bool on_boost_context() noexcept;
// check_await() throws usage_error unless await() may run here; returns
// true on the host fiber itself (Boost's main context: fn runs directly).
bool check_await();
// A one-shot completion that a weft fiber waits for without being
// interruptible (the Boost fiber it waits for uses its stack): complete()
// from any context, wait() once, from the weft fiber that made it.
class completion {
  weft::detail::spinlock lk_;
  weft::detail::waiter* w_ = nullptr;
  bool done_ = false;

 public:
  void complete() noexcept;
  void wait() noexcept;
};
}  // namespace detail_

// Settings of a host: how long its end waits for Boost fibers still alive.
struct host_options {
  std::chrono::milliseconds linger{1000};
};

// While it lives, the weft fiber that made it hosts Boost.Fiber on its
// carrier (at most one host per carrier). Its destructor waits up to
// `linger` for the Boost fibers to finish, then reports and abandons the
// rest (never resumed). Construct on a weft fiber (usage_error elsewhere);
// the fiber's own code between is Boost's main context.
class host {
  detail_::host_state* st_;

 public:
  explicit host(host_options o = {});
  ~host();
  host(const host&) = delete;
  host& operator=(const host&) = delete;
  // live() is the number of Boost worker fibers not yet finished. Host fiber.
  std::size_t live() const noexcept;
};

// await(fn) runs fn() on a new Boost fiber of this carrier's host and parks
// the calling weft fiber until it returns; returns its result or rethrows
// its exception. For Boost's suspending calls from a weft fiber. A weft
// fiber on a carrier with a host (usage_error elsewhere); on the host fiber
// itself, which is Boost's main context, fn() simply runs.
template <class F>
auto await(F&& fn) -> std::invoke_result_t<std::decay_t<F>&> {
  using R = std::invoke_result_t<std::decay_t<F>&>;
  if (detail_::check_await()) return fn();
  detail_::completion done;
  std::exception_ptr err;
  std::conditional_t<std::is_void_v<R>, bool, std::optional<R>> out{};
  boost::fibers::fiber([&] {
    try {
      if constexpr (std::is_void_v<R>) fn();
      else out.emplace(fn());
    } catch (...) {
      err = std::current_exception();
    }
    done.complete();
  }).detach();
  done.wait();
  if (err) std::rethrow_exception(err);
  if constexpr (!std::is_void_v<R>) return std::move(*out);
}

}  // namespace weft::boost_fiber
