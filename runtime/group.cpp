// runtime/group.cpp — weft::group: members, concurrency limit, errors.
#include "fiber_ctl.hpp"
#include "scheduler.hpp"

#include <weft/group.hpp>

namespace weft {

group::group(std::size_t limit) : limit_(limit), slots_(static_cast<std::ptrdiff_t>(limit)) {}

group::~group() {
  cancel();
  wg_.wait_ns(detail::no_deadline, false);  // members hold `this`: they must end first
}

void group::reserve() {
  if (limit_) slots_.acquire();
  wg_.add(1);
  detail::locked(lk_, [&] { ++running_; });
}

void group::unreserve() noexcept {
  detail::locked(lk_, [&] { --running_; });
  wg_.done();
  if (limit_) slots_.release();
}

std::uint64_t group::epoch() noexcept {
  return detail::locked(lk_, [&] { return cancel_epoch_; });
}

bool group::enter(member& m, std::uint64_t epoch) {
  m.fiber = static_cast<detail::fiber_ctl*>(detail::current_ctx());
  lk_.lock();
  bool live = epoch == cancel_epoch_;
  m.next = head_;
  if (head_) head_->prev = &m;
  head_ = &m;
  lk_.unlock();
  return live;
}

void group::leave(member& m, std::exception_ptr e) noexcept {
  lk_.lock();
  if (m.prev) m.prev->next = m.next; else head_ = m.next;
  if (m.next) m.next->prev = m.prev;
  if (e && !error_) error_ = e;
  --running_;
  lk_.unlock();
  if (limit_) slots_.release();
  wg_.done();
}

void group::wait() {
  wg_.wait();
  std::exception_ptr e = detail::locked(lk_, [&] { return std::exchange(error_, nullptr); });
  if (e) std::rethrow_exception(e);
}

void group::cancel() noexcept {
  lk_.lock();
  ++cancel_epoch_;  // members spawned but not yet started will not run
  for (member* m = head_; m; m = m->next) detail::fiber_cancel(m->fiber);
  lk_.unlock();
}

std::size_t group::size() const noexcept {
  return detail::locked(lk_, [&] { return running_; });
}

}  // namespace weft
