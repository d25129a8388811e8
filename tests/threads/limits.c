/* tests/threads/limits.c — the documented limits of pthreads-as-fibers
 * (docs/porting.md), each measured so that the test can show where
 * weft-run --threads=fibers differs from OS threads. Prints one line per
 * limit, "name=value"; the test expects different values in the two modes.
 * Plain C, no weft include. */
#define _GNU_SOURCE
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

static long now_ms(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

/* Steps of a two-thread handshake (polled with usleep, which parks a fiber). */
static volatile int step;
static void wait_step(int s) { while (step < s) usleep(1000); }

/* 1. __thread variables belong to the carrier thread, not the fiber. */
static __thread int tls_v;
static int tls_seen;
static void* tls_a(void* p) { (void)p; tls_v = 1; step = 1; wait_step(2); tls_seen = tls_v; return NULL; }
static void* tls_b(void* p) { (void)p; wait_step(1); tls_v = 2; step = 2; return NULL; }

/* 2. stdio FILE locks are owned by the carrier thread: a second fiber on
 * the same carrier takes a lock the first one holds. */
static int stdio_other_got_lock;
static void* stdio_a(void* p) { (void)p; flockfile(stdout); step = 1; wait_step(2); funlockfile(stdout); return NULL; }
static void* stdio_b(void* p) {
  (void)p;
  wait_step(1);
  if (ftrylockfile(stdout) == 0) {
    stdio_other_got_lock = 1;
    funlockfile(stdout);
  }
  step = 2;
  return NULL;
}

/* 3. A CPU-bound thread starves the other fibers of its carrier. */
static long sleep_took;
static void* cpu_a(void* p) { (void)p; long end = now_ms() + 300; while (now_ms() < end) {} return NULL; }
static void* sleeper(void* p) {
  (void)p;
  long t0 = now_ms();
  usleep(10000);
  sleep_took = now_ms() - t0;
  return NULL;
}

/* 4. A raw syscall() bypasses the hooks and blocks the carrier: 200 ms of
 * raw ppoll on a pipe nobody writes to (retried if a signal interrupts it). */
static void* raw_a(void* p) {
  (void)p;
  int fds[2];
  pipe(fds);
  struct pollfd pf = {fds[0], POLLIN, 0};
  long end = now_ms() + 200;
  for (long left; (left = end - now_ms()) > 0;) {
    struct timespec ts = {0, left * 1000000};
    syscall(SYS_ppoll, &pf, 1, &ts, NULL, 8);
  }
  close(fds[0]);
  close(fds[1]);
  return NULL;
}

/* 5. pthread_cancel is not supported on fiber threads. */
static void* cancel_target(void* p) { (void)p; for (;;) usleep(1000); return NULL; }

static void pair(void* (*a)(void*), void* (*b)(void*)) {
  pthread_t ta, tb;
  step = 0;
  pthread_create(&ta, NULL, a, NULL);
  pthread_create(&tb, NULL, b, NULL);
  pthread_join(ta, NULL);
  pthread_join(tb, NULL);
}

int main(void) {
  pair(tls_a, tls_b);
  printf("tls_shared=%d\n", tls_seen != 1);
  pair(stdio_a, stdio_b);
  printf("stdio_lock_excludes=%d\n", !stdio_other_got_lock);
  pair(sleeper, cpu_a);
  printf("cpu_bound_starves=%d\n", sleep_took >= 200);
  pair(sleeper, raw_a);
  printf("raw_syscall_blocks=%d\n", sleep_took >= 100);
  pthread_t t;
  pthread_create(&t, NULL, cancel_target, NULL);
  usleep(5000);
  int r = pthread_cancel(t);
  printf("cancel=%s\n", r == 0 ? "ok" : strerror(r));
  if (r == 0) pthread_join(t, NULL);
  return 0;
}
