// runtime/sched_registry.cpp — see sched_registry.hpp.
#include "sched_registry.hpp"

#include "fd_registry.hpp"
#include "scheduler.hpp"

#include <weft/errors.hpp>

#include <cerrno>

namespace weft::detail {
namespace {

spinlock g_lk;  // guards g_slots, g_retired_parks
scheduler* g_slots[max_schedulers] = {};
unsigned long g_retired_parks = 0;  // io parks of schedulers gone

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
  locked(g_lk, [&] {
    g_retired_parks += g_slots[slot]->io_park_count();
    g_slots[slot] = nullptr;
  });
}

void keep_only_slot(int slot) noexcept {
  ::new (&g_lk) spinlock();  // another thread may have held it at fork()
  for (int i = 0; i < max_schedulers; ++i)
    if (i != slot) g_slots[i] = nullptr;
}

unsigned long io_parks() noexcept {
  return locked(g_lk, [] {
    unsigned long n = g_retired_parks;
    for (scheduler* s : g_slots)
      if (s) n += s->io_park_count();
    return n;
  });
}

void note_watch(int fd, int slot) noexcept {
  if (fd_entry* e = fd_at(fd)) e->watchers.fetch_or(std::uint64_t(1) << slot, std::memory_order_seq_cst);
}

void clear_watch(int fd, int slot) noexcept {
  if (fd_entry* e = fd_lookup(fd)) e->watchers.fetch_and(~(std::uint64_t(1) << slot), std::memory_order_relaxed);
}

void forget_fd(int fd) noexcept {
  fd_entry* e = fd_lookup(fd);
  if (!e) return;  // nobody ever learned or watched a file under this number
  int saved = errno;
  std::uint32_t old = e->inc.fetch_add(1, std::memory_order_acq_rel);
  e->facts.store(0, std::memory_order_release);
  scheduler* me = tl_sched;
  if (me && me->slot() < 0) me = nullptr;  // retired: its poller is idle
  if (me) me->io().forget(fd);
  std::uint64_t others = e->watchers.load(std::memory_order_seq_cst);
  if (me) others &= ~(std::uint64_t(1) << me->slot());
  if (others) {
    locked(g_lk, [&] {
      for (int i = 0; i < max_schedulers; ++i)
        if ((others >> i & 1) && g_slots[i]) g_slots[i]->post_forget(fd, old);
    });
  }
  errno = saved;
}

}  // namespace weft::detail
