// weft/select.hpp — weft::select, Go's select over channel operations.
//
//   weft::select(weft::on_recv(jobs, [&](int j) { ... }),
//                weft::on_send(results, r, [&] { ... }),
//                weft::after(100ms, [&] { ... }));   // or weft::on_default(fn)
//
// select() runs exactly one case: among the operations that can proceed it
// picks one at random (fair), performs it and calls its function; if none
// can, it runs the default case at once, or waits until one can, or until
// the `after` deadline (then runs that case). It returns the index of the
// case that ran, in argument order. Callable from fibers on any carrier and
// from plain threads; without a default it is a cancellation point and
// obeys weft::timeout (weft::cancelled / weft::timed_out).
//
// Closed channels are ready, as in Go: on_recv's function gets nullopt if
// it takes std::optional<T> (and is not called if it takes T); on_send's
// function gets false if it takes a bool (and is not called if it takes
// nothing), and the value is dropped.
//
// How (weft/detail/wait.hpp): select locks every channel of its cases, in
// address order, and tries the cases in a random permutation, as Go's
// selectgo does. If none is ready, it queues one member waiter per case (a
// receiver or a sender, with its slot, exactly what a blocking recv/send
// would queue) under one head, unlocks, and blocks on the head. The first
// counterpart to claim a member wins the whole select and completes that
// member's transfer; a claim of the others fails. After waking, select
// locks the channels again and removes every member.
#pragma once
#include <weft/channel.hpp>
#include <weft/detail/wait.hpp>
#include <weft/errors.hpp>

#include <algorithm>
#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <tuple>
#include <type_traits>
#include <utility>

namespace weft {

namespace detail {

// One channel operation of a select, type-erased. All hooks run with the
// channel's lock held.
struct select_op {
  spinlock* lk = nullptr;
  void* chan = nullptr;
  void* buf = nullptr;  // recv: std::optional<T>* to fill; send: T* to take
  bool closed = false;  // set when the case ran on a closed channel
  // attempt(): perform the operation without waiting if it can proceed
  // (true); a counterpart it claimed is left in *who, to wake after unlock.
  bool (*attempt)(select_op& op, wait_ctx** who);
  void (*enqueue)(select_op& op, waiter& m);
  void (*dequeue)(select_op& op, waiter& m) noexcept;
};

// select_access reaches channel<T>'s private state.
struct select_access {
  template <class T>
  static bool recv_attempt(select_op& op, wait_ctx** who) {
    auto& c = *static_cast<channel<T>*>(op.chan);
    auto& out = *static_cast<std::optional<T>*>(op.buf);
    if (c.count_ > 0) {
      out.emplace(c.buf_pop());
      if (waiter* s = claim_first(c.senders_, wake::notified, who)) c.buf_push(std::move(*static_cast<T*>(s->slot)));
      return true;
    }
    if (waiter* s = claim_first(c.senders_, wake::notified, who)) {
      out.emplace(std::move(*static_cast<T*>(s->slot)));
      return true;
    }
    if (c.closed_) return op.closed = true;
    return false;
  }
  template <class T>
  static bool send_attempt(select_op& op, wait_ctx** who) {
    auto& c = *static_cast<channel<T>*>(op.chan);
    T& v = *static_cast<T*>(op.buf);
    if (c.closed_) return op.closed = true;
    if (waiter* r = claim_first(c.receivers_, wake::notified, who)) {
      static_cast<std::optional<T>*>(r->slot)->emplace(std::move(v));
      return true;
    }
    if (c.count_ < c.cap_) {
      c.buf_push(std::move(v));
      if (!c.watchers_.empty()) c.wake_watchers();
      return true;
    }
    return false;
  }

  template <class T>
  static select_op recv_op(channel<T>& c, std::optional<T>* out) {
    select_op op;
    op.lk = &c.lk_;
    op.chan = &c;
    op.buf = out;
    op.attempt = &recv_attempt<T>;
    op.enqueue = [](select_op& o, waiter& m) { static_cast<channel<T>*>(o.chan)->receivers_.push(m); };
    op.dequeue = [](select_op& o, waiter& m) noexcept { static_cast<channel<T>*>(o.chan)->receivers_.remove(m); };
    return op;
  }
  template <class T>
  static select_op send_op(channel<T>& c, T* v) {
    select_op op;
    op.lk = &c.lk_;
    op.chan = &c;
    op.buf = v;
    op.attempt = &send_attempt<T>;
    op.enqueue = [](select_op& o, waiter& m) {
      auto& c = *static_cast<channel<T>*>(o.chan);
      if (!c.watchers_.empty()) c.wake_watchers();  // a parked sender makes the channel readable
      c.senders_.push(m);
    };
    op.dequeue = [](select_op& o, waiter& m) noexcept { static_cast<channel<T>*>(o.chan)->senders_.remove(m); };
    return op;
  }
};

// select_random() is a per-thread xorshift generator for the fair pick.
WEFT_API std::uint64_t select_random() noexcept;

// What select_impl chose: a channel case's index, or one of these.
inline constexpr std::size_t select_default = static_cast<std::size_t>(-1);
inline constexpr std::size_t select_timeout = static_cast<std::size_t>(-2);

// select_impl() runs the protocol of the file comment over ops[0..n);
// `order` has room for n indices. Returns the index of the case that ran,
// select_default (has_default and nothing ready) or select_timeout.
WEFT_API std::size_t select_impl(select_op* ops, std::size_t* order, std::size_t n, bool has_default,
                                 ns_t deadline);

// The case types made by on_recv / on_send / after / on_default.
template <class T, class F>
struct recv_case {
  channel<T>* ch;
  F fn;
  std::optional<T> slot{};
};
template <class T, class F>
struct send_case {
  channel<T>* ch;
  T value;
  F fn;
};
template <class F>
struct after_case {
  ns_t deadline;
  F fn;
};
template <class F>
struct default_case {
  F fn;
};

template <class C>
struct is_chan_case : std::false_type {};
template <class T, class F>
struct is_chan_case<recv_case<T, F>> : std::true_type {};
template <class T, class F>
struct is_chan_case<send_case<T, F>> : std::true_type {};
template <class C>
struct is_after_case : std::false_type {};
template <class F>
struct is_after_case<after_case<F>> : std::true_type {};
template <class C>
struct is_default_case : std::false_type {};
template <class F>
struct is_default_case<default_case<F>> : std::true_type {};

template <class T, class F>
select_op op_of(recv_case<T, F>& c) {
  return select_access::recv_op(*c.ch, &c.slot);
}
template <class T, class F>
select_op op_of(send_case<T, F>& c) {
  return select_access::send_op(*c.ch, &c.value);
}

// run_case() calls the chosen case's function as the file comment says.
template <class T, class F>
void run_case(recv_case<T, F>& c, const select_op& op) {
  if constexpr (std::is_invocable_v<F&, std::optional<T>>) {
    c.fn(op.closed ? std::optional<T>() : std::move(c.slot));
  } else {
    if (!op.closed) c.fn(std::move(*c.slot));
  }
}
template <class T, class F>
void run_case(send_case<T, F>& c, const select_op& op) {
  if constexpr (std::is_invocable_v<F&, bool>) c.fn(!op.closed);
  else if (!op.closed) c.fn();
}

}  // namespace detail

// on_recv(ch, fn): receive from ch, then fn(value) (fn(T) or fn(std::optional<T>)).
template <class T, class F>
detail::recv_case<T, std::decay_t<F>> on_recv(channel<T>& ch, F&& fn) {
  return {&ch, std::forward<F>(fn)};
}
// on_send(ch, v, fn): send v on ch, then fn() (or fn(bool sent)).
template <class T, class U, class F>
detail::send_case<T, std::decay_t<F>> on_send(channel<T>& ch, U&& v, F&& fn) {
  return {&ch, T(std::forward<U>(v)), std::forward<F>(fn)};
}
// after(d, fn): if no case could proceed within d, fn().
template <class Rep, class Period, class F>
detail::after_case<std::decay_t<F>> after(std::chrono::duration<Rep, Period> d, F&& fn) {
  return {detail::deadline_after(d), std::forward<F>(fn)};
}
// at(tp, fn): if no case could proceed by the time point tp, fn().
template <class Clock, class Dur, class F>
detail::after_case<std::decay_t<F>> at(std::chrono::time_point<Clock, Dur> tp, F&& fn) {
  return {detail::deadline_at(tp), std::forward<F>(fn)};
}
// on_default(fn): if no case can proceed right now, fn() (Go's default:).
template <class F>
detail::default_case<std::decay_t<F>> on_default(F&& fn) {
  return {std::forward<F>(fn)};
}

// select(cases...): see the file comment. Returns the index of the case that ran.
template <class... C>
std::size_t select(C&&... cases_in) {
  constexpr std::size_t n_after = (std::size_t(detail::is_after_case<std::decay_t<C>>::value) + ... + 0);
  constexpr std::size_t n_default = (std::size_t(detail::is_default_case<std::decay_t<C>>::value) + ... + 0);
  constexpr std::size_t n_chan = (std::size_t(detail::is_chan_case<std::decay_t<C>>::value) + ... + 0);
  static_assert(n_after + n_default <= 1, "weft::select: at most one after()/at() or on_default() case");
  static_assert(n_chan + n_after + n_default == sizeof...(C), "weft::select: cases are on_recv, on_send, after, at, on_default");
  static_assert(n_chan > 0 || n_after + n_default > 0, "weft::select: no cases");

  std::tuple<std::decay_t<C>&...> cases(cases_in...);
  std::array<detail::select_op, n_chan + 1> ops;     // +1: never zero-sized
  std::array<std::size_t, n_chan + 1> where{};      // ops index -> case index
  std::array<std::size_t, n_chan + 1> order;
  detail::ns_t deadline = detail::no_deadline;
  std::size_t special = 0;  // index of the after/default case
  {
    std::size_t k = 0;
    [&]<std::size_t... I>(std::index_sequence<I...>) {
      (
          [&] {
            auto& c = std::get<I>(cases);
            using CT = std::decay_t<decltype(c)>;
            if constexpr (detail::is_chan_case<CT>::value) {
              ops[k] = detail::op_of(c);
              where[k++] = I;
            } else if constexpr (detail::is_after_case<CT>::value) {
              deadline = c.deadline;
              special = I;
            } else {
              special = I;
            }
          }(),
          ...);
    }(std::index_sequence_for<C...>{});
  }
  std::size_t r = detail::select_impl(ops.data(), order.data(), n_chan, n_default > 0, deadline);
  std::size_t chosen = (r == detail::select_default || r == detail::select_timeout) ? special : where[r];
  [&]<std::size_t... I>(std::index_sequence<I...>) {
    (
        [&] {
          if (I != chosen) return;
          auto& c = std::get<I>(cases);
          using CT = std::decay_t<decltype(c)>;
          if constexpr (detail::is_chan_case<CT>::value) detail::run_case(c, ops[r]);
          else c.fn();
        }(),
        ...);
  }(std::index_sequence_for<C...>{});
  return chosen;
}

}  // namespace weft
