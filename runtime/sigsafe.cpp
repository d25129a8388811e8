// runtime/sigsafe.cpp — backtraces for signal handlers. See sigsafe.hpp.
#include "sigsafe.hpp"

#include <execinfo.h>
#include <sys/syscall.h>

namespace weft::detail {

void warm_backtrace() noexcept {
  void* frames[2];
  backtrace(frames, 2);
  (void)log_fd();
}

void sig_line::flush_to(int fd) noexcept {
  for (std::size_t off = 0; off < n_;) {
    long w = syscall(SYS_write, fd, buf_ + off, n_ - off);
    if (w <= 0) break;
    off += static_cast<std::size_t>(w);
  }
  n_ = 0;
}

void sig_backtrace(int fd) noexcept {
  void* frames[64];
  int n = backtrace(frames, 64);
  backtrace_symbols_fd(frames, n, fd >= 0 ? fd : log_fd());
}

}  // namespace weft::detail
