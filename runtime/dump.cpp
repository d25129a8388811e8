// runtime/dump.cpp — weft::dump: one line per live fiber.
#include "scheduler.hpp"

#include <weft/dump.hpp>

#include <ostream>

namespace weft::detail {

const char* reason_name(wait_reason r) noexcept {
  static const char* const names[] = {"-",          "sleep",      "join",      "channel send", "channel recv",
                                      "mutex",      "condvar",    "event",     "semaphore",    "wait_group",
                                      "group",      "read fd",    "write fd",  "shutdown",     "wait"};
  return names[static_cast<int>(r)];
}

}  // namespace weft::detail

namespace weft {

void dump(std::ostream& os) {
  detail::scheduler* s = detail::scheduler::current();
  if (!s) {
    os << "weft: no scheduler on this thread\n";
    return;
  }
  detail::ns_t now = detail::now_ns();
  os << "weft: " << s->live() << " fiber(s), poller " << s->io().name() << "\n";
  s->for_each_fiber([&](const detail::fiber_ctl* f) {
    os << "  fiber " << f->id << " \"" << f->name << "\" " << detail::state_name(f->state);
    if (f->state == detail::fiber_state::parked) {
      os << ", " << detail::reason_name(f->reason);
      if (f->reason == detail::wait_reason::fd_read || f->reason == detail::wait_reason::fd_write ||
          f->reason == detail::wait_reason::join)
        os << " " << f->wait_arg;
      if (f->deadline != detail::no_deadline && f->timer_index != UINT32_MAX)
        os << ", " << (f->deadline > now ? (f->deadline - now) / 1000000 : 0) << " ms left";
      os << ", waiting " << (now - f->wait_since) / 1000000 << " ms";
    }
    if (f->cancel_requested.load(std::memory_order_relaxed)) os << ", cancel requested";
    os << ", spawned at " << f->spawn_file << ":" << f->spawn_line << "\n";
  });
}

}  // namespace weft
