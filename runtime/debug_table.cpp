// runtime/debug_table.cpp — the `weft_debug` table. See debug_table.hpp.
#include "debug_table.hpp"

#include "scheduler.hpp"

#include <sys/syscall.h>
#include <unistd.h>

#include <cstddef>
#include <mutex>

namespace weft::detail {
namespace {

constexpr unsigned n_states = 5, n_reasons = unsigned(wait_reason::wait_many) + 1;
const char* g_states[n_states] = {state_name(fiber_state(0)), state_name(fiber_state(1)), state_name(fiber_state(2)),
                                  state_name(fiber_state(3)), state_name(fiber_state(4))};
const char* g_reasons[n_reasons];
const bool g_reasons_set = [] {
  for (unsigned i = 0; i < n_reasons; ++i) g_reasons[i] = reason_name(wait_reason(i));
  return true;
}();
std::mutex g_mu;

#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Winvalid-offsetof"  // fiber_ctl derives from wait_ctx; GCC lays it out plainly
#define WEFT_OFF(m) static_cast<std::uint32_t>(offsetof(fiber_ctl, m))

}  // namespace
}  // namespace weft::detail

using weft::detail::fiber_ctl;
weft_debug_table weft_debug = {
    1,
    WEFT_OFF(id), WEFT_OFF(name), WEFT_OFF(state), WEFT_OFF(reason), WEFT_OFF(wait_arg), WEFT_OFF(wait_since),
    WEFT_OFF(deadline), WEFT_OFF(fctx), WEFT_OFF(all_next), WEFT_OFF(spawn_file), WEFT_OFF(spawn_line),
    WEFT_OFF(stack) + static_cast<std::uint32_t>(offsetof(boost::context::stack_context, sp)),
    WEFT_OFF(stack) + static_cast<std::uint32_t>(offsetof(boost::context::stack_context, size)),
    weft::detail::n_states, weft::detail::n_reasons,
    weft::detail::g_states, weft::detail::g_reasons,
    nullptr,
};
#undef WEFT_OFF
#pragma GCC diagnostic pop

namespace weft::detail {

void debug_register(scheduler& s) noexcept {
  auto* e = new (std::nothrow) weft_debug_sched{nullptr, s.all_head_slot(), s.running_slot(),
                                                static_cast<std::int32_t>(::syscall(SYS_gettid)), 0};
  if (!e) return;
  std::lock_guard g(g_mu);
  e->next = weft_debug.scheds;
  weft_debug.scheds = e;
}

void debug_unregister(scheduler& s) noexcept {
  std::lock_guard g(g_mu);
  for (weft_debug_sched** p = &weft_debug.scheds; *p; p = &(*p)->next)
    if ((*p)->all_head == s.all_head_slot()) {
      weft_debug_sched* e = *p;
      *p = e->next;
      delete e;
      return;
    }
}

}  // namespace weft::detail
