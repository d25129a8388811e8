// hooks/threads/mutex_hooks.cpp — pthread_mutex_*, pthread_spin_* and sched_yield on
// fibers.
//
// The mutex keeps glibc's layout and lock-word protocol (__lock: 0 free,
// 1 locked, 2 locked with waiters; __owner, __count, __nusers as glibc keeps
// them), so a mutex is the same object whether a fiber or a plain thread
// uses it and static initializers work. In fibers mode every caller goes
// through here: a waiter parks in the parking table under the mutex's
// address (a fiber yields its carrier, a thread sleeps on its futex), and
// unlock wakes one when the word was 2. Owners are named by owner_id(): a
// fiber's negative id, a thread's tid, which is what recursive and
// error-checking kinds compare. Robust, PI/PP and process-shared mutexes are
// left to glibc (on a fiber they block the carrier; docs/porting.md).
#include "mutex.hpp"
#include "parking.hpp"

#include <sched.h>

#include <cerrno>
#include <climits>

namespace weft::hooks::threads {
namespace {

std::atomic_ref<int> word(pthread_mutex_t* m) noexcept { return std::atomic_ref<int>(m->__data.__lock); }

// wait_word() waits while m's word is 2 (someone holds it, waiters
// flagged). Returns false on timeout.
bool wait_word(pthread_mutex_t* m, ns_t deadline) {
  if (idle_path()) {  // scheduler work: never park, spin
    if (deadline != detail::no_deadline && detail::now_ns() >= deadline) return false;
    sched_yield();
    return true;
  }
  bucket_lock g(m);
  if (word(m).load(std::memory_order_relaxed) != 2) return true;
  detail::wake r = park_locked(g.b, m, deadline, detail::wait_reason::mutex);
  g.held = false;
  return r == detail::wake::notified || deadline == detail::no_deadline || detail::now_ns() < deadline;
}

}  // namespace

int mutex_lock(pthread_mutex_t* m, ns_t deadline, bool try_only) {
  auto& d = m->__data;
  int type = d.__kind & 3;
  int me = owner_id();
  if (type == PTHREAD_MUTEX_RECURSIVE && d.__owner == me) {
    if (d.__count == UINT_MAX) return EAGAIN;
    ++d.__count;
    return 0;
  }
  if (type == PTHREAD_MUTEX_ERRORCHECK && d.__owner == me) return EDEADLK;
  int expected = 0;
  if (!word(m).compare_exchange_strong(expected, 1, std::memory_order_acquire, std::memory_order_relaxed)) {
    if (try_only) return EBUSY;
    while (word(m).exchange(2, std::memory_order_acquire) != 0) {
      if (!wait_word(m, deadline)) return ETIMEDOUT;
    }
  }
  d.__owner = me;
  if (type == PTHREAD_MUTEX_RECURSIVE) d.__count = 1;
  ++d.__nusers;
  return 0;
}

int mutex_unlock(pthread_mutex_t* m) noexcept {
  auto& d = m->__data;
  int type = d.__kind & 3;
  if (type == PTHREAD_MUTEX_RECURSIVE || type == PTHREAD_MUTEX_ERRORCHECK) {
    if (d.__owner != owner_id() || word(m).load(std::memory_order_relaxed) == 0) return EPERM;
    if (type == PTHREAD_MUTEX_RECURSIVE && --d.__count != 0) return 0;
  }
  d.__owner = 0;
  --d.__nusers;
  if (word(m).exchange(0, std::memory_order_release) == 2) unpark(m, 1);
  return 0;
}

}  // namespace weft::hooks::threads

using namespace weft::hooks::threads;

WEFT_HOOK int pthread_mutex_lock(pthread_mutex_t* m) {
  if (!fibers_mode() || real_mutex(m)) return WEFT_REAL(pthread_mutex_lock)(m);
  return mutex_lock(m, weft::detail::no_deadline, false);
}

WEFT_HOOK int pthread_mutex_trylock(pthread_mutex_t* m) {
  if (!fibers_mode() || real_mutex(m)) return WEFT_REAL(pthread_mutex_trylock)(m);
  return mutex_lock(m, weft::detail::no_deadline, true);
}

WEFT_HOOK int pthread_mutex_clocklock(pthread_mutex_t* m, clockid_t clock, const timespec* abstime) {
  if (!fibers_mode() || real_mutex(m)) return WEFT_REAL(pthread_mutex_clocklock)(m, clock, abstime);
  if (clock != CLOCK_REALTIME && clock != CLOCK_MONOTONIC) return EINVAL;
  if (mutex_lock(m, weft::detail::no_deadline, true) == 0) return 0;
  ns_t dl = deadline_from(clock, abstime);
  if (dl < 0) return EINVAL;
  return mutex_lock(m, dl, false);
}

WEFT_HOOK int pthread_mutex_timedlock(pthread_mutex_t* m, const timespec* abstime) {
  if (!fibers_mode() || real_mutex(m)) return WEFT_REAL(pthread_mutex_timedlock)(m, abstime);
  return pthread_mutex_clocklock(m, CLOCK_REALTIME, abstime);
}

WEFT_HOOK int pthread_mutex_unlock(pthread_mutex_t* m) {
  if (!fibers_mode() || real_mutex(m)) return WEFT_REAL(pthread_mutex_unlock)(m);
  return mutex_unlock(m);
}

// ---- spin locks: glibc's own trylock (x86-64 counts down from 1), retried;
// a fiber yields its carrier between rounds of spinning.

WEFT_HOOK int pthread_spin_lock(pthread_spinlock_t* l) {
  if (!fibers_mode() || !current_fiber()) return WEFT_REAL(pthread_spin_lock)(l);
  auto trylock = WEFT_REAL(pthread_spin_trylock);
  for (;;) {
    for (int i = 0; i < 64; ++i) {
      if (trylock(l) == 0) return 0;
      __builtin_ia32_pause();
    }
    weft::rt::yield();  // not a cancellation point, unlike this_fiber::yield
  }
}

// sched_yield on a fiber thread lets the other fibers of its carrier run
// (the real call would only yield the carrier to other OS threads, and a
// spin-wait for a fiber on the same carrier would never end).
WEFT_HOOK int sched_yield() {
  if (!fibers_mode() || !current_fiber()) return WEFT_REAL(sched_yield)();
  weft::rt::yield();
  return 0;
}
