// runtime/fiber_local.cpp — the storage behind weft::fiber_local<T>.
//
// Each fiber_local object has a process-unique key (never reused, so a
// value left behind by a destroyed fiber_local can never be found by a new
// one). A fiber keeps its values in a small table hung off
// fiber_ctl::locals, made at its first store and destroyed by locals_end()
// on the fiber, after its function returned (task::drop_fn). A plain thread
// (and run()'s own stack, the main context) keeps its values in a
// thread_local table destroyed at thread exit. Tables are touched only by
// their own fiber or thread, so they need no lock. Lookups are a linear
// scan: programs have a handful of fiber_locals.
#include "scheduler.hpp"

#include <weft/fiber_local.hpp>

#include <atomic>
#include <vector>

namespace weft::detail {
namespace {

struct local_entry {
  std::uint64_t key;
  void* value;
  void (*dtor)(void*);
};

struct local_table {
  std::vector<local_entry> entries;
  // clear() destroys every value, newest first; a destructor that stores a
  // value again (in any fiber_local) is served until nothing is left.
  void clear() noexcept {
    while (!entries.empty()) {
      local_entry e = entries.back();
      entries.pop_back();
      e.dtor(e.value);
    }
  }
  ~local_table() { clear(); }
};

std::atomic<std::uint64_t> next_key{1};
thread_local local_table thread_table;

// table() is the caller's table: the running fiber's (made if `make`), or
// the thread's. nullptr when a fiber has none and make is false.
local_table* table(bool make) {
  scheduler* s = scheduler::current();
  if (!s || s->running()->is_main_ctx) return &thread_table;
  fiber_ctl* f = s->running();
  if (!f->locals && make) f->locals = new local_table;
  return static_cast<local_table*>(f->locals);
}

}  // namespace

std::uint64_t local_key() noexcept { return next_key.fetch_add(1, std::memory_order_relaxed); }

void* local_get(std::uint64_t key) noexcept {
  local_table* t = table(false);
  if (!t) return nullptr;
  for (const local_entry& e : t->entries)
    if (e.key == key) return e.value;
  return nullptr;
}

void local_set(std::uint64_t key, void* value, void (*dtor)(void*)) {
  local_table* t = table(true);
  for (auto it = t->entries.begin(); it != t->entries.end(); ++it)
    if (it->key == key) {
      local_entry old = *it;
      t->entries.erase(it);
      old.dtor(old.value);
      break;
    }
  if (!value) return;
  try {
    t->entries.push_back({key, value, dtor});
  } catch (...) {
    dtor(value);
    throw;
  }
}

void locals_end() noexcept {
  scheduler* s = scheduler::current();
  if (!s) return;
  fiber_ctl* f = s->running();
  if (f->is_main_ctx || !f->locals) return;
  auto* t = static_cast<local_table*>(f->locals);
  t->clear();
  f->locals = nullptr;
  delete t;
}

}  // namespace weft::detail
