// weft/future.hpp — weft::promise<T> / weft::future<T> (gevent's AsyncResult),
// and spawn_future(fn), a fiber whose result is a future.
//
// A promise and its future share one state: a spinlock, a wait_queue of
// parked getters and the outcome (pending, a value, or an exception). The
// setter stores the outcome under the lock and claims every waiter with
// `notified` (weft/detail/wait.hpp), so a getter never retries. Both sides
// may be fibers on any carrier or plain threads. A promise destroyed while
// its state is still pending stores weft::broken_promise.
//
// Misuse is a usage_error: get() on a future that has no state (default
// made, or get() already called), a second set_*, a second get_future().
#pragma once
#include <weft/detail/wait.hpp>
#include <weft/errors.hpp>
#include <weft/fiber.hpp>

#include <chrono>
#include <exception>
#include <memory>
#include <optional>
#include <type_traits>
#include <utility>
#include <variant>

namespace weft {

template <class T>
class future;

namespace detail {

// The state a promise and its future share.
template <class T>
struct future_state {
  using stored = std::conditional_t<std::is_void_v<T>, std::monostate, T>;
  spinlock lk;
  wait_queue q;
  bool done = false;             // an outcome is stored (under lk)
  std::optional<stored> value;   // the value, if set_value ran
  std::exception_ptr error;      // the exception, if set_exception ran

  // finish() stores the outcome via fn() and wakes every waiter; a second
  // outcome is a usage_error. Any thread.
  template <class F>
  void finish(F&& fn, const char* who) {
    lk.lock();
    if (done) {
      lk.unlock();
      throw usage_error(std::string("weft::promise::") + who + ": the promise is already satisfied");
    }
    try {
      fn();
    } catch (...) {
      lk.unlock();
      throw;
    }
    done = true;
    // As in channel::close(): a claimed waiter is never touched again.
    wait_ctx* who_ctx;
    while (claim_first(q, wake::notified, &who_ctx)) wake_up(who_ctx);
    lk.unlock();
  }

  // wait_ns() waits until done or the deadline; false on the deadline.
  // Throws cancelled / timed_out like every interruptible wait.
  bool wait_ns(ns_t deadline) {
    lk.lock();
    if (done) {
      lk.unlock();
      return true;
    }
    waiter w;
    wake r = block_in(q, w, lk, {.deadline = deadline, .reason = wait_reason::future});
    if (r == wake::notified) return true;
    raise(r);
    return false;
  }

  bool ready() noexcept {
    return locked(lk, [&] { return done; });
  }
};

}  // namespace detail

// The setting side. Move-only; callable from fibers and plain threads.
template <class T = void>
class promise {
  std::shared_ptr<detail::future_state<T>> st_ = std::make_shared<detail::future_state<T>>();
  bool retrieved_ = false;

  detail::future_state<T>& state(const char* who) {
    if (!st_) throw usage_error(std::string("weft::promise::") + who + ": the promise was moved from");
    return *st_;
  }

 public:
  promise() = default;
  promise(promise&&) noexcept = default;
  promise& operator=(promise&& o) noexcept {
    if (this != &o) {
      abandon();
      st_ = std::move(o.st_);
      retrieved_ = o.retrieved_;
    }
    return *this;
  }
  promise(const promise&) = delete;
  promise& operator=(const promise&) = delete;
  // A pending promise stores broken_promise for its future.
  ~promise() { abandon(); }

  // get_future() returns the future of this promise; once only.
  future<T> get_future() {
    auto& s = state("get_future");
    (void)s;
    if (retrieved_) throw usage_error("weft::promise::get_future: the future was already taken");
    retrieved_ = true;
    return future<T>(st_);
  }

  // set_value(v) stores the value and wakes the getter. Any thread.
  template <class... A>
  void set_value(A&&... a) {
    auto& s = state("set_value");
    s.finish([&] { s.value.emplace(std::forward<A>(a)...); }, "set_value");
  }
  // set_exception(e) stores an exception for get() to rethrow. Any thread.
  void set_exception(std::exception_ptr e) {
    if (!e) throw usage_error("weft::promise::set_exception: null exception_ptr");
    auto& s = state("set_exception");
    s.finish([&] { s.error = std::move(e); }, "set_exception");
  }

 private:
  void abandon() noexcept {
    if (!st_) return;
    auto& s = *st_;
    s.lk.lock();
    bool pending = !s.done;
    s.lk.unlock();
    if (pending) {
      try {
        s.finish([&] { s.error = std::make_exception_ptr(broken_promise()); }, "~promise");
      } catch (...) {  // a racing set_* on another thread won: nothing to do
      }
    }
    st_.reset();
  }
};

// The getting side. Move-only; one get(). Callable from fibers and plain
// threads; its waits are cancellation points and obey weft::timeout.
template <class T = void>
class future {
  std::shared_ptr<detail::future_state<T>> st_;
  friend class promise<T>;
  explicit future(std::shared_ptr<detail::future_state<T>> s) noexcept : st_(std::move(s)) {}

  detail::future_state<T>& state(const char* who) const {
    if (!st_)
      throw usage_error(std::string("weft::future::") + who +
                        ": the future has no state (default made, moved from, or get() was already called)");
    return *st_;
  }

 public:
  future() noexcept = default;
  future(future&&) noexcept = default;
  future& operator=(future&&) noexcept = default;
  future(const future&) = delete;
  future& operator=(const future&) = delete;

  // valid() is true until get() has taken the outcome.
  bool valid() const noexcept { return st_ != nullptr; }
  // ready() is true once the outcome is stored; does not wait.
  bool ready() const { return state("ready").ready(); }

  // wait() waits for the outcome.
  void wait() const { state("wait").wait_ns(detail::no_deadline); }
  // wait_for(d) / wait_until(tp) wait at most so long; true if ready.
  template <class Rep, class Period>
  bool wait_for(std::chrono::duration<Rep, Period> d) const {
    return state("wait_for").wait_ns(detail::deadline_after(d));
  }
  template <class Clock, class Dur>
  bool wait_until(std::chrono::time_point<Clock, Dur> tp) const {
    return state("wait_until").wait_ns(detail::deadline_at(tp));
  }

  // get() waits, then returns the value or rethrows the stored exception
  // (broken_promise if the promise died unsatisfied). Once only; the future
  // is invalid afterwards, whatever get() returned or threw, except when the
  // wait itself was cancelled or timed out (then get() may be called again).
  T get() {
    state("get").wait_ns(detail::no_deadline);
    auto s = std::move(st_);
    if (s->error) std::rethrow_exception(s->error);
    if constexpr (!std::is_void_v<T>) return std::move(*s->value);
  }

  // detail_state() is for weft::wait_any / wait_all (weft/wait_any.hpp).
  detail::future_state<T>* detail_state() const noexcept { return st_.get(); }
};

// spawn_future(fn) runs fn() in a new detached fiber (like spawn) and
// returns a future of its result; what escapes fn (weft::cancelled too, if
// the run shuts the fiber down) is rethrown by get(). Inside weft::run only.
template <class F, class R = std::invoke_result_t<std::decay_t<F>&>>
future<R> spawn_future(F&& fn, std::source_location where = std::source_location::current()) {
  promise<R> p;
  future<R> f = p.get_future();
  weft::spawn(
      [p = std::move(p), fn = std::forward<F>(fn)]() mutable {
        try {
          if constexpr (std::is_void_v<R>) {
            fn();
            p.set_value();
          } else {
            p.set_value(fn());
          }
        } catch (...) {
          p.set_exception(std::current_exception());
        }
      },
      where)
      .detach();
  return f;
}

}  // namespace weft
