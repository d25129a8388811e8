// runtime/sync.cpp — mutex, condition_variable, event, semaphore, wait_group.
//
// Each is a spinlock-guarded state plus a wait_queue, using the block /
// claim / wake_up protocol of weft/detail/wait.hpp. Ownership and units are
// handed straight to the first waiter (FIFO), so a woken waiter never has to
// retry and cannot be overtaken.
#include "wait_ctx.hpp"

#include <weft/errors.hpp>
#include <weft/sync.hpp>

namespace weft {

using detail::block_in;
using detail::claim_first;
using detail::wait_ctx;
using detail::wait_reason;
using detail::waiter;
using detail::wake;

// ---- mutex -----------------------------------------------------------------

void mutex::lock() {
  wait_ctx* me = detail::current_ctx();
  lk_.lock();
  if (!owner_) {
    owner_ = me;
    lk_.unlock();
    return;
  }
  if (owner_ == me) {
    lk_.unlock();
    throw usage_error("weft::mutex::lock: the caller already holds this mutex (it is not recursive)");
  }
  waiter w;
  block_in(q_, w, lk_, {.interruptible = false, .reason = wait_reason::mutex});
  // unlock() made us the owner before waking us.
}

bool mutex::try_lock() {
  wait_ctx* me = detail::current_ctx();
  return detail::locked(lk_, [&] { return owner_ ? false : (owner_ = me, true); });
}

void mutex::unlock() {
  wait_ctx* me = detail::current_ctx();
  lk_.lock();
  if (owner_ != me) {
    lk_.unlock();
    throw usage_error(owner_ ? "weft::mutex::unlock: the caller does not hold this mutex"
                             : "weft::mutex::unlock: the mutex is not locked");
  }
  wait_ctx* next = nullptr;
  claim_first(q_, wake::notified, &next);
  owner_ = next;
  lk_.unlock();
  if (next) detail::wake_up(next);
}

// ---- condition_variable ----------------------------------------------------

detail::wake condition_variable::wait_ns(std::unique_lock<mutex>& lock, detail::ns_t deadline) {
  if (!lock.owns_lock()) throw usage_error("weft::condition_variable::wait: the lock is not held");
  waiter w;
  lk_.lock();
  q_.push(w);
  lk_.unlock();
  try {
    lock.unlock();
  } catch (...) {
    lk_.lock();
    q_.remove(w);
    lk_.unlock();
    throw;
  }
  lk_.lock();
  wake r = detail::block(w, lk_, {.deadline = deadline, .reason = wait_reason::condvar});
  if (r != wake::notified) {
    lk_.lock();
    q_.remove(w);
    lk_.unlock();
  }
  lock.lock();
  detail::raise(r);
  return r;
}

void condition_variable::wait(std::unique_lock<mutex>& lock) { wait_ns(lock, detail::no_deadline); }

void condition_variable::notify_one() noexcept {
  lk_.lock();
  wait_ctx* who = nullptr;
  claim_first(q_, wake::notified, &who);
  lk_.unlock();
  if (who) detail::wake_up(who);
}

void condition_variable::notify_all() noexcept {
  lk_.lock();
  wait_ctx* who;
  while (claim_first(q_, wake::notified, &who)) detail::wake_up(who);
  lk_.unlock();
}

// ---- event -----------------------------------------------------------------

void event::set() noexcept {
  lk_.lock();
  set_ = true;
  wait_ctx* who;
  while (claim_first(q_, wake::notified, &who)) detail::wake_up(who);
  lk_.unlock();
}

void event::clear() noexcept {
  detail::locked(lk_, [&] { set_ = false; });
}

bool event::is_set() const noexcept {
  return detail::locked(lk_, [&] { return set_; });
}

bool event::wait_ns(detail::ns_t deadline) {
  lk_.lock();
  if (set_) {
    lk_.unlock();
    return true;
  }
  waiter w;
  wake r = block_in(q_, w, lk_, {.deadline = deadline, .reason = wait_reason::event});
  detail::raise(r);
  return r == wake::notified;
}

// ---- semaphore -------------------------------------------------------------

semaphore::semaphore(std::ptrdiff_t initial) : count_(initial) {
  if (initial < 0) throw usage_error("weft::semaphore: negative initial count");
}

bool semaphore::try_acquire() noexcept {
  return detail::locked(lk_, [&] { return count_ > 0 ? (--count_, true) : false; });
}

bool semaphore::acquire_ns(detail::ns_t deadline) {
  lk_.lock();
  if (count_ > 0) {
    --count_;
    lk_.unlock();
    return true;
  }
  waiter w;
  wake r = block_in(q_, w, lk_, {.deadline = deadline, .reason = wait_reason::semaphore});
  detail::raise(r);
  return r == wake::notified;  // release() handed us a unit
}

void semaphore::release(std::ptrdiff_t n) {
  if (n < 0) throw usage_error("weft::semaphore::release: negative count");
  lk_.lock();
  wait_ctx* who;
  for (; n > 0 && claim_first(q_, wake::notified, &who); --n) detail::wake_up(who);
  count_ += n;
  lk_.unlock();
}

std::ptrdiff_t semaphore::available() const noexcept {
  return detail::locked(lk_, [&] { return count_; });
}

// ---- wait_group ------------------------------------------------------------

void wait_group::add(std::int64_t n) {
  lk_.lock();
  if (count_ + n < 0) {
    lk_.unlock();
    throw usage_error("weft::wait_group: count would go negative (more done() than add())");
  }
  count_ += n;
  if (count_ == 0) {
    wait_ctx* who;
    while (claim_first(q_, wake::notified, &who)) detail::wake_up(who);
  }
  lk_.unlock();
}

bool wait_group::wait_ns(detail::ns_t deadline, bool interruptible) {
  lk_.lock();
  if (count_ == 0) {
    lk_.unlock();
    return true;
  }
  waiter w;
  wake r = block_in(q_, w, lk_, {.deadline = deadline, .interruptible = interruptible, .reason = wait_reason::wait_group});
  detail::raise(r);
  return r == wake::notified;
}

std::int64_t wait_group::count() const noexcept {
  return detail::locked(lk_, [&] { return count_; });
}

}  // namespace weft
