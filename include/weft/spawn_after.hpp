// weft/spawn_after.hpp — weft::spawn_after(delay, fn) / spawn_at(tp, fn)
// (gevent's spawn_later): a fiber that runs fn once the time has come.
//
// The fiber is spawned at once and sleeps until its start time, so the
// handle works as for spawn(): join() waits for fn's result, detach() lets
// it go, and cancel() before the time means fn never runs (join() then
// throws weft::cancelled). The sleep is the fiber's own wait: a weft::timeout
// scope of the caller does not reach it. Each pending call holds a fiber
// (and its stack) until it starts. Callable where spawn() is (inside
// weft::run, on a fiber or run's own thread); a usage_error elsewhere.
#pragma once
#include <weft/fiber.hpp>

#include <chrono>
#include <source_location>
#include <type_traits>
#include <utility>

namespace weft {

namespace detail {
template <class F, class R = std::invoke_result_t<std::decay_t<F>&>>
fiber<R> spawn_at_ns(const spawn_options* o, ns_t start, F&& fn, const std::source_location& where) {
  static_assert(!std::is_reference_v<R>, "weft::spawn_after: a fiber cannot return a reference");
  auto body = [start, fn = std::forward<F>(fn)]() mutable -> R {
    this_fiber::detail_::sleep_until_ns(start);  // cancel() here: fn never runs
    return fn();
  };
  return fiber<R>(spawn_impl<R>(o, std::move(body), where));
}
}  // namespace detail

// spawn_after(d, fn) starts fn() as a fiber once d has passed.
template <class Rep, class Period, class F>
[[nodiscard("dropping the handle detaches the fiber; call .detach() to say so")]]
auto spawn_after(std::chrono::duration<Rep, Period> d, F&& fn,
                 std::source_location where = std::source_location::current()) {
  return detail::spawn_at_ns(nullptr, detail::deadline_after(d), std::forward<F>(fn), where);
}

// spawn_after(options, d, fn) does the same with a name and/or stack size.
template <class Rep, class Period, class F>
[[nodiscard("dropping the handle detaches the fiber; call .detach() to say so")]]
auto spawn_after(const spawn_options& o, std::chrono::duration<Rep, Period> d, F&& fn,
                 std::source_location where = std::source_location::current()) {
  return detail::spawn_at_ns(&o, detail::deadline_after(d), std::forward<F>(fn), where);
}

// spawn_at(tp, fn) starts fn() as a fiber at the time point tp.
template <class Clock, class Dur, class F>
[[nodiscard("dropping the handle detaches the fiber; call .detach() to say so")]]
auto spawn_at(std::chrono::time_point<Clock, Dur> tp, F&& fn,
              std::source_location where = std::source_location::current()) {
  return detail::spawn_at_ns(nullptr, detail::deadline_at(tp), std::forward<F>(fn), where);
}

}  // namespace weft
