// weft/detail/wait.hpp — the one blocking protocol every primitive uses.
//
// A primitive (channel, mutex, event, join, fd wait, ...) keeps a wait_queue
// of waiters under its spinlock. A blocking caller puts a waiter on the
// stack, queues it and calls block(), which releases the lock and parks the
// caller: a fiber yields to its scheduler, a plain OS thread sleeps on a
// futex. The caller wakes when some other party *claims* the waiter:
//   - a notifier (claim + wake_up, the lock held for claim, released for
//     wake_up),
//   - the scheduler's timer (deadline), or a cancel() of the fiber.
// Claiming is a single CAS on waiter::state, so exactly one party wins and
// the loser leaves the waiter alone. Whoever wins calls wake_up() exactly
// once, and only a winner may touch the waiter after the lock is released.
//
// A multi-wait (select, wait_any) is one claim shared by several queue
// entries: the caller's own waiter (the head, the one it blocks on) and one
// member waiter per queue, whose `multi` points at the head. Claiming a
// member CASes the head's state, so the first claimer on any queue wins and
// the others fail as with any claimed waiter; the winner also records the
// member it took in head.slot. After waking, the caller removes every
// member from its queue under that queue's lock (include/weft/select.hpp).
//
// These are internals used by the header-only templates; user code should not
// need them.
#pragma once
#include <weft/detail/export.hpp>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <limits>

namespace weft::detail {

// Monotonic nanoseconds (CLOCK_MONOTONIC, the clock of std::chrono::steady_clock).
using ns_t = std::int64_t;
inline constexpr ns_t no_deadline = std::numeric_limits<ns_t>::max();

// now_ns() reads CLOCK_MONOTONIC; callable from anywhere.
WEFT_API ns_t now_ns() noexcept;

// deadline_after(d) is now + d, saturating at no_deadline; callable anywhere.
template <class Rep, class Period>
ns_t deadline_after(std::chrono::duration<Rep, Period> d) noexcept {
  if (d <= d.zero()) return now_ns();
  using fns = std::chrono::duration<long double, std::nano>;
  long double n = std::chrono::duration_cast<fns>(d).count();
  ns_t now = now_ns();
  if (n >= static_cast<long double>(no_deadline - now)) return no_deadline;
  return now + static_cast<ns_t>(n);
}

// deadline_at(tp) converts a time point of any clock to monotonic ns.
template <class Clock, class Dur>
ns_t deadline_at(std::chrono::time_point<Clock, Dur> tp) noexcept {
  if constexpr (std::is_same_v<Clock, std::chrono::steady_clock>) {
    auto n = std::chrono::duration_cast<std::chrono::nanoseconds>(tp.time_since_epoch()).count();
    return n < 0 ? 0 : static_cast<ns_t>(n);
  } else {
    return deadline_after(tp - Clock::now());
  }
}

// Why a waiter woke. `timeout` is the wait's own deadline (a *_for call
// returns false); `scope_timeout` is an enclosing weft::timeout (throws).
// `interrupted`: a caught signal ended a hooked call's wait (EINTR).
enum class wake : std::uint8_t { none, notified, closed, timeout, scope_timeout, cancelled, interrupted };

// Whether a caught signal ends a wait (hooked calls only; see
// runtime/signals.hpp): never, unless the handler lacks SA_RESTART
// (read, write, accept, ...), or always (poll, sleep, sockets with
// SO_RCVTIMEO/SO_SNDTIMEO, ...), as signal(7) lists them.
enum class sig_mode : std::uint8_t { none, restartable, always };

// What a parked fiber waits for; shown by weft::dump().
enum class wait_reason : std::uint8_t {
  none, sleep, join, channel_send, channel_recv, mutex, condvar, event,
  semaphore, wait_group, group, fd_read, fd_write, shutdown, other,
  future, select, wait_many
};

// A busy-wait lock held only for a few instructions around queue updates.
// Never park while holding one (block() releases it for you).
class spinlock {
  std::atomic<bool> held_{false};
  WEFT_API void lock_slow() noexcept;

 public:
  void lock() noexcept {
    if (!held_.exchange(true, std::memory_order_acquire)) return;
    lock_slow();
  }
  bool try_lock() noexcept {
    return !held_.load(std::memory_order_relaxed) && !held_.exchange(true, std::memory_order_acquire);
  }
  void unlock() noexcept { held_.store(false, std::memory_order_release); }
};

// locked(lk, fn) runs fn() with lk held and returns its result.
template <class F>
auto locked(spinlock& lk, F&& fn) noexcept(noexcept(fn())) {
  lk.lock();
  struct unlock_at_exit {
    spinlock& l;
    ~unlock_at_exit() { l.unlock(); }
  } g{lk};
  return fn();
}

// A fiber or an OS thread that can block; defined in the runtime.
struct wait_ctx;

// current_ctx() is the running fiber, or the calling thread when no fiber
// runs on it; callable from anywhere.
WEFT_API wait_ctx* current_ctx() noexcept;

// One blocked caller in one queue. Lives on the caller's stack for the
// duration of one block() call.
struct waiter {
  waiter* next = nullptr;
  waiter* prev = nullptr;
  wait_ctx* owner;                     // who to wake
  void* slot = nullptr;                // primitive-specific payload (a channel's value)
  std::atomic<wake> state{wake::none}; // set once, by the claimer
  bool queued = false;                 // linked in a wait_queue
  waiter* multi = nullptr;             // a multi-wait member: claims go to *multi (the head)

  waiter() noexcept : owner(current_ctx()) {}
  explicit waiter(wait_ctx* o) noexcept : owner(o) {}
  waiter(const waiter&) = delete;
  waiter& operator=(const waiter&) = delete;
};

// FIFO of waiters; guarded by the owning primitive's spinlock.
class wait_queue {
  waiter* head_ = nullptr;
  waiter* tail_ = nullptr;

 public:
  bool empty() const noexcept { return head_ == nullptr; }
  // front() is the first waiter (walk on with waiter::next), or nullptr.
  waiter* front() const noexcept { return head_; }
  // push() appends w.
  void push(waiter& w) noexcept {
    w.next = nullptr;
    w.prev = tail_;
    if (tail_) tail_->next = &w; else head_ = &w;
    tail_ = &w;
    w.queued = true;
  }
  // pop() unlinks and returns the first waiter, or nullptr.
  waiter* pop() noexcept {
    waiter* w = head_;
    if (w) remove(*w);
    return w;
  }
  // remove() unlinks w if it is still queued.
  void remove(waiter& w) noexcept {
    if (!w.queued) return;
    if (w.prev) w.prev->next = w.next; else head_ = w.next;
    if (w.next) w.next->prev = w.prev; else tail_ = w.prev;
    w.next = w.prev = nullptr;
    w.queued = false;
  }
};

// How to wait: deadline (no_deadline = none), whether cancel() and weft::timeout
// scopes may interrupt it, and what to show in a dump.
struct wait_opts {
  ns_t deadline = no_deadline;
  bool interruptible = true;
  wait_reason reason = wait_reason::other;
  std::uint64_t arg = 0;
  sig_mode sig = sig_mode::none;      // caught signals end the wait?
  const void* sigmask = nullptr;      // sigset_t in force while parked (ppoll, pselect, epoll_pwait)
};

// block() parks the caller until w is claimed. Called with `lk` held and w
// queued; releases `lk` before parking; returns with `lk` released and w's
// claim reason. On any reason but `notified`/`closed` the caller must remove
// w from its queue (block_in does that). Callable from fibers and threads.
WEFT_API wake block(waiter& w, spinlock& lk, const wait_opts& o);

// block_in() queues w on q, blocks, and on timeout or cancel dequeues w again.
inline wake block_in(wait_queue& q, waiter& w, spinlock& lk, const wait_opts& o) {
  q.push(w);
  wake r = block(w, lk, o);
  if (r != wake::notified && r != wake::closed) {
    lk.lock();
    q.remove(w);
    lk.unlock();
  }
  return r;
}

// claim() takes w with reason `why`; returns w's owner if this call won,
// nullptr if someone else claimed it first. Call with the queue's lock held;
// then release the lock and pass the owner to wake_up().
// A member of a multi-wait is claimed through its head, which then names
// the member in head.slot (read by the owner only after it woke).
inline wait_ctx* claim(waiter& w, wake why) noexcept {
  waiter& c = w.multi ? *w.multi : w;
  wait_ctx* owner = c.owner;  // read before the CAS: once claimed, w may vanish
  wake expected = wake::none;
  if (!c.state.compare_exchange_strong(expected, why, std::memory_order_acq_rel, std::memory_order_relaxed))
    return nullptr;
  if (&c != &w) c.slot = &w;
  return owner;
}

// claim_locked() is claim() for a caller that holds the lock of the queue w
// sits in: when w's owner is a fiber of the caller's own scheduler no other
// claimer can race (other threads need the same lock; timers and cancels run
// on this thread), so it skips the locked instruction. Not for multi-wait
// members, whose other queues have other locks: those take the CAS.
WEFT_API wait_ctx* claim_locked(waiter& w, wake why) noexcept;

// wake_up() makes a claimed owner runnable (any thread may call it).
WEFT_API void wake_up(wait_ctx* owner) noexcept;

// claim_first() pops waiters of q until one can be claimed; returns it (its
// owner in *owner) or nullptr. Call with the queue's lock held.
inline waiter* claim_first(wait_queue& q, wake why, wait_ctx** owner) noexcept {
  while (waiter* w = q.pop()) {
    if ((*owner = claim_locked(*w, why))) return w;
  }
  return nullptr;
}

// raise() throws timed_out for scope_timeout and cancelled for cancelled;
// does nothing for other reasons.
WEFT_API void raise(wake why);

// interruption_point() throws cancelled if the caller was cancelled, or
// timed_out if its weft::timeout scope expired; callable anywhere.
WEFT_API void interruption_point();

}  // namespace weft::detail
