// runtime/sched_registry.cpp — see sched_registry.hpp.
#include "sched_registry.hpp"

#include "scheduler.hpp"

#include <weft/errors.hpp>

#include <atomic>
#include <cerrno>
#include <cstdint>

namespace weft::detail {
namespace {

constexpr int chunk_bits = 10;
constexpr int chunk_size = 1 << chunk_bits;
constexpr int max_chunks = 4096;  // fds below 4M: beyond any RLIMIT_NOFILE Linux allows by default

struct watch_entry {
  std::atomic<std::uint64_t> mask;  // slots that registered the fd
  std::atomic<std::uint32_t> inc;   // incarnation
};
struct watch_chunk {
  watch_entry w[chunk_size];
};

spinlock g_lk;                                 // guards g_slots
scheduler* g_slots[max_schedulers] = {};
std::atomic<watch_chunk*> g_watch[max_chunks];  // lazily allocated, never freed

// watch_word() is fd's entry, or nullptr when nobody ever watched fd
// (create = false) or fd is out of range.
watch_entry* watch_word(int fd, bool create) noexcept {
  if (fd < 0 || (fd >> chunk_bits) >= max_chunks) return nullptr;
  std::atomic<watch_chunk*>& c = g_watch[fd >> chunk_bits];
  watch_chunk* p = c.load(std::memory_order_acquire);
  if (!p && create) {
    auto* fresh = new (std::nothrow) watch_chunk{};
    if (!fresh) return nullptr;
    if (c.compare_exchange_strong(p, fresh, std::memory_order_acq_rel)) p = fresh;
    else delete fresh;
  }
  return p ? &p->w[fd & (chunk_size - 1)] : nullptr;
}

}  // namespace

int register_scheduler(scheduler* s) {
  return locked(g_lk, [&] {
    for (int i = 0; i < max_schedulers; ++i) {
      if (!g_slots[i]) {
        g_slots[i] = s;
        return i;
      }
    }
    throw usage_error("weft: more than 64 schedulers (carrier threads) at once");
  });
}

void unregister_scheduler(int slot) noexcept {
  locked(g_lk, [&] { g_slots[slot] = nullptr; });
}

void keep_only_slot(int slot) noexcept {
  ::new (&g_lk) spinlock();  // another thread may have held it at fork()
  for (int i = 0; i < max_schedulers; ++i)
    if (i != slot) g_slots[i] = nullptr;
}

void note_watch(int fd, int slot) noexcept {
  if (auto* w = watch_word(fd, true)) w->mask.fetch_or(std::uint64_t(1) << slot, std::memory_order_seq_cst);
}

void clear_watch(int fd, int slot) noexcept {
  if (auto* w = watch_word(fd, false)) w->mask.fetch_and(~(std::uint64_t(1) << slot), std::memory_order_relaxed);
}

std::uint32_t fd_incarnation(int fd) noexcept {
  watch_entry* w = watch_word(fd, false);
  return w ? w->inc.load(std::memory_order_acquire) : 0;
}

void forget_fd(int fd) noexcept {
  int saved = errno;
  scheduler* me = tl_sched;
  if (me && me->slot() < 0) me = nullptr;  // retired: its poller is idle
  if (me) me->io().forget(fd);
  watch_entry* w = watch_word(fd, false);
  std::uint64_t others = w ? w->mask.load(std::memory_order_seq_cst) : 0;
  if (me) others &= ~(std::uint64_t(1) << me->slot());
  if (others) {
    std::uint32_t old = w->inc.fetch_add(1, std::memory_order_acq_rel);
    locked(g_lk, [&] {
      for (int i = 0; i < max_schedulers; ++i)
        if ((others >> i & 1) && g_slots[i]) g_slots[i]->post_forget(fd, old);
    });
  }
  errno = saved;
}

}  // namespace weft::detail
