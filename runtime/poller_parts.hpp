// runtime/poller_parts.hpp — pieces every poller backend has the same way
// (poller_epoll.cpp, poller_uring.cpp): the per-fd state table and the idle
// wait used before the backend's kernel objects exist.
#pragma once
#include "raw_syscall.hpp"
#include "wait_ctx.hpp"

#include <weft/detail/wait.hpp>

#include <linux/futex.h>
#include <sys/syscall.h>

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <ctime>
#include <memory>
#include <vector>

namespace weft::detail {

// fd_table<S> is a backend's per-fd state S, in chunks of 1,024 made at
// first use, so a state's address never changes. Owner (scheduler) thread.
template <class S>
class fd_table {
 public:
  // find() is fd's state, or nullptr if none was ever made.
  S* find(int fd) noexcept {
    if (fd < 0 || (fd >> chunk_bits) >= static_cast<int>(chunks_.size()) || !chunks_[fd >> chunk_bits]) return nullptr;
    return &chunks_[fd >> chunk_bits][fd & (chunk_size - 1)];
  }
  // at() is fd's state, made if needed (throws std::bad_alloc).
  S& at(int fd) {
    std::size_t c = static_cast<std::size_t>(fd) >> chunk_bits;
    if (c >= chunks_.size()) chunks_.resize(c + 1);
    if (!chunks_[c]) chunks_[c] = std::make_unique<S[]>(chunk_size);
    return chunks_[c][fd & (chunk_size - 1)];
  }
  // for_each() calls fn(fd, state) for every state ever made.
  template <class F>
  void for_each(F&& fn) {
    for (std::size_t c = 0; c < chunks_.size(); ++c)
      if (chunks_[c])
        for (int i = 0; i < chunk_size; ++i) fn(static_cast<int>(c << chunk_bits) + i, chunks_[c][i]);
  }
  // reset() puts every state back to S{} (a fork child's poller).
  void reset() noexcept {
    for (auto& c : chunks_)
      if (c)
        for (int i = 0; i < chunk_size; ++i) c[i] = S{};
  }

 private:
  static constexpr int chunk_bits = 10;
  static constexpr int chunk_size = 1 << chunk_bits;
  std::vector<std::unique_ptr<S[]>> chunks_;
};

// idle_futex is a poller's idle wait before it has made its kernel objects
// (no fd was waited on yet): a futex word that interrupt() sets. Raw
// syscalls, so the parking fiber's errno stays as it was.
class idle_futex {
 public:
  // sleep() waits until the timeout (ns; < 0: none, 0: return at once),
  // wake() or a signal. Owner thread.
  void sleep(ns_t timeout_ns) noexcept {
    if (timeout_ns == 0) return;
    timespec ts, *tsp = nullptr;
    if (timeout_ns > 0) {
      ts.tv_sec = timeout_ns / 1000000000;
      ts.tv_nsec = timeout_ns % 1000000000;
      tsp = &ts;
    }
    sys(SYS_futex, reinterpret_cast<std::uint32_t*>(&word_), FUTEX_WAIT_PRIVATE, 0, tsp, nullptr, 0);
    word_.store(0, std::memory_order_relaxed);
  }
  // wake() ends a sleep, or the next one. Any thread.
  void wake() noexcept {
    word_.store(1, std::memory_order_release);
    sys(SYS_futex, reinterpret_cast<std::uint32_t*>(&word_), FUTEX_WAKE_PRIVATE, 1, nullptr, nullptr, 0);
  }

 private:
  std::atomic<std::uint32_t> word_{0};
};

// wait_retry() parks the running fiber up to 1 ms (or to o's earlier
// deadline) and reports "ready", so the caller retries its syscall without
// spinning: the wait of an fd the backend cannot watch (epoll's ENOSPC or
// ELOOP, a full AF_UNIX backlog, no ring). Scheduler thread, on a fiber.
inline wake wait_retry(const wait_opts& o) {
  constexpr ns_t retry_ns = 1000000;
  ns_t retry = now_ns() + retry_ns;
  wait_opts o2 = o;
  bool own_deadline = o.deadline <= retry;
  if (!own_deadline) o2.deadline = retry;
  waiter w;
  wake r = block_local(w, o2);
  return r == wake::timeout && !own_deadline ? wake::notified : r;
}

}  // namespace weft::detail
