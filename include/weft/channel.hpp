// weft/channel.hpp — weft::channel<T>, Go-style channels for fibers and threads.
//
// capacity 0 is a rendezvous: send() waits until a receiver takes the value.
// capacity N buffers up to N values. close() wakes every waiter: blocked
// senders get false, receivers drain what is buffered and then get nullopt.
// Senders and receivers may be fibers on any scheduler or plain threads.
//
// Hand-off is direct: a sender that finds a parked receiver moves the value
// into the receiver's slot and wakes it, and a receiver that frees buffer
// space pulls a parked sender's value in, so a value is moved at most twice.
// A third queue holds weft::wait_any watchers, woken (not served) when a
// value is buffered, a sender parks or the channel closes; weft::select
// queues ordinary sender/receiver waiters as members of its multi-wait.
#pragma once
#include <weft/detail/wait.hpp>

#include <cstddef>
#include <iterator>
#include <optional>
#include <utility>
#include <vector>

namespace weft {

namespace detail {
struct wait_access;    // weft/wait_any.hpp: waits for a channel to be readable
struct select_access;  // weft/select.hpp: one operation among several channels
}  // namespace detail

template <class T>
class channel {
  friend struct detail::wait_access;
  friend struct detail::select_access;

  mutable detail::spinlock lk_;
  std::size_t cap_;
  std::vector<std::optional<T>> ring_;  // buffered values (capacity cap_)
  std::size_t head_ = 0, count_ = 0;
  detail::wait_queue senders_;    // waiter::slot -> T (value to send)
  detail::wait_queue receivers_;  // waiter::slot -> std::optional<T> (to fill)
  detail::wait_queue watchers_;   // wait_any waiters: woken when a recv could proceed
  bool closed_ = false;

  // wake_watchers() wakes every wait_any watching for a readable channel;
  // lk_ held. Called when a value is buffered or a sender parks.
  void wake_watchers() noexcept {
    detail::wait_ctx* who;
    while (detail::claim_first(watchers_, detail::wake::notified, &who)) detail::wake_up(who);
  }

  void buf_push(T&& v) {
    ring_[(head_ + count_) % cap_].emplace(std::move(v));
    ++count_;
  }
  T buf_pop() {
    T v = std::move(*ring_[head_]);
    ring_[head_].reset();
    head_ = (head_ + 1) % cap_;
    --count_;
    return v;
  }

  // Non-blocking send under lk_; true if delivered (then lk_ is released).
  bool send_locked(T& v) {
    detail::wait_ctx* who;
    if (detail::waiter* r = detail::claim_first(receivers_, detail::wake::notified, &who)) {
      static_cast<std::optional<T>*>(r->slot)->emplace(std::move(v));
      lk_.unlock();
      detail::wake_up(who);
      return true;
    }
    if (count_ < cap_) {
      buf_push(std::move(v));
      if (!watchers_.empty()) wake_watchers();
      lk_.unlock();
      return true;
    }
    return false;
  }

  // Non-blocking receive under lk_; a value if one was there (then lk_ is released).
  std::optional<T> recv_locked() {
    detail::wait_ctx* who = nullptr;
    if (count_ > 0) {
      std::optional<T> v(buf_pop());
      detail::waiter* s = detail::claim_first(senders_, detail::wake::notified, &who);
      if (s) buf_push(std::move(*static_cast<T*>(s->slot)));
      lk_.unlock();
      if (s) detail::wake_up(who);
      return v;
    }
    if (detail::waiter* s = detail::claim_first(senders_, detail::wake::notified, &who)) {
      std::optional<T> v(std::move(*static_cast<T*>(s->slot)));
      lk_.unlock();
      detail::wake_up(who);
      return v;
    }
    return std::nullopt;
  }

 public:
  // channel(capacity) makes a channel; 0 = rendezvous.
  explicit channel(std::size_t capacity = 0) : cap_(capacity), ring_(capacity) {}
  channel(const channel&) = delete;
  channel& operator=(const channel&) = delete;
  // Destroying a channel that still has waiters is a usage error the waiters
  // cannot survive; close() and let them finish first.
  ~channel() = default;

  // send(v) delivers v, waiting while the channel is full; false (v dropped)
  // once the channel is closed. A cancellation point.
  bool send(T v) {
    lk_.lock();
    if (closed_) {
      lk_.unlock();
      return false;
    }
    if (send_locked(v)) return true;
    if (!watchers_.empty()) wake_watchers();
    detail::waiter w;
    w.slot = &v;
    detail::wake r = detail::block_in(senders_, w, lk_, {.reason = detail::wait_reason::channel_send});
    if (r == detail::wake::notified) return true;
    if (r == detail::wake::closed) return false;
    detail::raise(r);
    return false;
  }

  // try_send(v) delivers v only if that needs no wait; v is moved from only
  // on success.
  bool try_send(T&& v) {
    lk_.lock();
    if (!closed_ && send_locked(v)) return true;
    lk_.unlock();
    return false;
  }
  bool try_send(const T& v) {
    T copy(v);
    return try_send(std::move(copy));
  }

  // recv() takes the next value, waiting while none is there; nullopt once
  // the channel is closed and drained. A cancellation point.
  std::optional<T> recv() {
    lk_.lock();
    if (auto v = recv_locked()) return v;
    if (closed_) {
      lk_.unlock();
      return std::nullopt;
    }
    std::optional<T> slot;
    detail::waiter w;
    w.slot = &slot;
    detail::wake r = detail::block_in(receivers_, w, lk_, {.reason = detail::wait_reason::channel_recv});
    if (r == detail::wake::notified) return slot;
    if (r == detail::wake::closed) return std::nullopt;
    detail::raise(r);
    return std::nullopt;
  }

  // try_recv() takes a value only if that needs no wait.
  std::optional<T> try_recv() {
    lk_.lock();
    if (auto v = recv_locked()) return v;
    lk_.unlock();
    return std::nullopt;
  }

  // close() ends the channel; idempotent. Any thread may call it.
  void close() noexcept {
    lk_.lock();
    if (closed_) {
      lk_.unlock();
      return;
    }
    closed_ = true;
    // Waking under the lock is safe: a claimed waiter is never touched again,
    // and its owner at worst spins briefly on lk_.
    for (detail::wait_queue* q : {&receivers_, &senders_, &watchers_}) {
      detail::wait_ctx* who;
      while (detail::claim_first(*q, detail::wake::closed, &who)) detail::wake_up(who);
    }
    lk_.unlock();
  }

  // closed() is true after close().
  bool closed() const noexcept {
    return detail::locked(lk_, [&] { return closed_; });
  }
  // size() is the number of buffered values.
  std::size_t size() const noexcept {
    return detail::locked(lk_, [&] { return count_; });
  }
  std::size_t capacity() const noexcept { return cap_; }

  // Range-for over received values, until closed and drained.
  class iterator {
    channel* ch_ = nullptr;
    std::optional<T> cur_;

   public:
    using value_type = T;
    using difference_type = std::ptrdiff_t;
    using iterator_category = std::input_iterator_tag;
    iterator() = default;
    explicit iterator(channel* c) : ch_(c), cur_(c->recv()) {
      if (!cur_) ch_ = nullptr;
    }
    T& operator*() { return *cur_; }
    iterator& operator++() {
      cur_ = ch_->recv();
      if (!cur_) ch_ = nullptr;
      return *this;
    }
    void operator++(int) { ++*this; }
    bool operator==(const iterator& o) const { return ch_ == o.ch_; }
  };
  iterator begin() { return iterator(this); }
  iterator end() { return iterator(); }
};

}  // namespace weft
