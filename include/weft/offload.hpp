// weft/offload.hpp — weft::offload(fn): run a blocking call on a pool thread
// while the calling fiber parks.
//
// offload(fn) hands fn to the process's offload pool (real OS threads, never
// fibers, on which no libc call is hooked) and parks the calling fiber until
// fn returns; it returns fn's result or rethrows its exception. Other fibers
// of the carrier run meanwhile. Called off a fiber (a plain thread, or a
// pool thread itself) it just calls fn.
//
// Cancel and weft::timeout stop the wait at once: offload throws
// weft::cancelled / weft::timed_out while fn runs on to completion on its
// pool thread and its result (or exception) is dropped there. fn may take a
// std::stop_token to notice that: stop is requested when the caller stops
// waiting. A fiber already cancelled (or past its scope deadline) throws
// before fn is queued.
//
// The pool is bounded: at most config::offload_threads threads
// (WEFT_OFFLOAD_THREADS, default 10), then jobs wait in a FIFO queue; a
// thread idle for config::offload_idle_ms (WEFT_OFFLOAD_IDLE_MS, default
// 5,000) exits. The pool is shared by every weft::run of the process; each
// run's settings, when it starts, apply from then on.
#pragma once
#include <weft/detail/export.hpp>
#include <weft/detail/wait.hpp>

#include <atomic>
#include <exception>
#include <memory>
#include <optional>
#include <stop_token>
#include <type_traits>
#include <utility>

namespace weft {
namespace detail {

// One job of the pool: the runtime's part (the waiting caller, the stop
// source, two references: the caller's and the pool's). The derived
// offload_task holds fn and its outcome.
class WEFT_API offload_job {
 public:
  offload_job() = default;
  offload_job(const offload_job&) = delete;
  offload_job& operator=(const offload_job&) = delete;
  virtual ~offload_job();
  // call() runs fn with `st` and stores its outcome; never throws. Pool
  // thread.
  virtual void call(std::stop_token st) noexcept = 0;

  spinlock lk;                 // guards w and done
  waiter* w = nullptr;         // the parked caller, while it waits
  bool done = false;           // call() has returned
  offload_job* next = nullptr; // pool queue link (pool lock)
  std::stop_source stop;       // requested when the caller stops waiting
  std::atomic<int> refs{2};    // the caller's and the pool's
};

// offload_direct() is true where offload(fn) must call fn itself: the caller
// is no fiber. Any thread.
WEFT_API bool offload_direct() noexcept;
// offload_wait() queues j on the pool and parks the calling fiber until j
// is done. Throws weft::cancelled / weft::timed_out (the caller's reference
// then released, j runs on) or std::system_error when no pool thread can be
// started; returns with the caller's reference still held. Fiber only.
WEFT_API void offload_wait(offload_job* j);
// offload_release() drops one reference to j (deleting it at the last).
// Any thread.
WEFT_API void offload_release(offload_job* j) noexcept;

// takes_token<F> is true when fn is called with a std::stop_token (only if
// it cannot be called without one).
template <class F>
inline constexpr bool takes_token = !std::is_invocable_v<F&> && std::is_invocable_v<F&, std::stop_token>;

template <class F>
using offload_result_t = std::conditional_t<takes_token<F>, std::invoke_result<F&, std::stop_token>,
                                            std::invoke_result<F&>>::type;

// invoke_offloaded() calls fn the way offload() does.
template <class F>
decltype(auto) invoke_offloaded(F& fn, std::stop_token st) {
  if constexpr (takes_token<F>) return fn(std::move(st));
  else return fn();
}

// offload_task<F> stores fn and, once run, its result or exception.
template <class F>
class offload_task final : public offload_job {
  using R = offload_result_t<F>;
  // A reference result is kept as a pointer.
  using stored = std::conditional_t<std::is_reference_v<R>, std::add_pointer_t<R>, R>;

 public:
  explicit offload_task(F&& fn) : fn_(std::move(fn)) {}
  explicit offload_task(const F& fn) : fn_(fn) {}

  void call(std::stop_token st) noexcept override {
    try {
      if constexpr (std::is_void_v<R>) {
        invoke_offloaded(fn_, std::move(st));
      } else if constexpr (std::is_reference_v<R>) {
        value_.emplace(&invoke_offloaded(fn_, std::move(st)));
      } else {
        value_.emplace(invoke_offloaded(fn_, std::move(st)));
      }
    } catch (...) {
      error_ = std::current_exception();
    }
  }
  // take() returns the result or rethrows; once, by the caller, after done.
  R take() {
    if (error_) std::rethrow_exception(error_);
    if constexpr (std::is_void_v<R>) return;
    else if constexpr (std::is_reference_v<R>) return static_cast<R>(**value_);
    else return std::move(*value_);
  }

 private:
  F fn_;
  std::conditional_t<std::is_void_v<R>, char, std::optional<stored>> value_{};
  std::exception_ptr error_;
};

}  // namespace detail

// offload(fn) runs fn() (or fn(std::stop_token)) on a pool thread while the
// calling fiber parks; see the file comment. Fiber or plain thread.
template <class F>
auto offload(F&& fn) -> detail::offload_result_t<std::decay_t<F>> {
  using D = std::decay_t<F>;
  static_assert(std::is_invocable_v<D&> || std::is_invocable_v<D&, std::stop_token>,
                "weft::offload: fn must be callable with no arguments or with a std::stop_token");
  if (detail::offload_direct()) {
    D local(std::forward<F>(fn));
    return detail::invoke_offloaded(local, std::stop_token{});
  }
  auto* task = new detail::offload_task<D>(std::forward<F>(fn));
  detail::offload_wait(task);  // throws with the reference released
  struct release_at_exit {
    detail::offload_job* j;
    ~release_at_exit() { detail::offload_release(j); }
  } g{task};
  return task->take();
}

}  // namespace weft
