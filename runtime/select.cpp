// runtime/select.cpp — the type-erased core of weft::select
// (weft/select.hpp): lock every channel in address order, try the cases in
// a random permutation, else queue one member waiter per case under one
// head and block on the head; after waking, dequeue every member.
//
// Why lock all channels at once (Go's sellock) rather than try-then-queue
// one channel at a time: a case found ready on the second channel would
// have to claim the select's own head first (a counterpart on the first
// channel may already have taken it), and a counterpart already claimed on
// that channel could then be neither served nor given back. With every
// channel locked no counterpart can reach the select before it has queued
// on all of them, and the first claim after that settles the outcome.
#include "assert.hpp"
#include "wait_ctx.hpp"

#include <weft/fiber.hpp>
#include <weft/select.hpp>

#include <cstdint>
#include <memory>
#include <new>
#include <utility>

namespace weft::detail {
namespace {

__attribute__((tls_model("initial-exec"))) thread_local std::uint64_t rng_state = 0;

// The distinct locks of ops, in address order (insertion sort: a select
// has a handful of cases).
struct lock_set {
  spinlock* local[8];
  std::unique_ptr<spinlock*[]> heap;
  spinlock** locks;
  std::size_t n = 0;
  lock_set(select_op* ops, std::size_t count) : locks(count <= 8 ? local : (heap.reset(new spinlock*[count]), heap.get())) {
    for (std::size_t i = 0; i < count; ++i) {
      spinlock* l = ops[i].lk;
      std::size_t j = n;
      while (j > 0 && locks[j - 1] > l) --j;
      if (j > 0 && locks[j - 1] == l) continue;  // the same channel twice
      for (std::size_t k = n; k > j; --k) locks[k] = locks[k - 1];
      locks[j] = l;
      ++n;
    }
  }
  void lock() noexcept {
    for (std::size_t i = 0; i < n; ++i) locks[i]->lock();
  }
  void unlock() noexcept {
    for (std::size_t i = n; i-- > 0;) locks[i]->unlock();
  }
  // unlock_but_last() releases all but the highest lock, which it returns.
  spinlock& unlock_but_last() noexcept {
    for (std::size_t i = n - 1; i-- > 0;) locks[i]->unlock();
    return *locks[n - 1];
  }
};

// The member waiters, made only when the select has to wait.
struct member_set {
  alignas(waiter) unsigned char local[4 * sizeof(waiter)];
  std::unique_ptr<unsigned char[]> heap;
  waiter* w;
  std::size_t n;
  member_set(std::size_t count, waiter& head)
      : w(reinterpret_cast<waiter*>(count <= 4 ? local
                                               : (heap.reset(new unsigned char[count * sizeof(waiter) + alignof(waiter)]),
                                                  heap.get()))),
        n(count) {
    if (count > 4) w = reinterpret_cast<waiter*>((reinterpret_cast<std::uintptr_t>(w) + alignof(waiter) - 1) &
                                                 ~(std::uintptr_t(alignof(waiter)) - 1));
    for (std::size_t i = 0; i < n; ++i) {
      ::new (&w[i]) waiter(head.owner);
      w[i].multi = &head;
    }
  }
  ~member_set() {
    for (std::size_t i = 0; i < n; ++i) w[i].~waiter();
  }
  waiter& operator[](std::size_t i) noexcept { return w[i]; }
};

}  // namespace

std::uint64_t select_random() noexcept {
  std::uint64_t x = rng_state;
  if (x == 0) x = static_cast<std::uint64_t>(now_ns()) ^ reinterpret_cast<std::uintptr_t>(&rng_state) ^ 0x9e3779b97f4a7c15ull;
  x ^= x << 13;
  x ^= x >> 7;
  x ^= x << 17;
  rng_state = x;
  return x;
}

std::size_t select_impl(select_op* ops, std::size_t* order, std::size_t n, bool has_default, ns_t deadline) {
  if (n == 0) {  // only a default or an after case
    if (has_default) return select_default;
    this_fiber::detail_::sleep_until_ns(deadline);
    return select_timeout;
  }
  for (std::size_t i = 0; i < n; ++i) order[i] = i;
  if (n == 2) {
    if (select_random() & 1) std::swap(order[0], order[1]);
  } else {
    for (std::size_t i = n - 1; i > 0; --i) std::swap(order[i], order[select_random() % (i + 1)]);
  }
  lock_set locks(ops, n);
  locks.lock();
  for (std::size_t k = 0; k < n; ++k) {
    select_op& op = ops[order[k]];
    wait_ctx* who = nullptr;
    if (op.attempt(op, &who)) {
      locks.unlock();
      if (who) wake_up(who);
      return order[k];
    }
  }
  if (has_default) {
    locks.unlock();
    return select_default;
  }
  waiter head;
  member_set members(n, head);
  for (std::size_t i = 0; i < n; ++i) {
    members[i].slot = ops[i].buf;
    ops[i].enqueue(ops[i], members[i]);
  }
  // block() releases the last lock. A counterpart on another channel may
  // claim a member before that; only this thread resumes a parked fiber,
  // and a thread's futex word keeps the wake-up, so the claim may come
  // before block() parks.
  spinlock& last = locks.unlock_but_last();
  wake r = block(head, last, {.deadline = deadline, .reason = wait_reason::select});
  // Take the other members out. The winner was popped by its claimer before
  // the claim, so its queue needs no visit when no other case shares it.
  waiter* won = (r == wake::notified || r == wake::closed) ? static_cast<waiter*>(head.slot) : nullptr;
  if (n == 2 && won && ops[0].lk != ops[1].lk) {
    std::size_t other = won == &members[0] ? 1 : 0;
    ops[other].lk->lock();
    ops[other].dequeue(ops[other], members[other]);
    ops[other].lk->unlock();
  } else {
    locks.lock();
    for (std::size_t i = 0; i < n; ++i) ops[i].dequeue(ops[i], members[i]);
    locks.unlock();
  }
  if (r == wake::notified || r == wake::closed) {
    std::size_t i = static_cast<std::size_t>(static_cast<waiter*>(head.slot) - &members[0]);
    WEFT_ASSERT(i < n, "select woken by a member it does not own");
    if (r == wake::closed) ops[i].closed = true;
    return i;
  }
  raise(r);
  return select_timeout;  // wake::timeout: the after case
}

}  // namespace weft::detail
