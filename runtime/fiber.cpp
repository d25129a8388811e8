// runtime/fiber.cpp — spawn, join, detach, cancel, and this_fiber.
//
// A fiber's control block and its task share one heap allocation. It holds
// two references at start: the handle's and the running fiber's. join()
// waits on the block's single joiner slot; the ending fiber claims it.
#include "scheduler.hpp"

#include <weft/fiber.hpp>

#include <cerrno>
#include <cstdlib>
#include <new>
#include <thread>

namespace weft::detail {
namespace {

scheduler& require_scheduler(const char* what) {
  scheduler* s = scheduler::current();
  if (!s) throw usage_error(std::string(what) + ": no weft scheduler runs on this thread (call it inside weft::run)");
  return *s;
}

}  // namespace

const char* state_name(fiber_state s) noexcept {
  static const char* const names[] = {"created", "ready", "running", "parked", "done"};
  return names[static_cast<int>(s)];
}

void bad_transition(const fiber_ctl* f, fiber_state to) noexcept {
  assert_fail("legal transition", __FILE__, __LINE__, "fiber %llu \"%s\" was in state %s, expected a state that may move to %s",
              (unsigned long long)f->id, f->name.c_str(), state_name(f->state), state_name(to));
}

void release_ref(fiber_ctl* c) noexcept {
  if (c->refs.fetch_sub(1, std::memory_order_acq_rel) != 1) return;
  WEFT_ASSERT(c->state == fiber_state::done, "fiber %llu freed in state %s", (unsigned long long)c->id,
              state_name(c->state));
  if (c->task) c->task->~task_base();
  c->~fiber_ctl();
  ::operator delete(c);
}

void* fiber_alloc(std::size_t size, std::size_t align) {
  require_scheduler("weft::spawn");
  if (align > 16) throw usage_error("weft::spawn: function objects aligned beyond 16 bytes are not supported");
  void* raw = ::operator new(task_offset + size);
  fiber_ctl* c = ::new (raw) fiber_ctl();
  return task_area(c);
}

void fiber_abandon(void* mem) noexcept {
  fiber_ctl* c = ctl_from_task(mem);
  c->~fiber_ctl();
  ::operator delete(c);
}

fiber_ctl* fiber_start(void* mem, task_base* t, const spawn_options* o, const std::source_location& where) {
  fiber_ctl* c = ctl_from_task(mem);
  scheduler& s = *scheduler::current();
  c->task = t;
  c->id = s.next_id();
  c->spawn_file = where.file_name();
  c->spawn_line = where.line();
  c->refs.store(2, std::memory_order_relaxed);
  try {
    if (o) {
      c->name = o->name;
      c->stack_request = o->stack_size;
    }
    s.place(c);
  } catch (...) {
    t->~task_base();
    fiber_abandon(mem);
    throw;
  }
  return c;
}

void fiber_join(fiber_ctl* c) {
  wait_ctx* me = current_ctx();
  if (me == c) throw usage_error("weft::fiber::join: a fiber cannot join itself");
  c->lk.lock();
  if (c->finished.load(std::memory_order_relaxed)) {
    c->lk.unlock();
    return;
  }
  if (c->joiner) {
    c->lk.unlock();
    throw usage_error("weft::fiber::join: fiber " + std::to_string(c->id) + " is already being joined by another fiber");
  }
  waiter w;
  c->joiner = &w;
  wake r = block(w, c->lk, {.reason = wait_reason::join, .arg = c->id});
  if (r != wake::notified) {
    c->lk.lock();
    if (c->joiner == &w) c->joiner = nullptr;
    c->lk.unlock();
    raise(r);
  }
}

bool fiber_watch(fiber_ctl* c, waiter& m) {
  if (current_ctx() == c) throw usage_error("weft::wait_any: a fiber cannot wait for itself");
  c->lk.lock();
  if (c->finished.load(std::memory_order_relaxed)) {
    c->lk.unlock();
    return true;
  }
  if (c->joiner) {
    c->lk.unlock();
    throw usage_error("weft::wait_any: fiber " + std::to_string(c->id) + " is already being joined or waited for");
  }
  c->joiner = &m;
  c->lk.unlock();
  return false;
}

void fiber_unwatch(fiber_ctl* c, waiter& m) noexcept {
  c->lk.lock();
  if (c->joiner == &m) c->joiner = nullptr;
  c->lk.unlock();
}

void fiber_detach(fiber_ctl* c) noexcept {
  c->lk.lock();
  c->detached = true;
  bool report = c->finished.load(std::memory_order_relaxed) && c->error && !c->cancelled_exit && !c->error_reported;
  if (report) c->error_reported = true;
  c->lk.unlock();
  if (report) report_escape(c);
  release_ref(c);
}

void fiber_release(fiber_ctl* c) noexcept { release_ref(c); }

void fiber_rethrow(fiber_ctl* c) {
  if (c->error) std::rethrow_exception(c->error);
}

task_base* fiber_task(fiber_ctl* c) noexcept { return c->task; }

bool fiber_done(const fiber_ctl* c) noexcept { return c->finished.load(std::memory_order_acquire); }

fiber_id fiber_get_id(const fiber_ctl* c) noexcept { return c->id; }

void fiber_cancel(fiber_ctl* c) noexcept {
  c->cancel_requested.store(true, std::memory_order_seq_cst);
  scheduler* s = std::atomic_ref<scheduler*>(c->sched).load(std::memory_order_seq_cst);
  if (!s) return;  // not started yet: its first run sees the flag (scheduler::prepare)
  if (s == scheduler::current()) {
    s->deliver_cancel(c);
    return;
  }
  c->lk.lock();  // while held, c cannot finish, so s stays alive
  if (!c->finished.load(std::memory_order_relaxed)) s->post_cancel(c);
  c->lk.unlock();
}

}  // namespace weft::detail

namespace weft {

using detail::fiber_ctl;
using detail::scheduler;

bool in_fiber() noexcept {
  scheduler* s = scheduler::current();
  return s && !s->running()->is_main_ctx;
}

namespace this_fiber {

void detail_::sleep_until_ns(weft::detail::ns_t deadline) {
  weft::detail::waiter w;
  weft::detail::wake r = weft::detail::block_local(w, {.deadline = deadline, .reason = weft::detail::wait_reason::sleep});
  weft::detail::raise(r);
}

fiber_id id() noexcept {
  scheduler* s = scheduler::current();
  return s && !s->running()->is_main_ctx ? s->running()->id : 0;
}

const std::string& name() noexcept {
  static const std::string none;
  scheduler* s = scheduler::current();
  return s && !s->running()->is_main_ctx ? s->running()->name : none;
}

bool cancel_requested() noexcept {
  return detail::current_ctx()->cancel_requested.load(std::memory_order_relaxed);
}

}  // namespace this_fiber
}  // namespace weft
