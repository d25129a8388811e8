// boost_fiber/host.cpp — weft::boost_fiber::host: installing the algorithm
// and the park provider on a carrier, how Boost contexts park in weft
// waits, and what the host's end does with Boost fibers still alive.
//
// Design notes
//  1. The provider names a foreign context for every Boost context but the
//     dispatcher: a worker fiber, and also the host's own code (Boost's
//     main context), so that a weft wait there suspends it Boost-style and
//     the Boost fibers keep running. Only the dispatcher's idle wait parks
//     the host weft fiber itself (algo.cpp).
//  2. park() takes the context's Boost spinlock before it releases the
//     primitive's lock and hands it to context::suspend(lk), which releases
//     it after the switch; wake() takes it first. So a waker on another
//     carrier, which can claim only after the primitive's lock is free,
//     cannot schedule the context before it has left the CPU.
//  3. Shutdown: ~host lingers (Boost's main context sleeps in 1 ms steps)
//     until every Boost worker fiber has finished, the host weft fiber is
//     cancelled, or host_options::linger passes. Fibers still alive then
//     are reported and abandoned: unlinked from Boost's scheduler (so that
//     Boost's own thread-exit join cannot hang), never resumed, their
//     stacks left allocated. Interrupting them is not offered: Boost.Fiber
//     has no cancellation, and an exception escaping a Boost fiber calls
//     std::terminate.
#include "host_state.hpp"

#include <weft/boost_fiber.hpp>
#include <weft/errors.hpp>
#include <weft/fiber.hpp>

#include <boost/fiber/operations.hpp>

#include <cstdio>
#include <mutex>
#include <vector>

namespace weft::boost_fiber {
namespace detail_ {

namespace {
// Initial-exec TLS: one load, no __tls_get_addr (the library is linked, not dlopen()ed).
__attribute__((tls_model("initial-exec"))) constinit thread_local host_state* tl_host_ptr = nullptr;
}  // namespace

host_state*& tl_host() noexcept { return tl_host_ptr; }

props::props(context* ctx)
    : fiber_properties(ctx), host(tl_host()), wctx(weft::detail::foreign_ctx_create(&boost_ops, this)) {
  if (host) adopt(host);
}

props::~props() {
  if (host && host->al && host->al->host() == host) {
    if (armed) host->timers.erase(timer);
    if (prev) prev->next = next; else host->all = next;
    if (next) next->prev = prev;
  }
  weft::detail::foreign_ctx_destroy(wctx);
}

void props::adopt(host_state* h) noexcept {
  host = h;
  prev = nullptr;
  next = h->all;
  if (next) next->prev = this;
  h->all = this;
}

props* props_of(context* c) noexcept {
  if (auto* p = static_cast<props*>(c->get_properties())) {
    // Boost's main and dispatcher contexts outlive a host; a later host on
    // the carrier takes them over.
    if (p->host != tl_host() && tl_host()) p->adopt(tl_host());
    return p;
  }
  auto* p = new props(c);
  c->set_properties(p);
  return p;
}

namespace {

// park(): a Boost context waits in a weft primitive (foreign.hpp).
void park(void* self, waiter& w, weft::detail::spinlock* lk, ns_t deadline, wake on_deadline) {
  auto* p = static_cast<props*>(self);
  host_state* h = p->host;
  p->cur = &w;
  if (deadline != weft::detail::no_deadline) {
    p->on_deadline = on_deadline;
    p->timer = h->timers.emplace(deadline, p);
    p->armed = true;
  }
  boost::fibers::detail::spinlock_lock bl{p->splk};
  if (lk) lk->unlock();
  p->ctx()->suspend(bl);
  if (p->armed) {
    h->timers.erase(p->timer);
    p->armed = false;
  }
  p->cur = nullptr;
}

// wake(): make a claimed Boost context ready (any thread).
void wake_ctx(void* self) noexcept {
  auto* p = static_cast<props*>(self);
  {
    boost::fibers::detail::spinlock_lock bl{p->splk};
    if (p->abandoned) return;
  }
  context* c = p->ctx();
  if (tl_host() == p->host) c->get_scheduler()->schedule(c);
  else c->get_scheduler()->schedule_from_remote(c);
}

// provide(): the park provider (foreign.hpp) — every context but the dispatcher.
weft::detail::wait_ctx* provide() noexcept {
  context* a = context::active();
  if (a->is_context(boost::fibers::type::dispatcher_context)) return nullptr;
  return props_of(a)->wctx;
}

// bury() keeps every abandoned context reachable, deliberately, for
// the process's life (so leak checkers see kept memory, not a leak).
void bury(context* c) {
  static std::mutex mu;
  static auto* kept = new std::vector<context*>;
  std::lock_guard g(mu);
  kept->push_back(c);
}

// abandon() leaves the live Boost fibers behind for good (note 3).
void abandon(host_state* h) {
  std::size_t n = 0, weft_waits = 0;
  for (props* p = h->all; p; p = p->next) {
    context* c = p->ctx();
    if (!c->is_context(boost::fibers::type::worker_context) || !c->worker_is_linked() || c->terminated_is_linked())
      continue;
    ++n;
    if (p->cur) ++weft_waits;
    {
      boost::fibers::detail::spinlock_lock bl{p->splk};
      p->abandoned = true;
    }
    intrusive_ptr_add_ref(c);  // never freed: its stack may hold waiters still queued in weft primitives
    bury(c);
    if (c->ready_is_linked()) c->ready_unlink();
    if (c->sleep_is_linked()) c->sleep_unlink();
    c->get_scheduler()->detach_worker_context(c);
  }
  if (n)
    std::fprintf(stderr,
                 "weft::boost_fiber: the host on weft fiber %llu ended with %zu Boost fibers alive (%zu waiting in "
                 "weft, %zu in Boost.Fiber or ready); they are abandoned: never resumed, their stacks stay allocated\n",
                 (unsigned long long)h->host_id, n, weft_waits, n - weft_waits);
}

}  // namespace

const weft::detail::foreign_ops boost_ops{&park, &wake_ctx};

bool hosted_here() noexcept { return weft::in_fiber() && tl_host() != nullptr; }

bool on_boost_context() noexcept {
  host_state* h = tl_host();
  if (!h || weft::this_fiber::id() != h->host_id) return false;
  return context::active()->is_context(boost::fibers::type::worker_context);
}

bool check_await() {
  if (!weft::in_fiber()) throw usage_error("weft::boost_fiber::await: call it on a weft fiber");
  host_state* h = tl_host();
  if (!h) throw usage_error("weft::boost_fiber::await: no weft::boost_fiber::host on this carrier");
  return weft::this_fiber::id() == h->host_id;
}

void completion::complete() noexcept {
  lk_.lock();
  done_ = true;
  weft::detail::wait_ctx* owner = w_ ? weft::detail::claim(*w_, wake::notified) : nullptr;
  lk_.unlock();
  if (owner) weft::detail::wake_up(owner);
}

void completion::wait() noexcept {
  lk_.lock();
  if (done_) {
    lk_.unlock();
    return;
  }
  waiter w;
  w_ = &w;
  weft::detail::block(w, lk_, {.interruptible = false, .reason = weft::detail::wait_reason::other});
}

}  // namespace detail_

host::host(host_options o) {
  if (!weft::in_fiber()) throw usage_error("weft::boost_fiber::host: construct it on a weft fiber");
  if (detail_::tl_host()) throw usage_error("weft::boost_fiber::host: this carrier already hosts Boost.Fiber");
  auto* h = new detail_::host_state;
  h->host_id = weft::this_fiber::id();
  h->linger = o.linger;
  detail_::tl_host() = h;
  boost::fibers::use_scheduling_algorithm<detail_::algo>(h);
  try {
    weft::detail::set_park_provider(&detail_::provide);
  } catch (...) {
    detail_::tl_host() = nullptr;
    h->al->detach();  // keeps h
    throw;
  }
  st_ = h;
}

std::size_t host::live() const noexcept { return st_->live(); }

host::~host() {
  detail_::host_state* h = st_;
  h->in_dtor = true;
  auto end = std::chrono::steady_clock::now() + h->linger;
  while (h->live() > 0 && !h->cancelled && std::chrono::steady_clock::now() < end)
    boost::this_fiber::sleep_for(std::chrono::milliseconds(1));
  // Let fibers readied by the last wakes finish their turn.
  boost::this_fiber::yield();
  detail_::abandon(h);
  weft::detail::set_park_provider(nullptr);
  for (detail_::props* p = h->all; p; p = p->next) p->host = nullptr;
  detail_::tl_host() = nullptr;
  h->al->detach();  // keeps h for late notify() calls
}

}  // namespace weft::boost_fiber
