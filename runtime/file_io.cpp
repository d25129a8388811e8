// runtime/file_io.cpp — read/write of regular files on a fiber without
// stalling its carrier (rt::perform, rt.hpp; docs/hooks.md "Regular files").
//
// Design notes
//  1. A read first asks the page cache without blocking: preadv2(RWF_NOWAIT)
//     at the file position (pos -1). A hit costs what the plain read costs
//     and never leaves the carrier. A miss (EAGAIN) or a file system that
//     refuses the flag (EOPNOTSUPP, remembered per fd) makes the plain read
//     on the offload pool (offload.cpp) while the fiber waits.
//  2. A write is always made on the pool: it may wait for dirty-page
//     throttling or block allocation (64 MiB of buffered writes took 1.3 s
//     here), and ext4 refuses RWF_NOWAIT for buffered writes (EOPNOTSUPP,
//     kernel 6.18), so there is no cheap "would it block" test. The cost is
//     one pool round trip per write (docs/performance.md).
//  3. Short transfers are completed: a regular-file read returns less than
//     asked only at end of file and a write only on error, and programs rely
//     on it; RWF_NOWAIT may stop early where the cache ends, so the rest is
//     made blocking on the pool (the file position has advanced by what was
//     moved). A short read that reached the file's size (lseek + fstat, no
//     offload) or a read of 0 bytes is end of file. The caller (hooks'
//     blocking_call) gets one result: single.
//  3a. Where the carrier's backend submits file operations (io_uring:
//     poller::file_op), the blocking part goes to the ring instead of the
//     pool: the kernel completes it without a thread of ours. The page-cache
//     attempt stays first: a hit costs one preadv2 and no ring round trip.
//     fsync, fdatasync and sync_file_range (file_sync()) take the same
//     route.
//  4. The offloaded wait is not interruptible: the pool thread writes into
//     the caller's buffers, which must outlive the call; the kernel would
//     not interrupt a disk read either. Other fibers run meanwhile.
//  5. Files of in-memory file systems (procfs, sysfs, tmpfs, cgroup...;
//     fd_facts::in_memory, learned once per fd with fstatfs) take the plain
//     call on the carrier: it never waits for a disk, procfs and sysfs
//     refuse RWF_NOWAIT, and a pool round trip would cost more than the
//     call (reading /proc/self/status made a pool thread appear).
//  6. A page-cache hit is a safe point (scheduler::safe_point): a fiber
//     that has held its carrier for 10 ms yields there, as a thread would be
//     preempted, so one fiber reading a cached file in a loop does not
//     starve the carrier's other fibers. (Many fibers that each read a
//     little share the carrier FIFO: a fiber woken behind 1,000 of them
//     waits for all of them, as behind any 1,000 ready fibers.)
#include "file_io.hpp"

#include "fd_registry.hpp"
#include "offload_pool.hpp"
#include "poller.hpp"
#include "raw_syscall.hpp"
#include "scheduler.hpp"

#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <sys/uio.h>

#include <cerrno>
#include <vector>

namespace weft::detail {
namespace {

// The plain call the pool thread makes.
struct rest_call {
  int fd;
  bool write;
  const iovec* iov;
  int iovcnt;
  off_t pos;  // -1: the file position
};

long plain_rw(void* p) noexcept {
  auto* c = static_cast<rest_call*>(p);
  if (c->pos < 0) return sys(c->write ? SYS_writev : SYS_readv, c->fd, c->iov, c->iovcnt);
  return sys(c->write ? SYS_pwritev : SYS_preadv, c->fd, c->iov, c->iovcnt, static_cast<long>(c->pos), 0L);
}

// on_ring() hands q to the carrier's backend if it submits file operations
// (note 3a); false: use the pool.
bool on_ring(const file_req& q, long* res) noexcept {
  scheduler* s = scheduler::current();
  return s && !s->running()->is_main_ctx && s->io().file_op(q, res);
}

long plain_sync(void* p) noexcept {
  auto* q = static_cast<file_req*>(p);
  switch (q->what) {
    case file_req::kind::fsync: return sys(SYS_fsync, q->fd);
    case file_req::kind::fdatasync: return sys(SYS_fdatasync, q->fd);
    default: return sys(SYS_sync_file_range, q->fd, static_cast<long>(q->off), static_cast<long>(q->len), static_cast<long>(q->flags));
  }
}

std::size_t total(const iovec* iov, int n) noexcept {
  std::size_t t = 0;
  for (int i = 0; i < n; ++i) t += iov[i].iov_len;
  return t;
}

// at_eof() is true when a non-blocking read that moved `got` bytes stopped
// at the end of the file, not where the cached part ends: 0 bytes (EAGAIN
// would say "not cached"), or the file position has reached the size.
bool at_eof(int fd, off_t at, ssize_t got) noexcept {
  if (got == 0) return true;
  struct stat st;
  long pos = at >= 0 ? at + got : sys(SYS_lseek, fd, 0L, SEEK_CUR);
  return pos < 0 || sys(SYS_fstat, fd, &st) < 0 || !S_ISREG(st.st_mode) || pos >= st.st_size;
}

}  // namespace

ssize_t file_rw(io_op& op, fd_facts& f, off_t pos) noexcept {
  const bool write = op.code == op_code::write;
  if (f.in_memory) {  // note 5: the plain call, here
    rest_call c{op.fd, write, op.iov, op.iovcnt, pos};
    return plain_rw(&c);
  }
  ssize_t done = 0;
  if (!write && !f.no_nowait) {
    // preadv2(fd, iov, n, pos_l, pos_h = 0, flags); pos -1: the file position.
    done = sys(SYS_preadv2, op.fd, op.iov, op.iovcnt, static_cast<long>(pos), 0L, RWF_NOWAIT);
    if (done == -EOPNOTSUPP) {
      note_no_nowait(op.fd);
      f.no_nowait = true;
    }
    // A real error ends it; EAGAIN (a miss), EOPNOTSUPP and EINVAL (the
    // flag refused, or an O_DIRECT alignment the plain call will judge) go
    // to the pool.
    if (done < 0 && done != -EAGAIN && done != -EOPNOTSUPP && done != -EINVAL) return done;
    std::size_t want = total(op.iov, op.iovcnt);
    if (done >= 0 && (static_cast<std::size_t>(done) == want || at_eof(op.fd, pos, done))) {
      // A hit never parks: a fiber reading a cached file in a loop would
      // hold the carrier. So a hit is a safe point (note 6).
      if (scheduler* s = scheduler::current()) s->safe_point();
      return done;
    }
    if (done < 0) done = 0;
  }
  // The rest, blocking, on the pool (note 3).
  const iovec* iov = op.iov;
  int n = op.iovcnt;
  iovec one;
  std::vector<iovec> rest;
  if (done > 0) {
    std::size_t skip = static_cast<std::size_t>(done);
    int i = 0;
    while (i < n && skip >= iov[i].iov_len) skip -= iov[i++].iov_len;
    if (n - i == 1) {
      one = {static_cast<char*>(iov[i].iov_base) + skip, iov[i].iov_len - skip};
      iov = &one;
      n = 1;
    } else {
      try {
        rest.assign(iov + i, iov + n);
      } catch (...) {
        return done;  // no memory for the rest: a short transfer
      }
      rest[0].iov_base = static_cast<char*>(rest[0].iov_base) + skip;
      rest[0].iov_len -= skip;
      iov = rest.data();
      n = static_cast<int>(rest.size());
    }
  }
  rest_call c{op.fd, write, iov, n, pos < 0 ? pos : pos + done};
  long r;
  if (!on_ring({.what = write ? file_req::kind::writev : file_req::kind::readv, .fd = op.fd, .iov = iov, .iovcnt = n,
                .pos = c.pos},
               &r))
    r = run_blocking(&plain_rw, &c);
  if (r < 0) return done > 0 ? done : r;
  return done + r;
}

long file_sync(const file_req& q) noexcept {
  long r;
  if (on_ring(q, &r)) return r;
  file_req copy = q;
  return run_blocking(&plain_sync, &copy);
}

}  // namespace weft::detail
