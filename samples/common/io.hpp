// samples/common/io.hpp — plain blocking read/write, made robust against
// EINTR and short writes the way any POSIX program must be. On a fiber the
// calls are libweft's hooks: they park the fiber, not the thread.
#pragma once
#include <unistd.h>

#include <cerrno>
#include <cstddef>

namespace samples {

// read_some(fd, buf, n) is read(2) retried on EINTR: > 0 bytes read, 0 at
// end of stream, -1 on error (ECANCELED when the fiber was cancelled).
inline ssize_t read_some(int fd, void* buf, std::size_t n) {
  ssize_t k;
  do k = ::read(fd, buf, n);
  while (k < 0 && errno == EINTR);
  return k;
}

// write_all(fd, p, n) writes all n bytes (a blocking write normally does so
// in one call); false on error.
inline bool write_all(int fd, const void* p, std::size_t n) {
  const char* c = static_cast<const char*>(p);
  while (n > 0) {
    ssize_t k = ::write(fd, c, n);
    if (k < 0 && errno == EINTR) continue;
    if (k <= 0) return false;
    c += k, n -= static_cast<std::size_t>(k);
  }
  return true;
}

}  // namespace samples
