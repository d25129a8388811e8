// runtime/clock.cpp — the monotonic clock and the always-on assert.
#include "assert.hpp"

#include <weft/detail/wait.hpp>

#include <cstdarg>
#include <cstdio>
#include <cstdlib>
#include <ctime>

namespace weft::detail {

ns_t now_ns() noexcept {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<ns_t>(ts.tv_sec) * 1000000000 + ts.tv_nsec;
}

void assert_fail(const char* cond, const char* file, int line, const char* fmt, ...) noexcept {
  std::fprintf(stderr, "weft: invariant broken at %s:%d: %s: ", file, line, cond);
  va_list ap;
  va_start(ap, fmt);
  std::vfprintf(stderr, fmt, ap);
  va_end(ap);
  std::fputc('\n', stderr);
  std::abort();
}

}  // namespace weft::detail
