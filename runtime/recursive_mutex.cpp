// runtime/recursive_mutex.cpp — weft::recursive_mutex
// (weft/recursive_mutex.hpp): owner and depth under lk_, FIFO hand-off of
// ownership (depth 1) to the first claimable waiter at the last unlock().
#include "wait_ctx.hpp"

#include <weft/errors.hpp>
#include <weft/recursive_mutex.hpp>

namespace weft {

using detail::wait_ctx;
using detail::waiter;
using detail::wake;

bool recursive_mutex::lock_ns(detail::ns_t deadline, bool interruptible) {
  wait_ctx* me = detail::current_ctx();
  lk_.lock();
  if (owner_ == me || !owner_) {
    owner_ = me;
    ++depth_;
    lk_.unlock();
    return true;
  }
  waiter w;
  wake r = detail::block_in(q_, w, lk_,
                            {.deadline = deadline, .interruptible = interruptible, .reason = detail::wait_reason::mutex});
  if (r == wake::notified) return true;  // unlock() made us the owner, depth 1
  detail::raise(r);
  return false;
}

bool recursive_mutex::try_lock() {
  wait_ctx* me = detail::current_ctx();
  return detail::locked(lk_, [&] {
    if (owner_ && owner_ != me) return false;
    owner_ = me;
    ++depth_;
    return true;
  });
}

void recursive_mutex::unlock() {
  wait_ctx* me = detail::current_ctx();
  lk_.lock();
  if (owner_ != me) {
    lk_.unlock();
    throw usage_error(owner_ ? "weft::recursive_mutex::unlock: the caller does not hold it"
                             : "weft::recursive_mutex::unlock: it is not locked");
  }
  if (--depth_ > 0) {
    lk_.unlock();
    return;
  }
  wait_ctx* next = nullptr;
  detail::claim_first(q_, wake::notified, &next);
  owner_ = next;
  depth_ = next ? 1 : 0;
  lk_.unlock();
  if (next) detail::wake_up(next);
}

std::size_t recursive_mutex::depth() {
  wait_ctx* me = detail::current_ctx();
  return detail::locked(lk_, [&] { return owner_ == me ? depth_ : 0; });
}

}  // namespace weft
