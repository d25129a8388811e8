// boost_fiber/host_state.hpp — what a weft::boost_fiber::host keeps: the
// Boost.Fiber scheduling algorithm it installs, the per-Boost-context record
// (props) through which Boost fibers wait in weft primitives, and the
// host's own parking state. See docs/design.md, "Boost.Fiber interop".
//
// Who runs where: everything here runs on the host's carrier, except
// algo::notify() and boost_ops.wake for a waker on another carrier, which
// take host_state::lk and props::splk.
#pragma once
#include <weft/detail/foreign.hpp>
#include <weft/detail/wait.hpp>
#include <weft/fiber.hpp>

#include <boost/fiber/algo/algorithm.hpp>
#include <boost/fiber/context.hpp>
#include <boost/fiber/detail/spinlock.hpp>
#include <boost/fiber/properties.hpp>
#include <boost/fiber/scheduler.hpp>

#include <atomic>
#include <chrono>
#include <cstddef>
#include <map>
#include <memory>

namespace weft::boost_fiber::detail_ {

using boost::fibers::context;
using weft::detail::ns_t;
using weft::detail::wake;
using weft::detail::waiter;

struct host_state;

// One Boost context (worker, or the host's own main context) as seen by
// weft: its foreign wait context, its weft waiter while parked, and its
// deadline in the host's timer map. Owned by the Boost context (deleted
// with it); made at its first awakened() or first weft wait, for the
// calling carrier's host.
struct props : boost::fibers::fiber_properties {
  host_state* host;
  weft::detail::wait_ctx* wctx;                     // foreign ctx (foreign.hpp)
  boost::fibers::detail::spinlock splk;             // park/wake handshake
  waiter* cur = nullptr;                            // weft waiter while parked
  wake on_deadline = wake::timeout;
  std::multimap<ns_t, props*>::iterator timer;      // valid while armed
  bool armed = false;
  bool abandoned = false;                           // under splk: left by ~host, never resumed
  props* prev = nullptr;                            // host's list of all props
  props* next = nullptr;

  explicit props(context* ctx);
  ~props() override;
  context* ctx() const noexcept { return ctx_; }
  // adopt() links this record into h's list and makes h its host.
  void adopt(host_state* h) noexcept;
};

// The calling carrier's host, or nullptr.
host_state*& tl_host() noexcept;

// props_of() is c's record, made now if it has none. Host carrier.
props* props_of(context* c) noexcept;

class algo;

// The host's state; made by host's constructor, and kept after its
// destructor by the algorithm it installed (which Boost keeps until the
// next host's algorithm replaces it or the thread exits), so that a late
// notify() from another carrier never touches freed memory.
struct host_state {
  weft::fiber_id host_id = 0;           // the weft fiber that is the host
  algo* al = nullptr;                   // the installed algorithm
  std::chrono::milliseconds linger{1000};
  // The host weft fiber's park in suspend_until(): waiter, under lk.
  weft::detail::spinlock lk;
  waiter* parked = nullptr;             // under lk
  bool pending = false;                 // under lk: a notify() found no park
  bool parked_local = false;            // host carrier only: parked != nullptr
  // Weft waits of Boost contexts with a deadline: fired by the dispatcher.
  std::multimap<ns_t, props*> timers;
  props* all = nullptr;                 // every props of this host
  std::size_t picks = 0;
  bool cancelled = false;               // the host weft fiber was cancelled
  ns_t cancelled_at = 0;
  bool in_dtor = false;                 // ~host is lingering

  // kick() readies the host weft fiber if it is parked, else leaves a
  // pending wake for its next park. Any thread.
  void kick() noexcept;
  // fire_timers() claims the expired weft waits of Boost contexts and
  // wakes them; returns how many. Host carrier, on the dispatcher.
  std::size_t fire_timers(ns_t now) noexcept;
  // live() counts Boost worker fibers not yet finished. Host carrier.
  std::size_t live() const noexcept;
  // deliver_cancel() makes the host's own code (Boost's main context) see
  // weft::cancelled if it waits in a weft primitive. Host carrier.
  void deliver_cancel() noexcept;
};

// The scheduling algorithm: a FIFO of ready Boost contexts whose idle wait
// parks the host weft fiber.
class algo final : public boost::fibers::algo::algorithm_with_properties<props> {
  boost::fibers::scheduler::ready_queue_type rq_{};
  host_state* h_;                          // nullptr once the host ended (detach()); host carrier
  std::atomic<host_state*> notify_to_;     // what notify() kicks (any thread); nullptr after detach()
  std::unique_ptr<host_state> kept_;       // the ended host's state, kept for late notify() calls

 public:
  explicit algo(host_state* h) noexcept : h_(h), notify_to_(h) { h->al = this; }
  void awakened(context* ctx, props& p) noexcept override;
  context* pick_next() noexcept override;
  bool has_ready_fibers() const noexcept override { return !rq_.empty(); }
  void suspend_until(std::chrono::steady_clock::time_point const& tp) noexcept override;
  void notify() noexcept override;
  // detach() forgets the host (its destructor) and keeps its state;
  // afterwards the algorithm is a plain FIFO whose idle wait sleeps the
  // thread.
  void detach() noexcept {
    notify_to_.store(nullptr, std::memory_order_release);
    kept_.reset(h_);
    h_ = nullptr;
  }
  host_state* host() const noexcept { return h_; }
};

// The foreign ops of Boost contexts (weft/detail/foreign.hpp).
extern const weft::detail::foreign_ops boost_ops;

// misuse() reports a weft fiber that entered a suspending Boost.Fiber call
// on a host carrier, and aborts (Boost's switch path is noexcept).
[[noreturn]] void misuse() noexcept;

}  // namespace weft::boost_fiber::detail_
