// runtime/debug_table.hpp — what a debugger needs to find the fibers.
//
// Design: tools/weft-gdb.py must work on release builds without debug info
// and on core files, so it cannot rely on DWARF types or on calling into
// the process. The runtime therefore exports one C symbol, `weft_debug`,
// holding a version, the field offsets of fiber_ctl it reads, the names of
// states and wait reasons, and a list of the live schedulers (each with the
// addresses of its fiber-list head and running-fiber pointer, and the
// carrier's thread id). The script reads it with plain memory reads.
// Bump `version` whenever the layout below changes.
#pragma once
#include <weft/detail/export.hpp>

#include <cstdint>

namespace weft::detail {
class scheduler;
struct fiber_ctl;
}  // namespace weft::detail

extern "C" {

// One registered scheduler.
struct weft_debug_sched {
  weft_debug_sched* next;
  const weft::detail::fiber_ctl* const* all_head;  // first live fiber
  const weft::detail::fiber_ctl* const* running;   // fiber on the CPU
  std::int32_t tid;                                // carrier's kernel thread id
  std::int32_t pad;
};

// The table tools/weft-gdb.py reads (all offsets in bytes into fiber_ctl).
struct weft_debug_table {
  std::uint32_t version;
  std::uint32_t off_id, off_name, off_state, off_reason, off_wait_arg, off_wait_since, off_deadline, off_fctx,
      off_all_next, off_spawn_file, off_spawn_line, off_stack_sp, off_stack_size;
  std::uint32_t n_states, n_reasons;
  const char* const* state_names;
  const char* const* reason_names;
  weft_debug_sched* scheds;  // under an internal lock; read when stopped
};

WEFT_API extern weft_debug_table weft_debug;
}

namespace weft::detail {
// debug_register()/debug_unregister() add/remove the calling carrier's
// scheduler (diagnostics_attach/detach).
void debug_register(scheduler& s) noexcept;
void debug_unregister(scheduler& s) noexcept;
}  // namespace weft::detail
