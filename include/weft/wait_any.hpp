// weft/wait_any.hpp — weft::wait_any / weft::wait_all (gevent's wait and
// iwait): wait until one, or every one, of several objects is ready.
//
// Objects and what "ready" means:
//   fiber<R>     its function has ended (the handle is not joined; join()
//                afterwards returns at once). A fiber may be joined or
//                waited for by one caller at a time (usage_error otherwise).
//   event        set.
//   channel<T>   a recv() would not wait: a value is buffered, a sender is
//                parked, or the channel is closed. Nothing is received.
//   future<T>    its promise is satisfied (value or exception).
// Readiness is level-triggered, as with poll(): wait_any returns the index
// of an object that was ready when it looked; another consumer (a second
// receiver, an event cleared) may take it before the caller acts.
//
// How: the caller's waiter is the head of a multi-wait (weft/detail/wait.hpp);
// one member per object sits in that object's queue (a fiber's joiner slot,
// an event's or a future's waiters, a channel's watchers). The first notifier
// to claim a member wins; the caller then removes every member and looks
// again which objects are ready. Callable from fibers on any carrier and
// from plain threads. The waits are cancellation points and obey
// weft::timeout.
#pragma once
#include <weft/channel.hpp>
#include <weft/detail/wait.hpp>
#include <weft/errors.hpp>
#include <weft/fiber.hpp>
#include <weft/future.hpp>
#include <weft/sync.hpp>

#include <array>
#include <chrono>
#include <cstddef>
#include <optional>
#include <vector>

namespace weft {

namespace detail {

// One object to wait on, type-erased: watch() checks readiness under the
// object's lock and, if not ready, queues member m there; unwatch() takes m
// out (idempotent); ready() looks without queueing.
struct wait_source {
  void* obj;
  bool (*watch)(void* obj, waiter& m);
  void (*unwatch)(void* obj, waiter& m) noexcept;
  bool (*ready)(void* obj);
};

// wait_access reaches the private queues of event and channel.
struct wait_access {
  // A queue-and-lock object: lock, test, queue.
  template <class Obj, class Ready>
  static bool watch_in(spinlock& lk, wait_queue& q, waiter& m, Ready ready) {
    lk.lock();
    bool r = ready();
    if (!r) q.push(m);
    lk.unlock();
    return r;
  }
  static void unwatch_in(spinlock& lk, wait_queue& q, waiter& m) noexcept {
    lk.lock();
    q.remove(m);
    lk.unlock();
  }

  static wait_source of(event& e) {
    return {&e,
            [](void* o, waiter& m) {
              auto& e = *static_cast<event*>(o);
              return watch_in<event>(e.lk_, e.q_, m, [&] { return e.set_; });
            },
            [](void* o, waiter& m) noexcept {
              auto& e = *static_cast<event*>(o);
              unwatch_in(e.lk_, e.q_, m);
            },
            [](void* o) { return static_cast<event*>(o)->is_set(); }};
  }

  template <class T>
  static bool chan_readable(channel<T>& c) noexcept {  // c.lk_ held
    return c.count_ > 0 || !c.senders_.empty() || c.closed_;
  }
  template <class T>
  static wait_source of(channel<T>& c) {
    return {&c,
            [](void* o, waiter& m) {
              auto& c = *static_cast<channel<T>*>(o);
              return watch_in<channel<T>>(c.lk_, c.watchers_, m, [&] { return chan_readable(c); });
            },
            [](void* o, waiter& m) noexcept {
              auto& c = *static_cast<channel<T>*>(o);
              unwatch_in(c.lk_, c.watchers_, m);
            },
            [](void* o) {
              auto& c = *static_cast<channel<T>*>(o);
              return locked(c.lk_, [&] { return chan_readable(c); });
            }};
  }

  template <class T>
  static wait_source of(future<T>& f) {
    if (!f.valid()) throw usage_error("weft::wait_any: the future has no state");
    return {f.detail_state(),
            [](void* o, waiter& m) {
              auto& s = *static_cast<future_state<T>*>(o);
              return watch_in<future_state<T>>(s.lk, s.q, m, [&] { return s.done; });
            },
            [](void* o, waiter& m) noexcept {
              auto& s = *static_cast<future_state<T>*>(o);
              unwatch_in(s.lk, s.q, m);
            },
            [](void* o) { return static_cast<future_state<T>*>(o)->ready(); }};
  }

  template <class R>
  static wait_source of(fiber<R>& f) {
    fiber_ctl* c = f.detail_ctl();
    if (!c) throw usage_error("weft::wait_any: the fiber handle is empty, joined or detached");
    return {c, [](void* o, waiter& m) { return fiber_watch(static_cast<fiber_ctl*>(o), m); },
            [](void* o, waiter& m) noexcept { fiber_unwatch(static_cast<fiber_ctl*>(o), m); },
            [](void* o) { return fiber_done(static_cast<fiber_ctl*>(o)); }};
  }
};

inline constexpr std::size_t none_ready = static_cast<std::size_t>(-1);

// wait_any_impl() waits until one of src is ready or the deadline passes;
// returns its index, or none_ready on the deadline. `members` has room for
// one waiter per source. Throws cancelled / timed_out.
inline std::size_t wait_any_impl(const wait_source* src, waiter* members, std::size_t n, ns_t deadline) {
  if (n == 0) throw usage_error("weft::wait_any: nothing to wait for");
  for (;;) {
    for (std::size_t i = 0; i < n; ++i)
      if (src[i].ready(src[i].obj)) return i;
    waiter head;
    std::size_t watched = 0;
    bool hit = false;
    try {
      for (; watched < n; ++watched) {
        members[watched].multi = &head;
        members[watched].state.store(wake::none, std::memory_order_relaxed);
        members[watched].owner = head.owner;
        if (src[watched].watch(src[watched].obj, members[watched])) {
          hit = true;
          break;
        }
      }
    } catch (...) {  // a fiber already joined elsewhere: take back what was queued
      for (std::size_t i = 0; i < watched; ++i) src[i].unwatch(src[i].obj, members[i]);
      if (!claim(head, wake::notified)) {  // a member was claimed: take its wake-up
        spinlock lk;
        lk.lock();
        block(head, lk, {.interruptible = false, .reason = wait_reason::wait_many});
      }
      throw;
    }
    wake r = wake::notified;
    // Either block, or end the wait ourselves; a notifier that claimed a
    // member first owes us a wake-up, which block() then takes.
    if (!hit || !claim(head, wake::notified)) {
      spinlock lk;
      lk.lock();
      r = block(head, lk, {.deadline = deadline, .reason = wait_reason::wait_many});
    }
    std::size_t end = hit ? watched + 1 : watched;
    for (std::size_t i = 0; i < end; ++i) src[i].unwatch(src[i].obj, members[i]);
    if (r == wake::timeout) {
      for (std::size_t i = 0; i < n; ++i)
        if (src[i].ready(src[i].obj)) return i;
      return none_ready;
    }
    raise(r);
    // notified or closed: look again (what woke us may be gone already).
  }
}

// wait_all_impl() waits for each source in turn under one deadline; false
// on the deadline.
inline bool wait_all_impl(const wait_source* src, waiter* members, std::size_t n, ns_t deadline) {
  for (std::size_t i = 0; i < n; ++i)
    if (wait_any_impl(src + i, members + i, 1, deadline) == none_ready) return false;
  return true;
}

template <class... W>
std::array<wait_source, sizeof...(W)> sources_of(W&... w) {
  return {wait_access::of(w)...};
}
template <class Range>
std::vector<wait_source> sources_of_range(Range& r) {
  std::vector<wait_source> v;
  for (auto& x : r) v.push_back(wait_access::of(x));
  return v;
}

}  // namespace detail

// wait_any(objs...) waits until one is ready; returns its index (0-based).
template <class... W>
std::size_t wait_any(W&... objs) {
  auto src = detail::sources_of(objs...);
  std::array<detail::waiter, sizeof...(W)> m;
  return detail::wait_any_impl(src.data(), m.data(), src.size(), detail::no_deadline);
}

// wait_any_for(d, objs...) / wait_any_until(tp, objs...): the index of a
// ready object, or nullopt once the time has passed.
template <class Rep, class Period, class... W>
std::optional<std::size_t> wait_any_for(std::chrono::duration<Rep, Period> d, W&... objs) {
  auto src = detail::sources_of(objs...);
  std::array<detail::waiter, sizeof...(W)> m;
  std::size_t i = detail::wait_any_impl(src.data(), m.data(), src.size(), detail::deadline_after(d));
  return i == detail::none_ready ? std::nullopt : std::optional<std::size_t>(i);
}
template <class Clock, class Dur, class... W>
std::optional<std::size_t> wait_any_until(std::chrono::time_point<Clock, Dur> tp, W&... objs) {
  auto src = detail::sources_of(objs...);
  std::array<detail::waiter, sizeof...(W)> m;
  std::size_t i = detail::wait_any_impl(src.data(), m.data(), src.size(), detail::deadline_at(tp));
  return i == detail::none_ready ? std::nullopt : std::optional<std::size_t>(i);
}

// wait_all(objs...) waits until every one has been ready.
template <class... W>
void wait_all(W&... objs) {
  auto src = detail::sources_of(objs...);
  std::array<detail::waiter, sizeof...(W)> m;
  detail::wait_all_impl(src.data(), m.data(), src.size(), detail::no_deadline);
}
// wait_all_for(d, objs...) / wait_all_until(tp, objs...): true if every one
// was ready in time.
template <class Rep, class Period, class... W>
bool wait_all_for(std::chrono::duration<Rep, Period> d, W&... objs) {
  auto src = detail::sources_of(objs...);
  std::array<detail::waiter, sizeof...(W)> m;
  return detail::wait_all_impl(src.data(), m.data(), src.size(), detail::deadline_after(d));
}
template <class Clock, class Dur, class... W>
bool wait_all_until(std::chrono::time_point<Clock, Dur> tp, W&... objs) {
  auto src = detail::sources_of(objs...);
  std::array<detail::waiter, sizeof...(W)> m;
  return detail::wait_all_impl(src.data(), m.data(), src.size(), detail::deadline_at(tp));
}

// wait_any_in(range[, d]) / wait_all_in(range[, d]): the same over a
// container of one kind (std::vector<fiber<R>>, ...). wait_any_in returns
// the index of a ready element, or nullopt once d has passed.
template <class Range>
std::optional<std::size_t> wait_any_in(Range& r, detail::ns_t deadline = detail::no_deadline) {
  auto src = detail::sources_of_range(r);
  std::vector<detail::waiter> m(src.size());
  std::size_t i = detail::wait_any_impl(src.data(), m.data(), src.size(), deadline);
  return i == detail::none_ready ? std::nullopt : std::optional<std::size_t>(i);
}
template <class Range, class Rep, class Period>
std::optional<std::size_t> wait_any_in(Range& r, std::chrono::duration<Rep, Period> d) {
  return wait_any_in(r, detail::deadline_after(d));
}
template <class Range>
bool wait_all_in(Range& r, detail::ns_t deadline = detail::no_deadline) {
  auto src = detail::sources_of_range(r);
  std::vector<detail::waiter> m(src.size());
  return detail::wait_all_impl(src.data(), m.data(), src.size(), deadline);
}
template <class Range, class Rep, class Period>
bool wait_all_in(Range& r, std::chrono::duration<Rep, Period> d) {
  return wait_all_in(r, detail::deadline_after(d));
}

}  // namespace weft
