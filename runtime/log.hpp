// runtime/log.hpp — where weft's own reports go.
//
// weft writes nothing into a program's output unless asked: its reports
// (blocking monitor, fibers ending with an uncaught exception, dumps on a
// signal, warnings) go to the file WEFT_LOG names (appended to; `weft-run
// --log FILE` sets it), or to stderr when it is unset. All writes are raw
// syscalls: the hooks never see them, and the signal handlers may use them.
#pragma once
#include <cstddef>

namespace weft::detail {

// log_fd() is the fd reports go to: WEFT_LOG's file, opened once with
// O_APPEND | O_CLOEXEC, or 2. Any thread; async-signal-safe after its
// first call (warm it outside handlers: diagnostics_attach does).
int log_fd() noexcept;
// log_path() is WEFT_LOG's value, or nullptr when reports go to stderr.
const char* log_path() noexcept;
// log_write() writes all n bytes to log_fd(). Async-signal-safe (as log_fd).
void log_write(const char* s, std::size_t n) noexcept;
// log_printf() formats one report and writes it. Not for signal handlers.
void log_printf(const char* fmt, ...) noexcept __attribute__((format(printf, 1, 2)));

}  // namespace weft::detail
