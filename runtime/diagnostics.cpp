// runtime/diagnostics.cpp — see diagnostics.hpp.
#include "diagnostics.hpp"

#include "deadlock.hpp"
#include "debug_table.hpp"
#include "dump_signal.hpp"
#include "log.hpp"
#include "monitor.hpp"
#include "overflow.hpp"
#include "scheduler.hpp"

#include <cstdio>
#include <exception>

namespace weft::detail {

void diagnostics_attach(scheduler& s) noexcept {
  install_overflow_handler();
  debug_register(s);
  deadlock_attach(s);
  try {
    if (s.settings().dump_signal) start_dump_listener(s.settings().dump_signal);
    if (s.settings().monitor_ms) monitor_attach(s, s.settings().monitor_ms);
  } catch (const std::exception& e) {
    log_printf("weft: debugging aids not started: %s\n", e.what());
  }
}

void diagnostics_detach(scheduler& s) noexcept {
  deadlock_detach(s);
  debug_unregister(s);
  if (s.settings().monitor_ms) monitor_detach(s);
}

}  // namespace weft::detail
