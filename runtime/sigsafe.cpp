// runtime/sigsafe.cpp — backtraces for signal handlers. See sigsafe.hpp.
#include "sigsafe.hpp"

#include <execinfo.h>

namespace weft::detail {

void warm_backtrace() noexcept {
  void* frames[2];
  backtrace(frames, 2);
}

void sig_backtrace() noexcept {
  void* frames[64];
  int n = backtrace(frames, 64);
  backtrace_symbols_fd(frames, n, 2);
}

}  // namespace weft::detail
