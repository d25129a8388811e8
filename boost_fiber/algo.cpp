// boost_fiber/algo.cpp — the Boost.Fiber scheduling algorithm a host
// installs on its carrier.
//
// Design notes
//  1. Ready Boost contexts sit in a FIFO. Boost's dispatcher context is one
//     of them while others run, so it is picked once per round; only then
//     (no Boost spinlock is held, no context is half-suspended) does
//     pick_next() let the carrier's other weft fibers run once
//     (host_yield) and fire the expired weft deadlines of Boost contexts.
//  2. When nothing is ready the dispatcher calls suspend_until(tp): the
//     host weft fiber parks (weft's claim protocol, one waiter under the
//     host's lock) until tp, the earliest weft deadline of a Boost context,
//     or a kick: awakened() kicks a parked host from this carrier,
//     notify() from any thread.
//  3. A weft fiber other than the host reaching pick_next() has entered a
//     suspending Boost call; Boost would suspend the host's context on its
//     behalf. That is reported and aborts: the path is noexcept.
#include "host_state.hpp"

#include <weft/fiber.hpp>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <thread>

namespace weft::boost_fiber::detail_ {

namespace {

ns_t to_ns(std::chrono::steady_clock::time_point tp) noexcept {
  if (tp == std::chrono::steady_clock::time_point::max()) return weft::detail::no_deadline;
  return weft::detail::deadline_at(tp);
}

}  // namespace

void algo::awakened(context* ctx, props& p) noexcept {
  // An abandoned context stays suspended whoever readies it (a Boost
  // primitive's cross-carrier wake does not go through boost_ops.wake).
  if (__builtin_expect(p.abandoned, 0)) return;
  ctx->ready_link(rq_);
  if (h_ && h_->parked_local) h_->kick();
}

context* algo::pick_next() noexcept {
  if (h_) {
    if (__builtin_expect(weft::this_fiber::id() != h_->host_id, 0)) misuse();
    if (context::active()->is_context(boost::fibers::type::dispatcher_context)) {
      if (!h_->timers.empty()) h_->fire_timers(weft::detail::now_ns());
      if (weft::detail::host_yield() && !h_->cancelled) {
        h_->cancelled = true;
        h_->cancelled_at = weft::detail::now_ns();
        h_->deliver_cancel();
      }
    }
  }
  if (rq_.empty()) return nullptr;
  context* c = &rq_.front();
  rq_.pop_front();
  return c;
}

void algo::suspend_until(std::chrono::steady_clock::time_point const& tp) noexcept {
  host_state* h = h_;
  if (!h) {  // no host any more: a plain thread's idle wait
    std::this_thread::sleep_until(std::min(tp, std::chrono::steady_clock::now() + std::chrono::milliseconds(1)));
    return;
  }
  ns_t dl = to_ns(tp);
  if (!h->timers.empty()) {
    if (h->fire_timers(weft::detail::now_ns())) return;
    dl = std::min(dl, h->timers.begin()->first);
  }
  if (h->cancelled) {
    // After a cancel the host's parks are not interruptible (the cancel is
    // sticky); its own code has been told. If it is not lingering in ~host
    // and has not finished within linger, nothing will end the host.
    ns_t end = h->cancelled_at + std::chrono::duration_cast<std::chrono::nanoseconds>(h->linger).count();
    if (!h->in_dtor && weft::detail::now_ns() >= end) {
      std::fprintf(stderr,
                   "weft::boost_fiber: the host fiber %llu was cancelled, and its own code is still waiting in a "
                   "Boost.Fiber call %lld ms later with %zu Boost fibers alive; aborting rather than hanging\n",
                   (unsigned long long)h->host_id, (long long)h->linger.count(), h->live());
      std::abort();
    }
    dl = std::min(dl, end);
  }
  h->lk.lock();
  if (h->pending) {
    h->pending = false;
    h->lk.unlock();
    return;
  }
  waiter w;
  h->parked = &w;
  h->parked_local = true;
  wake r = weft::detail::block(w, h->lk, {.deadline = dl, .interruptible = !h->cancelled,
                                          .reason = weft::detail::wait_reason::other});
  h->parked_local = false;
  if (r != wake::notified) {
    h->lk.lock();
    if (h->parked == &w) h->parked = nullptr;
    h->lk.unlock();
  }
  if (r == wake::cancelled && !h->cancelled) {
    h->cancelled = true;
    h->cancelled_at = weft::detail::now_ns();
    h->deliver_cancel();
  }
  if (!h->timers.empty()) h->fire_timers(weft::detail::now_ns());
}

void algo::notify() noexcept {
  if (host_state* h = notify_to_.load(std::memory_order_acquire)) h->kick();
}

void host_state::kick() noexcept {
  lk.lock();
  waiter* w = parked;
  weft::detail::wait_ctx* owner = nullptr;
  if (w) {
    parked = nullptr;
    owner = weft::detail::claim(*w, wake::notified);
  } else {
    pending = true;
  }
  lk.unlock();
  if (owner) weft::detail::wake_up(owner);
}

std::size_t host_state::fire_timers(ns_t now) noexcept {
  std::size_t n = 0;
  while (!timers.empty() && timers.begin()->first <= now) {
    props* p = timers.begin()->second;
    timers.erase(timers.begin());
    p->armed = false;
    if (p->cur && weft::detail::claim(*p->cur, p->on_deadline)) {
      boost_ops.wake(p);
      ++n;
    }
  }
  return n;
}

std::size_t host_state::live() const noexcept {
  std::size_t n = 0;
  for (props* p = all; p; p = p->next) {
    context* c = p->ctx();
    if (c->is_context(boost::fibers::type::worker_context) && !p->abandoned && c->worker_is_linked() &&
        !c->terminated_is_linked())
      ++n;
  }
  return n;
}

void host_state::deliver_cancel() noexcept {
  for (props* p = all; p; p = p->next) {
    if (!p->ctx()->is_context(boost::fibers::type::main_context) || !p->cur) continue;
    if (weft::detail::claim(*p->cur, wake::cancelled)) boost_ops.wake(p);
  }
}

void misuse() noexcept {
  std::fprintf(stderr,
               "weft::boost_fiber: weft fiber %llu called a suspending Boost.Fiber operation (pop, get, lock, wait, "
               "join, sleep...) on a carrier that hosts Boost.Fiber; Boost would suspend the host's context in its "
               "place. Use weft::boost_fiber::await(fn) for suspending calls from weft fibers. Aborting.\n",
               (unsigned long long)weft::this_fiber::id());
  std::abort();
}

}  // namespace weft::boost_fiber::detail_
