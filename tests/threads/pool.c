/* tests/threads/pool.c — a worker pool, plain C: 16 workers run 5 phases
 * separated by a barrier (exactly one worker per phase gets
 * PTHREAD_BARRIER_SERIAL_THREAD). In each phase the main thread posts 200
 * jobs through a counting semaphore; workers take them with sem_wait, and
 * jobs read a shared table under a read lock or update it under a write
 * lock. Also checks sem_trywait (EAGAIN), sem_timedwait (ETIMEDOUT),
 * sem_getvalue, rwlock try-locks (EBUSY) and a timed write lock
 * (ETIMEDOUT). Prints deterministic totals. */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <semaphore.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#define CHECK(c) do { if (!(c)) { printf("FAILED: %s (line %d)\n", #c, __LINE__); exit(1); } } while (0)
#define WORKERS 16
#define PHASES 5
#define JOBS 200

static pthread_barrier_t barrier;
static pthread_rwlock_t table_lock = PTHREAD_RWLOCK_INITIALIZER;
static sem_t jobs, done;
static pthread_mutex_t q_mu = PTHREAD_MUTEX_INITIALIZER;
static int queue[JOBS], q_head, q_tail;
static long table[64];
static long reads_ok, serial_count;

static void* worker(void* arg) {
  (void)arg;
  for (int p = 0; p < PHASES; ++p) {
    int r = pthread_barrier_wait(&barrier); /* phase start: main posts after this */
    CHECK(r == 0 || r == PTHREAD_BARRIER_SERIAL_THREAD);
    for (;;) {
      CHECK(sem_wait(&jobs) == 0);
      pthread_mutex_lock(&q_mu);
      int job = queue[q_head++ % JOBS];
      pthread_mutex_unlock(&q_mu);
      if (job < 0) break; /* end of phase */
      if (job % 4 == 0) {
        pthread_rwlock_wrlock(&table_lock);
        for (int i = 0; i < 64; ++i) table[i] += 1;
        pthread_rwlock_unlock(&table_lock);
      } else {
        pthread_rwlock_rdlock(&table_lock);
        long first = table[0];
        if (job % 7 == 0) usleep(100); /* readers overlap */
        int same = 1;
        for (int i = 1; i < 64; ++i) same &= table[i] == first;
        pthread_rwlock_unlock(&table_lock);
        __atomic_add_fetch(&reads_ok, same, __ATOMIC_RELAXED);
      }
      sem_post(&done);
    }
    r = pthread_barrier_wait(&barrier); /* phase end */
    if (r == PTHREAD_BARRIER_SERIAL_THREAD) __atomic_add_fetch(&serial_count, 1, __ATOMIC_RELAXED);
  }
  return NULL;
}

static void* try_locks(void* arg) {
  (void)arg;
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  ts.tv_nsec += 20 * 1000000;
  if (ts.tv_nsec >= 1000000000) { ts.tv_sec++; ts.tv_nsec -= 1000000000; }
  int a = pthread_rwlock_trywrlock(&table_lock);
  int b = pthread_rwlock_timedwrlock(&table_lock, &ts);
  int c = pthread_rwlock_tryrdlock(&table_lock);
  if (c == 0) pthread_rwlock_unlock(&table_lock);
  printf("rwlock: trywrlock=%s timedwrlock=%s tryrdlock_shared=%d\n", a == EBUSY ? "EBUSY" : "?",
         b == ETIMEDOUT ? "ETIMEDOUT" : "?", c == 0);
  return NULL;
}

int main(void) {
  setvbuf(stdout, NULL, _IOLBF, 0);
  pthread_t t[WORKERS];
  CHECK(pthread_barrier_init(&barrier, NULL, WORKERS + 1) == 0);
  CHECK(sem_init(&jobs, 0, 0) == 0);
  CHECK(sem_init(&done, 0, 0) == 0);

  errno = 0;
  int tw = sem_trywait(&jobs);
  printf("sem: trywait=%d errno=%s\n", tw, errno == EAGAIN ? "EAGAIN" : "?");
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  ts.tv_nsec += 20 * 1000000;
  if (ts.tv_nsec >= 1000000000) { ts.tv_sec++; ts.tv_nsec -= 1000000000; }
  errno = 0;
  int tm = sem_timedwait(&jobs, &ts);
  printf("sem: timedwait=%d errno=%s\n", tm, errno == ETIMEDOUT ? "ETIMEDOUT" : "?");

  pthread_rwlock_rdlock(&table_lock);
  pthread_t tl;
  CHECK(pthread_create(&tl, NULL, try_locks, NULL) == 0);
  CHECK(pthread_join(tl, NULL) == 0);
  pthread_rwlock_unlock(&table_lock);

  for (int i = 0; i < WORKERS; ++i) CHECK(pthread_create(&t[i], NULL, worker, NULL) == 0);
  for (int p = 0; p < PHASES; ++p) {
    pthread_barrier_wait(&barrier);
    for (int j = 0; j < JOBS - WORKERS; ++j) {
      pthread_mutex_lock(&q_mu);
      queue[q_tail++ % JOBS] = j;
      pthread_mutex_unlock(&q_mu);
      sem_post(&jobs);
    }
    for (int j = 0; j < JOBS - WORKERS; ++j) CHECK(sem_wait(&done) == 0);
    int v = -1;
    sem_getvalue(&done, &v);
    CHECK(v == 0);
    for (int i = 0; i < WORKERS; ++i) {
      pthread_mutex_lock(&q_mu);
      queue[q_tail++ % JOBS] = -1;
      pthread_mutex_unlock(&q_mu);
      sem_post(&jobs);
    }
    int r = pthread_barrier_wait(&barrier);
    if (r == PTHREAD_BARRIER_SERIAL_THREAD) __atomic_add_fetch(&serial_count, 1, __ATOMIC_RELAXED);
  }
  for (int i = 0; i < WORKERS; ++i) CHECK(pthread_join(t[i], NULL) == 0);
  long reads = 0;
  for (int p = 0; p < PHASES; ++p)
    for (int j = 0; j < JOBS - WORKERS; ++j) reads += j % 4 != 0;
  printf("pool: phases=%d serial_per_phase=%ld table=%ld consistent_reads=%d\n", PHASES, serial_count / PHASES,
         table[63], reads_ok == reads);
  pthread_barrier_destroy(&barrier);
  sem_destroy(&jobs);
  sem_destroy(&done);
  return 0;
}
