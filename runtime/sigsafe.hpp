// runtime/sigsafe.hpp — async-signal-safe output for signal handlers.
//
// A fixed buffer filled with strings and numbers (no malloc, no stdio, no
// locale) and flushed with write(2); plus a backtrace written the same way.
// Used by the overflow report (overflow.cpp) and the blocking monitor.
#pragma once
#include "log.hpp"

#include <unistd.h>

#include <cstddef>
#include <cstdint>

namespace weft::detail {

// sig_line collects one report in a stack buffer; flush() writes it where
// weft's reports go (log.hpp). Callable from a signal handler.
class sig_line {
  char buf_[512];
  std::size_t n_ = 0;

 public:
  // put() appends a C string (truncated at the buffer's end).
  sig_line& put(const char* s) noexcept {
    while (s && *s && n_ < sizeof buf_) buf_[n_++] = *s++;
    return *this;
  }
  // dec()/hex() append an unsigned number in decimal / 0x-prefixed hex.
  sig_line& dec(std::uint64_t v) noexcept { return num(v, 10, ""); }
  sig_line& hex(std::uint64_t v) noexcept { return num(v, 16, "0x"); }
  // put() also appends what another sig_line holds.
  sig_line& put(const sig_line& o) noexcept {
    for (std::size_t i = 0; i < o.n_ && n_ < sizeof buf_; ++i) buf_[n_++] = o.buf_[i];
    return *this;
  }
  // copy() copies up to max bytes of the text into out; returns how many.
  std::size_t copy(char* out, std::size_t max) const noexcept {
    std::size_t n = n_ < max ? n_ : max;
    for (std::size_t i = 0; i < n; ++i) out[i] = buf_[i];
    return n;
  }
  // flush() writes the buffer to log_fd() and empties it.
  void flush() noexcept {
    log_write(buf_, n_);
    n_ = 0;
  }
  // flush_to() writes the buffer to fd and empties it.
  void flush_to(int fd) noexcept;

 private:
  sig_line& num(std::uint64_t v, unsigned base, const char* prefix) noexcept {
    char tmp[24];
    int i = 0;
    do {
      tmp[i++] = "0123456789abcdef"[v % base];
      v /= base;
    } while (v);
    put(prefix);
    while (i > 0 && n_ < sizeof buf_) buf_[n_++] = tmp[--i];
    return *this;
  }
};

// sig_backtrace() writes the calling thread's backtrace (at most 64 frames,
// symbolised by backtrace_symbols_fd) to fd (default: log_fd()). Callable
// from a signal handler once warm_backtrace() has run on some thread.
void sig_backtrace(int fd = -1) noexcept;
// warm_backtrace() loads the unwinder (backtrace() dlopens libgcc_s on first
// use, which is not async-signal-safe). Call it outside signal handlers.
void warm_backtrace() noexcept;

}  // namespace weft::detail
