// runtime/file_io.hpp — read/write of regular files on a fiber: the page
// cache without blocking first, else the offload pool (design notes in
// file_io.cpp).
#pragma once
#include "io_op.hpp"
#include "poller.hpp"

namespace weft::detail {

// file_rw() makes op (read or write, at the file position when pos is -1,
// else at pos: pread/pwrite) on a regular file as the blocking call would, parking the calling fiber, not
// interruptibly, when the call must wait for the disk. Returns the count
// or -errno. Fiber only (off a fiber the pool is not used: the plain call).
ssize_t file_rw(io_op& op, fd_facts& f, off_t pos = -1) noexcept;

// file_sync() makes q (fsync, fdatasync or sync_range) on the carrier's
// ring if its backend submits file operations, else on the offload pool,
// parking the calling fiber, not interruptibly. Returns the result or
// -errno. Fiber only.
long file_sync(const file_req& q) noexcept;

}  // namespace weft::detail
