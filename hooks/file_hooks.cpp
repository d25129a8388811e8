// hooks/file_hooks.cpp — regular-file calls that perform() does not
// describe, on fibers: pread/pwrite (and their 64 names) through the page
// cache without blocking, else on the offload pool (rt::file_pio); fsync,
// fdatasync and sync_file_range on the offload pool (rt::blocking). The
// fiber waits, not interruptibly (the pool thread uses its buffers); the
// carrier's other fibers run. read/write/readv/writev of regular files take
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

// sync_args is what an offloaded sync call needs.
struct sync_args {
  int fd;
  off64_t off = 0, len = 0;
  unsigned flags = 0;
  int which;  // 0 fsync, 1 fdatasync, 2 sync_file_range
};

long do_sync(void* p) noexcept {
  auto* a = static_cast<sync_args*>(p);
  int r = a->which == 0   ? WEFT_REAL(fsync)(a->fd)
          : a->which == 1 ? WEFT_REAL(fdatasync)(a->fd)
                          : WEFT_REAL(sync_file_range)(a->fd, a->off, a->len, a->flags);
  return r < 0 ? -errno : r;
}

int offload_sync(sync_args a) noexcept {
  long r = rt::blocking(&do_sync, &a);
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
  return offload_sync({.fd = fd, .which = 0});
}

WEFT_HOOK int fdatasync(int fd) {
  if (!file_here(fd)) return WEFT_REAL(fdatasync)(fd);
  return offload_sync({.fd = fd, .which = 1});
}

WEFT_HOOK int sync_file_range(int fd, off64_t off, off64_t len, unsigned flags) {
  if (!file_here(fd)) return WEFT_REAL(sync_file_range)(fd, off, len, flags);
  return offload_sync({.fd = fd, .off = off, .len = len, .flags = flags, .which = 2});
}
