// hooks/threads/barrier_sem_hooks.cpp — pthread_barrier_* and unnamed
// sem_* on fibers and threads.
//
// Both keep weft's state in the program's object, changed only under its
// parking bucket. Barrier (32 bytes): arrived, round, count, and at offset
// 12 glibc's `shared` word (128 = process-private; 0, process-shared, is left
// to glibc). Semaphore (32 bytes): the value in the low word, as glibc keeps
// it, and glibc's `private` word at offset 8 (0, process-shared, is left to
// glibc). sem_wait is not interrupted by signals on a fiber (docs/porting.md).
#include "parking.hpp"

#include <semaphore.h>

#include <cerrno>
#include <climits>
#include <cstring>

namespace weft::hooks::threads {
namespace {

constexpr unsigned futex_private = 128;

struct barrier_state {
  unsigned arrived;
  unsigned round;
  unsigned count;
  unsigned shared;
};
static_assert(sizeof(barrier_state) <= sizeof(pthread_barrier_t));
barrier_state* bst(pthread_barrier_t* b) noexcept { return reinterpret_cast<barrier_state*>(b); }

struct sem_state {
  unsigned value;
  unsigned nwaiters;
  unsigned priv;
};
static_assert(sizeof(sem_state) <= sizeof(sem_t));
sem_state* sst(sem_t* s) noexcept { return reinterpret_cast<sem_state*>(s); }
bool real_sem(sem_t* s) noexcept { return sst(s)->priv != futex_private; }

// sem_take() takes one unit, waiting until the monotonic deadline; 0 or an errno.
int sem_take(sem_t* sem, ns_t deadline, bool try_only) {
  sem_state* s = sst(sem);
  bucket_lock g(sem);
  while (s->value == 0) {
    if (try_only) return EAGAIN;
    ++s->nwaiters;
    detail::wake r = g.park(sem, deadline, detail::wait_reason::semaphore);
    --s->nwaiters;
    if (r != detail::wake::notified && s->value == 0) return ETIMEDOUT;
  }
  --s->value;
  return 0;
}

int fail(int e) noexcept {
  errno = e;
  return -1;
}

}  // namespace
}  // namespace weft::hooks::threads

using namespace weft::hooks::threads;
namespace wd = weft::detail;

WEFT_HOOK int pthread_barrier_init(pthread_barrier_t* b, const pthread_barrierattr_t* a, unsigned count) {
  int shared = 0;
  if (a) pthread_barrierattr_getpshared(a, &shared);
  if (!fibers_mode() || shared) return WEFT_REAL(pthread_barrier_init)(b, a, count);
  if (count == 0 || count > INT_MAX) return EINVAL;
  std::memset(b, 0, sizeof *b);
  *bst(b) = {0, 0, count, futex_private};
  return 0;
}

WEFT_HOOK int pthread_barrier_destroy(pthread_barrier_t* b) {
  if (!fibers_mode() || bst(b)->shared != futex_private) return WEFT_REAL(pthread_barrier_destroy)(b);
  bucket_lock g(b);
  return bst(b)->arrived ? EBUSY : 0;
}

WEFT_HOOK int pthread_barrier_wait(pthread_barrier_t* b) {
  if (!fibers_mode() || bst(b)->shared != futex_private) return WEFT_REAL(pthread_barrier_wait)(b);
  barrier_state* s = bst(b);
  bucket_lock g(b);
  if (++s->arrived == s->count) {
    s->arrived = 0;
    ++s->round;
    unpark_locked(g.b, b, SIZE_MAX);
    return PTHREAD_BARRIER_SERIAL_THREAD;
  }
  unsigned round = s->round;
  while (s->round == round) g.park(b, wd::no_deadline, wd::wait_reason::other);
  return 0;
}

WEFT_HOOK int sem_init(sem_t* sem, int pshared, unsigned value) {
  if (!fibers_mode() || pshared) return WEFT_REAL(sem_init)(sem, pshared, value);
  if (value > SEM_VALUE_MAX) return fail(EINVAL);
  std::memset(sem, 0, sizeof *sem);
  *sst(sem) = {value, 0, futex_private};
  return 0;
}

WEFT_HOOK int sem_destroy(sem_t* sem) {
  if (!fibers_mode() || real_sem(sem)) return WEFT_REAL(sem_destroy)(sem);
  return 0;
}

WEFT_HOOK int sem_post(sem_t* sem) {
  if (!fibers_mode() || real_sem(sem)) return WEFT_REAL(sem_post)(sem);
  sem_state* s = sst(sem);
  bucket_lock g(sem);
  if (s->value >= SEM_VALUE_MAX) return fail(EOVERFLOW);
  ++s->value;
  if (s->nwaiters) unpark_locked(g.b, sem, 1);
  return 0;
}

WEFT_HOOK int sem_wait(sem_t* sem) {
  if (!fibers_mode() || real_sem(sem)) return WEFT_REAL(sem_wait)(sem);
  int e = sem_take(sem, wd::no_deadline, false);
  return e ? fail(e) : 0;
}

WEFT_HOOK int sem_trywait(sem_t* sem) {
  if (!fibers_mode() || real_sem(sem)) return WEFT_REAL(sem_trywait)(sem);
  int e = sem_take(sem, wd::no_deadline, true);
  return e ? fail(e) : 0;
}

WEFT_HOOK int sem_clockwait(sem_t* sem, clockid_t clock, const timespec* abstime) {
  if (!fibers_mode() || real_sem(sem)) return WEFT_REAL(sem_clockwait)(sem, clock, abstime);
  if (clock != CLOCK_REALTIME && clock != CLOCK_MONOTONIC) return fail(EINVAL);
  if (sem_take(sem, wd::no_deadline, true) == 0) return 0;
  ns_t dl = deadline_from(clock, abstime);
  if (dl < 0) return fail(EINVAL);
  int e = sem_take(sem, dl, false);
  return e ? fail(e) : 0;
}

WEFT_HOOK int sem_timedwait(sem_t* sem, const timespec* abstime) {
  if (!fibers_mode() || real_sem(sem)) return WEFT_REAL(sem_timedwait)(sem, abstime);
  return sem_clockwait(sem, CLOCK_REALTIME, abstime);
}

WEFT_HOOK int sem_getvalue(sem_t* sem, int* out) {
  if (!fibers_mode() || real_sem(sem)) return WEFT_REAL(sem_getvalue)(sem, out);
  *out = static_cast<int>(std::atomic_ref<unsigned>(sst(sem)->value).load(std::memory_order_relaxed));
  return 0;
}
