// runtime/workers.cpp — see workers.hpp.
#include "workers.hpp"

#include "os_thread.hpp"

#include <linux/futex.h>
#include <sys/syscall.h>
#include <unistd.h>

namespace weft::detail {
namespace {

void futex_wait(std::atomic<std::uint32_t>* a, std::uint32_t seen) noexcept {
  syscall(SYS_futex, reinterpret_cast<std::uint32_t*>(a), FUTEX_WAIT_PRIVATE, seen, nullptr, nullptr, 0);
}
void futex_wake_all(std::atomic<std::uint32_t>* a) noexcept {
  syscall(SYS_futex, reinterpret_cast<std::uint32_t*>(a), FUTEX_WAKE_PRIVATE, INT32_MAX, nullptr, nullptr, 0);
}

}  // namespace

worker_group::worker_group(const resolved_config& c, scheduler* first)
    : cfg_(c), scheds_(c.workers, nullptr), n_(c.workers) {
  scheds_[0] = first;
  for (std::size_t i = 1; i < n_; ++i) {
    auto w = std::make_unique<worker>();
    w->group = this;
    w->index = static_cast<unsigned>(i);
    try {
      w->thread = start_os_thread(&thread_main, w.get());
    } catch (...) {
      stop_and_join_started();
      throw;
    }
    workers_.push_back(std::move(w));
  }
  // Wait until every carrier has its scheduler (or failed to make one).
  for (std::uint32_t up; (up = started_.load(std::memory_order_acquire)) < n_ - 1;) futex_wait(&started_, up);
  if (start_error_) {
    stop_and_join_started();
    std::rethrow_exception(start_error_);
  }
  // Published once every carrier is up (a release store each): a carrier
  // that sees its group sees the whole carrier table (scheduler::group()).
  for (scheduler* s : scheds_) s->set_group(this);
}

worker_group::~worker_group() {
  if (!joined_) stop_and_join_started();
  scheds_[0]->set_group(nullptr);
}

void* worker_group::thread_main(void* arg) noexcept {
  worker* w = static_cast<worker*>(arg);
  worker_group* g = w->group;
  scheduler* s = nullptr;
  try {
    s = new scheduler(g->cfg_);
    s->bind();
    g->scheds_[w->index] = s;
  } catch (...) {
    delete s;
    s = nullptr;
    locked(g->err_lk_, [&] {
      if (!g->start_error_) g->start_error_ = std::current_exception();
    });
  }
  g->started_.fetch_add(1, std::memory_order_release);
  futex_wake_all(&g->started_);
  if (!s) return nullptr;
  // Park this carrier's own context until stop; its fibers run meanwhile.
  waiter parked;
  w->lk.lock();
  if (!w->stop) {
    w->parked = &parked;
    block(parked, w->lk, {.interruptible = false, .reason = wait_reason::shutdown});
  } else {
    w->lk.unlock();
  }
  s->shutdown();
  s->retire();
  s->unbind();
  return nullptr;  // the scheduler is freed by join(), after every carrier has stopped
}

void worker_group::request_stop() noexcept {
  stopping_.store(true, std::memory_order_seq_cst);
  for (auto& w : workers_) {
    wait_ctx* who = locked(w->lk, [&]() -> wait_ctx* {
      w->stop = true;
      return w->parked ? claim(*w->parked, wake::notified) : nullptr;
    });
    if (who) wake_up(who);
  }
}

void worker_group::work_added(scheduler* from) noexcept {
  if (waking_.load(std::memory_order_seq_cst)) return;  // it scans after clearing the flag
  for (std::size_t i = 0; i < n_; ++i) {
    scheduler* s = scheds_[i];
    if (s == from || !s->idle()) continue;
    if (waking_.exchange(true, std::memory_order_seq_cst)) return;
    if (!s->wake_if_idle()) waking_.store(false, std::memory_order_seq_cst);  // it left the poller: it re-checks
    return;
  }
}

bool worker_group::steal(scheduler* thief) noexcept {
  if (waking_.load(std::memory_order_relaxed)) waking_.store(false, std::memory_order_seq_cst);
  if (stopping()) return false;  // each carrier starts and cancels its own in shutdown()
  std::size_t me = static_cast<std::size_t>(thief->steal_seed++);
  for (std::size_t i = 0; i < n_; ++i) {
    scheduler* victim = scheds_[(me + i) % n_];
    if (victim == thief || !victim->unstarted()) continue;
    if (std::uint32_t k = thief->steal_from(*victim)) {
      if (k > 1) work_added(thief);  // more than it needs now: let the next idle carrier look
      return true;
    }
  }
  return false;
}

void worker_group::join() noexcept {
  for (auto& w : workers_) join_os_thread(w->thread);
  for (std::size_t i = 1; i < n_; ++i) {
    delete scheds_[i];
    scheds_[i] = nullptr;
  }
  joined_ = true;
}

// stop_and_join_started() is request_stop() + join() for the carriers
// started so far (also on a failed construction).
void worker_group::stop_and_join_started() noexcept {
  request_stop();
  join();
}

}  // namespace weft::detail
