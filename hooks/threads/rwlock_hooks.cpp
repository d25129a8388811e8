// hooks/threads/rwlock_hooks.cpp — pthread_rwlock_* on fibers and threads.
//
// The state lives in the program's pthread_rwlock_t at glibc's offsets
// where they mean the same (so the all-zero initializer is an unlocked
// lock): readers at 0, writer flag at 4, waiting writers at 8, the writer's
// owner_id() at 24 (__cur_writer), process-shared at 28 (__shared; those
// are left to glibc) and the kind at 48 (__flags: 0 prefers readers, as
// glibc's default does; the writer-preferring kinds make new readers wait
// for queued writers). Every change happens under the lock's parking
// bucket; a release that frees the lock wakes every waiter to retry.
#include "parking.hpp"

#include <cerrno>
#include <cstring>

namespace weft::hooks::threads {
namespace {

struct rw_state {
  unsigned readers;
  unsigned writer;
  unsigned writers_waiting;
  unsigned pad[3];
  int cur_writer;
  int shared;
  unsigned char pad2[16];
  unsigned flags;
};
static_assert(sizeof(rw_state) <= sizeof(pthread_rwlock_t));
static_assert(offsetof(rw_state, cur_writer) == 24 && offsetof(rw_state, flags) == 48);

rw_state* st(pthread_rwlock_t* l) noexcept { return reinterpret_cast<rw_state*>(l); }
bool real_rw(pthread_rwlock_t* l) noexcept { return st(l)->shared != 0; }

int rdlock(pthread_rwlock_t* l, ns_t deadline, bool try_only) {
  rw_state* s = st(l);
  bucket_lock g(l);
  if (s->writer && s->cur_writer == owner_id()) return EDEADLK;
  for (;;) {
    bool writers_first = s->flags != PTHREAD_RWLOCK_PREFER_READER_NP;
    if (!s->writer && !(writers_first && s->writers_waiting)) {
      if (s->readers == ~0u) return EAGAIN;
      ++s->readers;
      return 0;
    }
    if (try_only) return EBUSY;
    if (g.park(l, deadline, detail::wait_reason::mutex) != detail::wake::notified) return ETIMEDOUT;
  }
}

int wrlock(pthread_rwlock_t* l, ns_t deadline, bool try_only) {
  rw_state* s = st(l);
  bucket_lock g(l);
  int me = owner_id();
  if (s->writer && s->cur_writer == me) return EDEADLK;
  for (;;) {
    if (!s->writer && s->readers == 0) {
      s->writer = 1;
      s->cur_writer = me;
      return 0;
    }
    if (try_only) return EBUSY;
    ++s->writers_waiting;
    detail::wake r = g.park(l, deadline, detail::wait_reason::mutex);
    --s->writers_waiting;
    if (r != detail::wake::notified) {
      unpark_locked(g.b, l, SIZE_MAX);  // readers held back for us may go now
      return ETIMEDOUT;
    }
  }
}

int unlock(pthread_rwlock_t* l) noexcept {
  rw_state* s = st(l);
  bucket_lock g(l);
  if (s->writer) {
    if (s->cur_writer != owner_id()) return EPERM;
    s->writer = 0;
    s->cur_writer = 0;
  } else if (s->readers) {
    --s->readers;
  } else {
    return EPERM;
  }
  if (!s->writer && s->readers == 0) unpark_locked(g.b, l, SIZE_MAX);
  return 0;
}

// timed() converts (clock, abstime) and runs op; EINVAL for bad input.
template <class Op>
int timed(pthread_rwlock_t* l, clockid_t clock, const timespec* abstime, Op op) {
  if (clock != CLOCK_REALTIME && clock != CLOCK_MONOTONIC) return EINVAL;
  if (op(l, detail::no_deadline, true) == 0) return 0;
  ns_t dl = deadline_from(clock, abstime);
  if (dl < 0) return EINVAL;
  return op(l, dl, false);
}

}  // namespace
}  // namespace weft::hooks::threads

using namespace weft::hooks::threads;
namespace wd = weft::detail;

WEFT_HOOK int pthread_rwlock_init(pthread_rwlock_t* l, const pthread_rwlockattr_t* a) {
  int shared = 0, kind = PTHREAD_RWLOCK_PREFER_READER_NP;
  if (a) {
    pthread_rwlockattr_getpshared(a, &shared);
    pthread_rwlockattr_getkind_np(a, &kind);
  }
  if (!fibers_mode() || shared) return WEFT_REAL(pthread_rwlock_init)(l, a);
  std::memset(l, 0, sizeof *l);
  st(l)->flags = static_cast<unsigned>(kind);
  return 0;
}
WEFT_HOOK int pthread_rwlock_destroy(pthread_rwlock_t* l) {
  if (!fibers_mode() || real_rw(l)) return WEFT_REAL(pthread_rwlock_destroy)(l);
  return 0;
}
WEFT_HOOK int pthread_rwlock_rdlock(pthread_rwlock_t* l) {
  if (!fibers_mode() || real_rw(l)) return WEFT_REAL(pthread_rwlock_rdlock)(l);
  return rdlock(l, wd::no_deadline, false);
}
WEFT_HOOK int pthread_rwlock_tryrdlock(pthread_rwlock_t* l) {
  if (!fibers_mode() || real_rw(l)) return WEFT_REAL(pthread_rwlock_tryrdlock)(l);
  return rdlock(l, wd::no_deadline, true);
}
WEFT_HOOK int pthread_rwlock_clockrdlock(pthread_rwlock_t* l, clockid_t c, const timespec* t) {
  if (!fibers_mode() || real_rw(l)) return WEFT_REAL(pthread_rwlock_clockrdlock)(l, c, t);
  return timed(l, c, t, rdlock);
}
WEFT_HOOK int pthread_rwlock_timedrdlock(pthread_rwlock_t* l, const timespec* t) {
  if (!fibers_mode() || real_rw(l)) return WEFT_REAL(pthread_rwlock_timedrdlock)(l, t);
  return timed(l, CLOCK_REALTIME, t, rdlock);
}
WEFT_HOOK int pthread_rwlock_wrlock(pthread_rwlock_t* l) {
  if (!fibers_mode() || real_rw(l)) return WEFT_REAL(pthread_rwlock_wrlock)(l);
  return wrlock(l, wd::no_deadline, false);
}
WEFT_HOOK int pthread_rwlock_trywrlock(pthread_rwlock_t* l) {
  if (!fibers_mode() || real_rw(l)) return WEFT_REAL(pthread_rwlock_trywrlock)(l);
  return wrlock(l, wd::no_deadline, true);
}
WEFT_HOOK int pthread_rwlock_clockwrlock(pthread_rwlock_t* l, clockid_t c, const timespec* t) {
  if (!fibers_mode() || real_rw(l)) return WEFT_REAL(pthread_rwlock_clockwrlock)(l, c, t);
  return timed(l, c, t, wrlock);
}
WEFT_HOOK int pthread_rwlock_timedwrlock(pthread_rwlock_t* l, const timespec* t) {
  if (!fibers_mode() || real_rw(l)) return WEFT_REAL(pthread_rwlock_timedwrlock)(l, t);
  return timed(l, CLOCK_REALTIME, t, wrlock);
}
WEFT_HOOK int pthread_rwlock_unlock(pthread_rwlock_t* l) {
  if (!fibers_mode() || real_rw(l)) return WEFT_REAL(pthread_rwlock_unlock)(l);
  return unlock(l);
}
