// hooks/threads/key_hooks.cpp — pthread_key_* with per-fiber values.
//
// Keys are glibc's (pthread_key_create makes a real key, so plain threads
// keep using glibc's per-thread values); a fiber made by pthread_create
// keeps its own values in its record, tagged with the key's creation
// number so that a deleted and re-created key starts out empty, and runs
// the destructors when it ends. The main fiber and plain threads use
// glibc's values (the main fiber runs on the main thread, so values set
// by constructors before main stay visible).
#include "thread_rec.hpp"

#include <cerrno>
#include <limits.h>

namespace weft::hooks::threads {
namespace {

struct key_info {
  std::atomic<std::uint64_t> seq{0};  // odd while the key exists
  std::atomic<void (*)(void*)> dtor{nullptr};
};
key_info g_keys[PTHREAD_KEYS_MAX];

}  // namespace

void run_key_destructors(thread_rec* r) {
  for (int round = 0; round < PTHREAD_DESTRUCTOR_ITERATIONS; ++round) {
    bool any = false;
    for (std::size_t k = 0; k < r->specific.size(); ++k) {
      thread_rec::slot& s = r->specific[k];
      if (!s.value) continue;
      void* v = s.value;
      s.value = nullptr;
      if (s.seq != g_keys[k].seq.load(std::memory_order_acquire)) continue;
      if (auto d = g_keys[k].dtor.load(std::memory_order_acquire)) {
        d(v);
        any = true;
      }
    }
    if (!any) break;
  }
  std::vector<thread_rec::slot>().swap(r->specific);
}

}  // namespace weft::hooks::threads

using namespace weft::hooks::threads;

WEFT_HOOK int pthread_key_create(pthread_key_t* key, void (*dtor)(void*)) {
  int e = WEFT_REAL(pthread_key_create)(key, dtor);
  if (e || !fibers_mode() || *key >= PTHREAD_KEYS_MAX) return e;
  g_keys[*key].dtor.store(dtor, std::memory_order_release);
  g_keys[*key].seq.fetch_add(1, std::memory_order_acq_rel);  // even -> odd
  return 0;
}

WEFT_HOOK int pthread_key_delete(pthread_key_t key) {
  if (fibers_mode() && key < PTHREAD_KEYS_MAX && (g_keys[key].seq.load() & 1)) {
    g_keys[key].dtor.store(nullptr, std::memory_order_release);
    g_keys[key].seq.fetch_add(1, std::memory_order_acq_rel);  // odd -> even
  }
  return WEFT_REAL(pthread_key_delete)(key);
}

WEFT_HOOK void* pthread_getspecific(pthread_key_t key) {
  thread_rec* r = fibers_mode() ? self_rec() : nullptr;
  if (!r) return WEFT_REAL(pthread_getspecific)(key);
  if (key >= r->specific.size()) return nullptr;
  const thread_rec::slot& s = r->specific[key];
  return s.seq == g_keys[key].seq.load(std::memory_order_acquire) ? s.value : nullptr;
}

WEFT_HOOK int pthread_setspecific(pthread_key_t key, const void* value) {
  thread_rec* r = fibers_mode() ? self_rec() : nullptr;
  if (!r) return WEFT_REAL(pthread_setspecific)(key, value);
  if (key >= PTHREAD_KEYS_MAX) return EINVAL;
  std::uint64_t seq = g_keys[key].seq.load(std::memory_order_acquire);
  if (!(seq & 1)) return EINVAL;
  try {
    if (key >= r->specific.size()) r->specific.resize(key + 1, thread_rec::slot{0, nullptr});
  } catch (...) {
    return ENOMEM;
  }
  r->specific[key] = {seq, const_cast<void*>(value)};
  return 0;
}
