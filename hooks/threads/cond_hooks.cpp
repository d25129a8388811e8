// hooks/threads/cond_hooks.cpp — pthread_cond_* on fibers and threads.
//
// The condition variable lives in the program's pthread_cond_t (48 bytes,
// all-zero initializer) with weft's own use of it: the first word counts
// waiters (so a signal without waiters costs one load), and __wrefs keeps
// glibc's meaning of bit 0 (process-shared) and bit 1 (CLOCK_MONOTONIC).
// A waiter queues itself in the parking table under the condvar's address
// *before* it unlocks the mutex, so a signal sent after the unlock finds
// it. Process-shared condvars are left to glibc.
#include "mutex.hpp"
#include "parking.hpp"

#include <cerrno>
#include <cstring>

namespace weft::hooks::threads {
namespace {

constexpr unsigned wrefs_shared = 1, wrefs_monotonic = 2;

std::atomic_ref<unsigned> waiters(pthread_cond_t* c) noexcept {
  return std::atomic_ref<unsigned>(*reinterpret_cast<unsigned*>(c));
}
bool real_cond(const pthread_cond_t* c) noexcept { return c->__data.__wrefs & wrefs_shared; }
clockid_t cond_clock(const pthread_cond_t* c) noexcept {
  return (c->__data.__wrefs & wrefs_monotonic) ? CLOCK_MONOTONIC : CLOCK_REALTIME;
}

// cond_wait() waits on c with m held; deadline monotonic. Returns 0,
// ETIMEDOUT or EPERM (m not held by an error-checking caller).
int cond_wait(pthread_cond_t* c, pthread_mutex_t* m, ns_t deadline) {
  bucket& b = bucket_of(c);
  detail::waiter w;
  w.slot = c;
  b.lk.lock();
  b.q.push(w);
  waiters(c).fetch_add(1, std::memory_order_seq_cst);
  b.lk.unlock();
  int err = real_mutex(m) ? WEFT_REAL(pthread_mutex_unlock)(m) : mutex_unlock(m);
  b.lk.lock();
  if (err) {  // m was not ours: leave the queue, but never lose a signal that took us
    if (detail::claim(w, detail::wake::cancelled)) {
      b.q.remove(w);
      b.lk.unlock();
    } else {
      (void)detail::block(w, b.lk, {.interruptible = false});  // takes the claimer's wake-up
      unpark(c, 1);
    }
    waiters(c).fetch_sub(1, std::memory_order_relaxed);
    return err;
  }
  detail::wake r =
      detail::block(w, b.lk, {.deadline = deadline, .interruptible = false, .reason = detail::wait_reason::condvar});
  if (r != detail::wake::notified) {
    b.lk.lock();
    b.q.remove(w);
    b.lk.unlock();
  }
  waiters(c).fetch_sub(1, std::memory_order_relaxed);
  int lerr = real_mutex(m) ? WEFT_REAL(pthread_mutex_lock)(m) : mutex_lock(m, detail::no_deadline, false);
  if (lerr) return lerr;
  return r == detail::wake::notified ? 0 : ETIMEDOUT;
}

}  // namespace
}  // namespace weft::hooks::threads

using namespace weft::hooks::threads;

WEFT_HOOK int pthread_cond_init(pthread_cond_t* c, const pthread_condattr_t* a) {
  int shared = 0;
  if (a) pthread_condattr_getpshared(a, &shared);
  if (!fibers_mode() || shared) return WEFT_REAL(pthread_cond_init)(c, a);
  clockid_t clock = CLOCK_REALTIME;
  if (a) pthread_condattr_getclock(a, &clock);
  std::memset(c, 0, sizeof *c);
  if (clock == CLOCK_MONOTONIC) c->__data.__wrefs = wrefs_monotonic;
  return 0;
}

WEFT_HOOK int pthread_cond_destroy(pthread_cond_t* c) {
  if (!fibers_mode() || real_cond(c)) return WEFT_REAL(pthread_cond_destroy)(c);
  return 0;
}

WEFT_HOOK int pthread_cond_signal(pthread_cond_t* c) {
  if (!fibers_mode() || real_cond(c)) return WEFT_REAL(pthread_cond_signal)(c);
  if (waiters(c).load(std::memory_order_seq_cst) != 0) unpark(c, 1);
  return 0;
}

WEFT_HOOK int pthread_cond_broadcast(pthread_cond_t* c) {
  if (!fibers_mode() || real_cond(c)) return WEFT_REAL(pthread_cond_broadcast)(c);
  if (waiters(c).load(std::memory_order_seq_cst) != 0) unpark(c, SIZE_MAX);
  return 0;
}

WEFT_HOOK int pthread_cond_wait(pthread_cond_t* c, pthread_mutex_t* m) {
  if (!fibers_mode() || real_cond(c)) return WEFT_REAL(pthread_cond_wait)(c, m);
  return cond_wait(c, m, weft::detail::no_deadline);
}

WEFT_HOOK int pthread_cond_clockwait(pthread_cond_t* c, pthread_mutex_t* m, clockid_t clock, const timespec* abstime) {
  if (!fibers_mode() || real_cond(c)) return WEFT_REAL(pthread_cond_clockwait)(c, m, clock, abstime);
  if (clock != CLOCK_REALTIME && clock != CLOCK_MONOTONIC) return EINVAL;
  ns_t dl = deadline_from(clock, abstime);
  if (dl < 0) return EINVAL;
  return cond_wait(c, m, dl);
}

WEFT_HOOK int pthread_cond_timedwait(pthread_cond_t* c, pthread_mutex_t* m, const timespec* abstime) {
  if (!fibers_mode() || real_cond(c)) return WEFT_REAL(pthread_cond_timedwait)(c, m, abstime);
  ns_t dl = deadline_from(cond_clock(c), abstime);
  if (dl < 0) return EINVAL;
  return cond_wait(c, m, dl);
}
