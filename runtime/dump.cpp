// runtime/dump.cpp — weft::dump: one line per live fiber, optionally with
// the backtraces of the suspended ones (fiber_backtrace.hpp).
#include "fiber_backtrace.hpp"
#include "scheduler.hpp"

#include <weft/dump.hpp>

#include <ostream>

namespace weft::detail {

const char* reason_name(wait_reason r) noexcept {
  static const char* const names[] = {"-",          "sleep",      "join",      "channel send", "channel recv",
                                      "mutex",      "condvar",    "event",     "semaphore",    "wait_group",
                                      "group",      "read",       "write",     "shutdown",     "wait",
                                      "future",     "select",     "wait_any/wait_all"};
  static_assert(sizeof names / sizeof names[0] == static_cast<int>(wait_reason::wait_many) + 1,
                "a name for every wait_reason");
  return names[static_cast<int>(r)];
}

namespace {

// write_wait() describes a parked fiber's wait: `read fd 7`, `join fiber 9`,
// `sleep 120 ms left`, then how long it has waited.
void write_wait(std::ostream& os, const fiber_ctl* f, ns_t now) {
  os << ", " << reason_name(f->reason);
  if (f->reason == wait_reason::fd_read || f->reason == wait_reason::fd_write) os << " fd " << f->wait_arg;
  if (f->reason == wait_reason::join) os << " fiber " << f->wait_arg;
  if (f->deadline != no_deadline && f->timer_index != UINT32_MAX)
    os << (f->reason == wait_reason::sleep ? " " : ", ") << (f->deadline > now ? (f->deadline - now) / 1000000 : 0)
       << " ms left";
  os << ", waiting " << (now - f->wait_since) / 1000000 << " ms";
}

// write_fiber() writes one fiber's line (and backtrace when asked).
void write_fiber(std::ostream& os, const fiber_ctl* f, ns_t now, dump_detail detail) {
  os << "  fiber " << f->id << " \"" << f->name << "\" " << state_name(f->state);
  if (f->state == fiber_state::parked) write_wait(os, f, now);
  if (f->cancel_requested.load(std::memory_order_relaxed)) os << ", cancel requested";
  os << ", spawned at " << f->spawn_file << ":" << f->spawn_line << "\n";
  if (detail == dump_detail::backtraces && f->state != fiber_state::running) write_saved_backtrace(os, f, "      ");
}

}  // namespace

// write_fibers() writes one line per live fiber of s (deadlock.cpp).
void write_fibers(std::ostream& os, const scheduler& s, ns_t now) {
  s.for_each_fiber([&](const fiber_ctl* f) { write_fiber(os, f, now, dump_detail::fibers); });
}

}  // namespace weft::detail

namespace weft {

void dump(std::ostream& os, dump_detail detail) {
  detail::scheduler* s = detail::scheduler::current();
  if (!s) {
    os << "weft: no scheduler on this thread\n";
    return;
  }
  detail::ns_t now = detail::now_ns();
  os << "weft: " << s->live() << " fiber(s), poller " << s->io().name();
  if (std::uint32_t n = s->unstarted()) os << ", " << n << " not started yet (stealable)";
  os << "\n";
  s->for_each_fiber([&](const detail::fiber_ctl* f) { detail::write_fiber(os, f, now, detail); });
}

}  // namespace weft
