// hooks/threads/parking.hpp — a parking table keyed by address, as in
// WebKit's ParkingLot: hashed buckets, each a spinlock and a queue of weft
// waiters. The pthread objects stay in the program's memory with glibc's
// size; whoever waits on one queues a waiter (slot = the object's address)
// in the object's bucket and blocks with the runtime's block/claim protocol,
// which works for fibers and plain threads alike.
//
// Every primitive changes its state with its bucket's lock held (or, for
// mutexes, rechecks its lock word under it), so a wake-up cannot slip
// between "must wait" and "queued".
#pragma once
#include "common.hpp"

#include <weft/detail/wait.hpp>

#include <cstddef>

namespace weft::hooks::threads {

struct alignas(64) bucket {
  detail::spinlock lk;
  detail::wait_queue q;
};

// bucket_of() is the bucket of an address. Callable anywhere.
bucket& bucket_of(const void* addr) noexcept;

// park_locked() queues the caller on `addr` and blocks until unparked or
// the monotonic deadline passes. Called with b.lk held; returns with it
// released: wake::notified or wake::timeout. Fibers and plain threads.
detail::wake park_locked(bucket& b, const void* addr, ns_t deadline,
                         detail::wait_reason why = detail::wait_reason::other);

// unpark_locked() wakes up to n waiters of addr (FIFO); returns how many.
// Called with b.lk held; keeps it held.
std::size_t unpark_locked(bucket& b, const void* addr, std::size_t n) noexcept;

// unpark() is unpark_locked() taking the bucket lock itself.
std::size_t unpark(const void* addr, std::size_t n) noexcept;

// A scoped hold of a bucket's lock (park_locked releases it: call
// released() after parking).
struct bucket_lock {
  bucket& b;
  bool held = true;
  explicit bucket_lock(const void* addr) noexcept : b(bucket_of(addr)) { b.lk.lock(); }
  ~bucket_lock() {
    if (held) b.lk.unlock();
  }
  // park() parks on addr and takes the lock again afterwards.
  detail::wake park(const void* addr, ns_t deadline, detail::wait_reason why = detail::wait_reason::other) {
    detail::wake r = park_locked(b, addr, deadline, why);
    b.lk.lock();
    return r;
  }
  bucket_lock(const bucket_lock&) = delete;
  bucket_lock& operator=(const bucket_lock&) = delete;
};

}  // namespace weft::hooks::threads
