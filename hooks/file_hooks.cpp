// hooks/file_hooks.cpp — regular-file calls that perform() does not
// describe, on fibers: pread/pwrite (and their 64 names) through the page
// cache without blocking, else on the carrier's io_uring (backend uring)
// or the offload pool (rt::file_pio); fsync, fdatasync and sync_file_range
// the same way (rt::file_sync). The fiber waits, not interruptibly (the
// kernel or the pool thread uses its buffers); the carrier's other fibers
// run. read/write/readv/writev of regular files take
// the same path inside rt::perform. See docs/hooks.md "Regular files".

// pread and pread64 are separate symbols; without this the header renames
// pread to pread64 (meson builds with _FILE_OFFSET_BITS=64).
#undef _FILE_OFFSET_BITS
#include "hook_core.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>

namespace rt = weft::rt;

namespace {

// file_here() is true when fd is a regular file and the caller a fiber.
bool file_here(int fd) noexcept {
  return rt::maybe_fiber() && rt::on_fiber() && rt::facts(fd).kind == rt::fd_kind::file;
}

// pio() is pread/pwrite on a fiber; errno as the plain call sets it.
ssize_t pio(int fd, const void* buf, size_t n, off_t pos, bool write) noexcept {
  if (pos < 0) {
    errno = EINVAL;
    return -1;
  }
  iovec v{const_cast<void*>(buf), n};
  ssize_t r = rt::file_pio(fd, &v, 1, pos, write);
  if (r < 0) {
    errno = static_cast<int>(-r);
    return -1;
  }
  return r;
}

// file_sync() is a sync call on the ring or the pool (rt::file_sync), with
// errno set as the plain call sets it.
int file_sync(int fd, int which, off64_t off = 0, off64_t len = 0, unsigned flags = 0) noexcept {
  long r = rt::file_sync(fd, which, off, len, flags);
  if (r < 0) {
    errno = static_cast<int>(-r);
    return -1;
  }
  return static_cast<int>(r);
}

}  // namespace

WEFT_HOOK ssize_t pread(int fd, void* buf, size_t n, off_t pos) {
  if (!file_here(fd)) return WEFT_REAL(pread)(fd, buf, n, pos);
  return pio(fd, buf, n, pos, false);
}

WEFT_HOOK ssize_t pread64(int fd, void* buf, size_t n, off_t pos) {
  if (!file_here(fd)) return WEFT_REAL_AS(ssize_t (*)(int, void*, size_t, off_t), "pread64")(fd, buf, n, pos);
  return pio(fd, buf, n, pos, false);
}

WEFT_HOOK ssize_t pwrite(int fd, const void* buf, size_t n, off_t pos) {
  if (!file_here(fd)) return WEFT_REAL(pwrite)(fd, buf, n, pos);
  return pio(fd, buf, n, pos, true);
}

WEFT_HOOK ssize_t pwrite64(int fd, const void* buf, size_t n, off_t pos) {
  if (!file_here(fd)) return WEFT_REAL_AS(ssize_t (*)(int, const void*, size_t, off_t), "pwrite64")(fd, buf, n, pos);
  return pio(fd, buf, n, pos, true);
}

WEFT_HOOK int fsync(int fd) {
  if (!file_here(fd)) return WEFT_REAL(fsync)(fd);
  return file_sync(fd, 0);
}

WEFT_HOOK int fdatasync(int fd) {
  if (!file_here(fd)) return WEFT_REAL(fdatasync)(fd);
  return file_sync(fd, 1);
}

WEFT_HOOK int sync_file_range(int fd, off64_t off, off64_t len, unsigned flags) {
  if (!file_here(fd)) return WEFT_REAL(sync_file_range)(fd, off, len, flags);
  return file_sync(fd, 2, off, len, flags);
}
