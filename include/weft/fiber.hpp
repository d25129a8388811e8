// weft/fiber.hpp — spawning fibers, fiber handles, this_fiber.
//
// spawn() starts a fiber on the calling thread's scheduler (inside
// weft::run). The fiber<R> handle joins, detaches or cancels it. Dropping a
// handle that was neither joined nor detached detaches the fiber; it runs on,
// as a dropped gevent Greenlet does.
#pragma once
#include <weft/detail/export.hpp>
#include <weft/detail/resume.hpp>
#include <weft/detail/wait.hpp>
#include <weft/errors.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <new>
#include <optional>
#include <source_location>
#include <string>
#include <type_traits>
#include <utility>

namespace weft {

// Process-unique fiber number; 0 means "not a fiber".
using fiber_id = std::uint64_t;

// Options for spawn(): a name for dumps and error reports, and a stack size
// in bytes (0 = the scheduler's default; rounded up to whole pages).
struct spawn_options {
  std::string name{};
  std::size_t stack_size = 0;
};

namespace detail {

struct fiber_ctl;

// locals_end() destroys the running fiber's fiber_local values
// (weft/fiber_local.hpp); called on the fiber when its function is done.
WEFT_API void locals_end() noexcept;

// The type-erased body of a fiber; lives in the same allocation as its
// control block and is destroyed with it.
struct task_base {
  virtual void run() = 0;               // runs on the fiber; exceptions are caught by the runtime
  virtual void drop_fn() noexcept = 0;  // destroys the function object and the fiber's
                                        // fiber_local values, on the fiber, after run()
  virtual ~task_base() = default;
};

// Holds the fiber's result until join() takes it.
template <class R>
struct result_task : task_base {
  std::optional<R> result;
};
template <>
struct result_task<void> : task_base {};

template <class R, class F>
struct task final : result_task<R> {
  std::optional<F> fn;
  explicit task(F&& f) : fn(std::move(f)) {}
  explicit task(const F& f) : fn(f) {}
  void run() override {
    if constexpr (std::is_void_v<R>) std::invoke(*fn);
    else this->result.emplace(std::invoke(*fn));
  }
  void drop_fn() noexcept override {
    fn.reset();
    locals_end();
  }
};

// fiber_alloc() returns zeroed room for a task of `size` bytes inside a new
// control block; fiber_start() queues the fiber on the calling thread's
// scheduler and returns its control block (with one reference for the
// handle). fiber_abandon() frees a block whose task constructor threw.
// fiber_alloc throws usage_error when no scheduler runs on this thread.
WEFT_API void* fiber_alloc(std::size_t size, std::size_t align);
WEFT_API fiber_ctl* fiber_start(void* mem, task_base* t, const spawn_options* o,
                                const std::source_location& where);  // frees mem on failure
WEFT_API void fiber_abandon(void* mem) noexcept;

// Operations behind fiber<R>; each may be called from any thread.
WEFT_API void fiber_join(fiber_ctl* c);       // blocks until c ends; throws usage_error on self-join
WEFT_API void fiber_detach(fiber_ctl* c) noexcept;  // drops the handle's reference
WEFT_API void fiber_release(fiber_ctl* c) noexcept; // drops a reference after join
WEFT_API void fiber_rethrow(fiber_ctl* c);    // rethrows the fiber's escaped exception, if any
WEFT_API task_base* fiber_task(fiber_ctl* c) noexcept;
WEFT_API bool fiber_done(const fiber_ctl* c) noexcept;
WEFT_API void fiber_cancel(fiber_ctl* c) noexcept;
WEFT_API fiber_id fiber_get_id(const fiber_ctl* c) noexcept;
// fiber_watch() queues m to be claimed when c ends (in the joiner slot);
// true instead if c has ended already. A fiber being joined or watched
// already is a usage_error. fiber_unwatch() takes m out again.
WEFT_API bool fiber_watch(fiber_ctl* c, waiter& m);
WEFT_API void fiber_unwatch(fiber_ctl* c, waiter& m) noexcept;

template <class R, class F>
fiber_ctl* spawn_impl(const spawn_options* o, F&& fn, const std::source_location& where) {
  using T = task<R, std::decay_t<F>>;
  void* mem = fiber_alloc(sizeof(T), alignof(T));
  T* t;
  try {
    t = ::new (mem) T(std::forward<F>(fn));
  } catch (...) {
    fiber_abandon(mem);
    throw;
  }
  return fiber_start(mem, t, o, where);
}

}  // namespace detail

// A handle to a spawned fiber. Move-only. R is the fiber function's result.
template <class R = void>
class fiber {
  enum class st : std::uint8_t { empty, owned, joined, detached };
  detail::fiber_ctl* ctl_ = nullptr;
  fiber_id id_ = 0;
  st st_ = st::empty;

  void require_owned(const char* what) const {
    if (st_ == st::owned) return;
    static const char* const why[] = {"the handle is empty", "", "the fiber was already joined",
                                      "the fiber was detached"};
    throw usage_error(std::string("weft::fiber::") + what + ": " + why[static_cast<int>(st_)]);
  }

 public:
  fiber() noexcept = default;
  // Adopts a control block returned by spawn_impl (one reference).
  explicit fiber(detail::fiber_ctl* c) noexcept : ctl_(c), id_(detail::fiber_get_id(c)), st_(st::owned) {}
  fiber(fiber&& o) noexcept
      : ctl_(std::exchange(o.ctl_, nullptr)), id_(o.id_), st_(std::exchange(o.st_, st::empty)) {}
  fiber& operator=(fiber&& o) noexcept {
    if (this != &o) {
      if (st_ == st::owned) detail::fiber_detach(ctl_);
      ctl_ = std::exchange(o.ctl_, nullptr);
      id_ = o.id_;
      st_ = std::exchange(o.st_, st::empty);
    }
    return *this;
  }
  fiber(const fiber&) = delete;
  fiber& operator=(const fiber&) = delete;
  // Dropping an owned handle detaches the fiber.
  ~fiber() {
    if (st_ == st::owned) detail::fiber_detach(ctl_);
  }

  // join() waits for the fiber and returns its result, or rethrows what
  // escaped it (weft::cancelled if it ended by cancellation). Callable from a
  // fiber or a plain thread; it is itself a cancellation point. Throws
  // usage_error when joined twice, after detach, or by the fiber itself.
  R join() {
    require_owned("join");
    detail::fiber_join(ctl_);
    detail::fiber_ctl* c = std::exchange(ctl_, nullptr);
    st_ = st::joined;
    struct release {
      detail::fiber_ctl* c;
      ~release() { detail::fiber_release(c); }
    } guard{c};
    detail::fiber_rethrow(c);
    if constexpr (!std::is_void_v<R>)
      return std::move(*static_cast<detail::result_task<R>*>(detail::fiber_task(c))->result);
  }

  // detach() lets the fiber run on unowned; an exception escaping it is then
  // reported on stderr with the fiber's name.
  void detach() {
    require_owned("detach");
    detail::fiber_detach(std::exchange(ctl_, nullptr));
    st_ = st::detached;
  }

  // cancel() makes the fiber's current or next blocking point throw
  // weft::cancelled (hooked calls fail with ECANCELED); a fiber that has not
  // started yet never runs its function. Does not wait. Cancellation is
  // sticky: every later interruptible wait of that fiber throws too.
  void cancel() {
    require_owned("cancel");
    detail::fiber_cancel(ctl_);
  }

  // done() is true once the fiber function has returned or thrown.
  bool done() const {
    if (st_ == st::joined) return true;
    require_owned("done");
    return detail::fiber_done(ctl_);
  }

  // id() is the fiber's number (valid after join too); 0 for an empty handle.
  fiber_id id() const noexcept { return id_; }

  // joinable() is true while the handle owns an unjoined, undetached fiber.
  bool joinable() const noexcept { return st_ == st::owned; }

  // detail_ctl() is the control block of an owned handle, else nullptr
  // (for weft::wait_any / wait_all).
  detail::fiber_ctl* detail_ctl() const noexcept { return st_ == st::owned ? ctl_ : nullptr; }
};

// spawn(fn) starts fn() as a new fiber on the calling thread's scheduler.
// Must be called inside weft::run (from a fiber, or run's own thread);
// throws usage_error elsewhere.
template <class F, class R = std::invoke_result_t<std::decay_t<F>&>>
[[nodiscard("dropping the handle detaches the fiber; call .detach() to say so")]]
fiber<R> spawn(F&& fn, std::source_location where = std::source_location::current()) {
  static_assert(!std::is_reference_v<R>, "weft::spawn: a fiber cannot return a reference");
  return fiber<R>(detail::spawn_impl<R>(nullptr, std::forward<F>(fn), where));
}

// spawn(options, fn) does the same with a name and/or stack size.
template <class F, class R = std::invoke_result_t<std::decay_t<F>&>>
[[nodiscard("dropping the handle detaches the fiber; call .detach() to say so")]]
fiber<R> spawn(const spawn_options& o, F&& fn,
               std::source_location where = std::source_location::current()) {
  static_assert(!std::is_reference_v<R>, "weft::spawn: a fiber cannot return a reference");
  return fiber<R>(detail::spawn_impl<R>(&o, std::forward<F>(fn), where));
}

// in_fiber() is true when the caller runs on a weft fiber.
WEFT_API bool in_fiber() noexcept;

namespace this_fiber {

// yield() lets every other ready fiber run once, then returns. It is a
// cancellation point. On a plain thread it calls std::this_thread::yield().
// Inline: see weft/detail/resume.hpp for why.
inline void yield() { weft::detail::resumed(weft::detail::yield_switch()); }

namespace detail_ {
WEFT_API void sleep_until_ns(weft::detail::ns_t deadline);
}

// sleep_for()/sleep_until() park the fiber (or block a plain thread) until
// the time passes. Cancellation points; an expiring weft::timeout scope
// throws timed_out.
template <class Rep, class Period>
void sleep_for(std::chrono::duration<Rep, Period> d) {
  detail_::sleep_until_ns(weft::detail::deadline_after(d));
}
template <class Clock, class Dur>
void sleep_until(std::chrono::time_point<Clock, Dur> tp) {
  detail_::sleep_until_ns(weft::detail::deadline_at(tp));
}

// id() is the running fiber's number, or 0 on a plain thread.
WEFT_API fiber_id id() noexcept;

// name() is the running fiber's name ("" if unnamed or not a fiber).
WEFT_API const std::string& name() noexcept;

// cancel_requested() is true once cancel() was called on the running fiber.
WEFT_API bool cancel_requested() noexcept;

}  // namespace this_fiber
}  // namespace weft
