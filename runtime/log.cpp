// runtime/log.cpp — see log.hpp.
#include "log.hpp"

#include <fcntl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdarg>
#include <cstdio>
#include <cstdlib>

namespace weft::detail {
namespace {

std::atomic<int> g_fd{-1};

int open_log() noexcept {
  const char* p = log_path();
  if (!p) return 2;
  int fd = static_cast<int>(syscall(SYS_open, p, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644));
  return fd >= 0 ? fd : 2;
}

}  // namespace

const char* log_path() noexcept {
  static const char* const p = [] {
    const char* v = std::getenv("WEFT_LOG");
    return v && *v ? v : nullptr;
  }();
  return p;
}

int log_fd() noexcept {
  int fd = g_fd.load(std::memory_order_acquire);
  if (__builtin_expect(fd >= 0, 1)) return fd;
  int mine = open_log();
  if (g_fd.compare_exchange_strong(fd, mine, std::memory_order_acq_rel)) return mine;
  if (mine != 2) syscall(SYS_close, mine);  // another thread won
  return fd;
}

void log_write(const char* s, std::size_t n) noexcept {
  int saved = errno;
  int fd = log_fd();
  for (std::size_t off = 0; off < n;) {
    long w = syscall(SYS_write, fd, s + off, n - off);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) break;
    off += static_cast<std::size_t>(w);
  }
  errno = saved;
}

void log_printf(const char* fmt, ...) noexcept {
  char buf[1024];
  va_list ap;
  va_start(ap, fmt);
  int n = std::vsnprintf(buf, sizeof buf, fmt, ap);
  va_end(ap);
  if (n > 0) log_write(buf, static_cast<std::size_t>(n) < sizeof buf ? static_cast<std::size_t>(n) : sizeof buf - 1);
}

}  // namespace weft::detail
