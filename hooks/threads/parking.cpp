// hooks/threads/parking.cpp — the address-keyed parking table (see
// parking.hpp). 1024 buckets; a waiter's slot holds the address it waits on,
// so addresses that share a bucket share its queue and are told apart there.
#include "parking.hpp"

namespace weft::hooks::threads {
namespace {

constexpr unsigned bucket_bits = 10;
bucket g_buckets[1u << bucket_bits];

}  // namespace

bucket& bucket_of(const void* addr) noexcept {
  auto a = reinterpret_cast<std::uintptr_t>(addr);
  return g_buckets[((a >> 3) * 0x9E3779B97F4A7C15ull) >> (64 - bucket_bits)];
}

detail::wake park_locked(bucket& b, const void* addr, ns_t deadline, detail::wait_reason why) {
  detail::waiter w;
  w.slot = const_cast<void*>(addr);
  return detail::block_in(b.q, w, b.lk, {.deadline = deadline, .interruptible = false, .reason = why});
}

std::size_t unpark_locked(bucket& b, const void* addr, std::size_t n) noexcept {
  std::size_t woken = 0;
  for (detail::waiter* w = b.q.front(); w && woken < n;) {
    detail::waiter* next = w->next;
    if (w->slot == addr) {
      b.q.remove(*w);
      // Woken with the lock held: the owner cannot leave block() before
      // wake_up() ran, and nothing here touches w afterwards.
      if (detail::wait_ctx* owner = detail::claim_locked(*w, detail::wake::notified)) {
        detail::wake_up(owner);
        ++woken;
      }
    }
    w = next;
  }
  return woken;
}

std::size_t unpark(const void* addr, std::size_t n) noexcept {
  bucket& b = bucket_of(addr);
  b.lk.lock();
  std::size_t r = unpark_locked(b, addr, n);
  b.lk.unlock();
  return r;
}

}  // namespace weft::hooks::threads
