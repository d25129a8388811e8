// runtime/shared_mutex.cpp — weft::shared_mutex (weft/shared_mutex.hpp).
//
// State under lk_: writer_ (the exclusive owner) or readers_ (how many
// shared owners), and one FIFO of waiters, each marked exclusive or shared
// through waiter::slot. grant() runs whenever the lock may have become
// free for the front of the queue (an unlock, or a timed waiter leaving
// the front): it claims the front writer, or the run of readers up to the
// next writer, and makes them owners before waking them.
#include "wait_ctx.hpp"

#include <weft/errors.hpp>
#include <weft/shared_mutex.hpp>

namespace weft {

using detail::wait_ctx;
using detail::waiter;
using detail::wake;

namespace {
char exclusive_tag;  // waiter::slot of a writer
}

void shared_mutex::grant() noexcept {
  while (waiter* w = q_.front()) {
    bool excl = w->slot != nullptr;
    if (writer_ || (excl && readers_ > 0)) return;
    q_.pop();
    wait_ctx* who = detail::claim_locked(*w, wake::notified);
    if (!who) continue;  // timed out, on its way out
    if (excl) writer_ = who;
    else ++readers_;
    detail::wake_up(who);  // under lk_, as channel::close does: w is never touched again
  }
}

bool shared_mutex::lock_ns(bool exclusive, detail::ns_t deadline, bool interruptible) {
  wait_ctx* me = detail::current_ctx();
  lk_.lock();
  if (writer_ == me) {
    lk_.unlock();
    throw usage_error(exclusive ? "weft::shared_mutex::lock: the caller already holds it exclusively"
                                : "weft::shared_mutex::lock_shared: the caller holds it exclusively");
  }
  if (!writer_ && q_.empty() && (!exclusive || readers_ == 0)) {
    if (exclusive) writer_ = me;
    else ++readers_;
    lk_.unlock();
    return true;
  }
  waiter w;
  w.slot = exclusive ? &exclusive_tag : nullptr;
  q_.push(w);
  wake r = detail::block(w, lk_,
                         {.deadline = deadline, .interruptible = interruptible, .reason = detail::wait_reason::mutex});
  if (r == wake::notified) return true;  // grant() made us an owner
  lk_.lock();
  q_.remove(w);
  grant();  // we may have been the writer holding readers back
  lk_.unlock();
  detail::raise(r);
  return false;
}

bool shared_mutex::try_lock() {
  wait_ctx* me = detail::current_ctx();
  return detail::locked(lk_, [&] {
    if (writer_ || readers_ > 0 || !q_.empty()) return false;
    writer_ = me;
    return true;
  });
}

bool shared_mutex::try_lock_shared() {
  return detail::locked(lk_, [&] {
    if (writer_ || !q_.empty()) return false;
    ++readers_;
    return true;
  });
}

void shared_mutex::unlock() {
  wait_ctx* me = detail::current_ctx();
  lk_.lock();
  if (writer_ != me) {
    lk_.unlock();
    throw usage_error(writer_ ? "weft::shared_mutex::unlock: the caller does not hold it exclusively"
                              : "weft::shared_mutex::unlock: it is not locked exclusively");
  }
  writer_ = nullptr;
  grant();
  lk_.unlock();
}

void shared_mutex::unlock_shared() {
  lk_.lock();
  if (readers_ == 0) {
    lk_.unlock();
    throw usage_error("weft::shared_mutex::unlock_shared: it has no shared owner");
  }
  if (--readers_ == 0) grant();
  lk_.unlock();
}

}  // namespace weft
