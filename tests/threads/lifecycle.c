/* tests/threads/lifecycle.c — thread lifecycle and mutex kinds, plain C:
 * pthread_key destructors (with a destructor that sets its key again, so a
 * second round runs), detached threads, pthread_once from many threads,
 * pthread_exit with a value, pthread_self/pthread_equal, a thread that
 * joins another while that one is blocked in read(), mutex kinds and their
 * error codes (EDEADLK, EPERM, EBUSY, ETIMEDOUT), static initializers,
 * CLOCK_MONOTONIC condvar timeouts and a contended spin lock. Every line
 * printed is deterministic; the test compares it with and without weft-run. */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define CHECK(c) do { if (!(c)) { printf("FAILED: %s (line %d)\n", #c, __LINE__); exit(1); } } while (0)

static pthread_key_t key_a, key_b;
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static int dtor_a_calls, dtor_b_calls, dtor_b_rounds;

static void dtor_a(void* v) {
  pthread_mutex_lock(&mu);
  dtor_a_calls += (int)(long)v > 0;
  pthread_mutex_unlock(&mu);
}

static void dtor_b(void* v) {
  pthread_mutex_lock(&mu);
  ++dtor_b_calls;
  if ((long)v == 1) ++dtor_b_rounds;
  pthread_mutex_unlock(&mu);
  if ((long)v == 1) pthread_setspecific(key_b, (void*)2); /* a second round must run */
}

static void* key_thread(void* arg) {
  long id = (long)arg;
  CHECK(pthread_getspecific(key_a) == NULL);
  pthread_setspecific(key_a, (void*)(id + 1));
  pthread_setspecific(key_b, (void*)1);
  usleep(1000);
  CHECK(pthread_getspecific(key_a) == (void*)(id + 1)); /* not overwritten by the others */
  return NULL;
}

static void test_keys(void) {
  pthread_t t[20];
  CHECK(pthread_key_create(&key_a, dtor_a) == 0);
  CHECK(pthread_key_create(&key_b, dtor_b) == 0);
  for (long i = 0; i < 20; ++i) CHECK(pthread_create(&t[i], NULL, key_thread, (void*)i) == 0);
  for (int i = 0; i < 20; ++i) CHECK(pthread_join(t[i], NULL) == 0);
  printf("keys: dtor_a=%d dtor_b=%d first_rounds=%d main_value=%p\n", dtor_a_calls, dtor_b_calls, dtor_b_rounds,
         pthread_getspecific(key_a));
}

static pthread_cond_t done_cv = PTHREAD_COND_INITIALIZER;
static int detached_done;

static void* detached_thread(void* arg) {
  (void)arg;
  usleep(2000);
  pthread_mutex_lock(&mu);
  ++detached_done;
  pthread_cond_signal(&done_cv);
  pthread_mutex_unlock(&mu);
  return NULL;
}

static void* self_detaching(void* arg) {
  CHECK(pthread_detach(pthread_self()) == 0);
  return detached_thread(arg);
}

static void test_detached(void) {
  pthread_attr_t a;
  pthread_attr_init(&a);
  pthread_attr_setdetachstate(&a, PTHREAD_CREATE_DETACHED);
  for (int i = 0; i < 100; ++i) {
    pthread_t t;
    CHECK(pthread_create(&t, i % 2 ? &a : NULL, i % 2 ? detached_thread : self_detaching, NULL) == 0);
  }
  pthread_mutex_lock(&mu);
  while (detached_done < 100) pthread_cond_wait(&done_cv, &mu);
  pthread_mutex_unlock(&mu);
  printf("detached: %d finished\n", detached_done);
}

static pthread_once_t once = PTHREAD_ONCE_INIT;
static int once_calls;
static void once_init(void) {
  usleep(5000); /* the others must wait, not run it again */
  ++once_calls;
}
static void* once_thread(void* arg) {
  (void)arg;
  pthread_once(&once, once_init);
  CHECK(once_calls == 1);
  return NULL;
}

static void test_once(void) {
  pthread_t t[50];
  for (int i = 0; i < 50; ++i) CHECK(pthread_create(&t[i], NULL, once_thread, NULL) == 0);
  for (int i = 0; i < 50; ++i) CHECK(pthread_join(t[i], NULL) == 0);
  printf("once: init ran %d time(s)\n", once_calls);
}

static pthread_t seen_self;
static int nested_exit(int depth) {
  if (depth == 0) pthread_exit((void*)42);
  if (depth < 0) return 0;
  return nested_exit(depth - 1) + 1; /* frames that pthread_exit unwinds */
}
static void* exit_thread(void* arg) {
  (void)arg;
  seen_self = pthread_self();
  nested_exit(5);
  printf("FAILED: returned from pthread_exit\n");
  return NULL;
}

static void test_exit_self(void) {
  pthread_t t;
  void* r = NULL;
  CHECK(pthread_create(&t, NULL, exit_thread, NULL) == 0);
  CHECK(pthread_join(t, &r) == 0);
  printf("exit: value=%ld self_equal=%d main_differs=%d\n", (long)r, pthread_equal(t, seen_self) != 0,
         pthread_equal(t, pthread_self()) == 0);
}

static int pipefd[2];
static pthread_t reader;
static void* reader_thread(void* arg) {
  (void)arg;
  char buf[16] = {0};
  ssize_t n = read(pipefd[0], buf, sizeof buf - 1);
  return n > 0 ? strdup(buf) : NULL;
}
static void* joiner_thread(void* arg) {
  (void)arg;
  void* r = NULL;
  CHECK(pthread_join(reader, &r) == 0);
  return r;
}

static void test_join_blocked_reader(void) {
  pthread_t j;
  CHECK(pipe(pipefd) == 0);
  CHECK(pthread_create(&reader, NULL, reader_thread, NULL) == 0);
  CHECK(pthread_create(&j, NULL, joiner_thread, NULL) == 0);
  usleep(50000); /* both are blocked now: one in read, one in join */
  CHECK(write(pipefd[1], "hello", 5) == 5);
  void* r = NULL;
  CHECK(pthread_join(j, &r) == 0);
  printf("join-reader: joiner got '%s'\n", (char*)r);
  free(r);
  close(pipefd[0]);
  close(pipefd[1]);
}

static pthread_mutex_t rec_static = PTHREAD_RECURSIVE_MUTEX_INITIALIZER_NP;
static pthread_mutex_t err_static = PTHREAD_ERRORCHECK_MUTEX_INITIALIZER_NP;
static pthread_mutex_t plain = PTHREAD_MUTEX_INITIALIZER;

static void* other_thread_checks(void* arg) {
  (void)arg;
  int r1 = pthread_mutex_trylock(&plain);
  int r2 = pthread_mutex_unlock(&err_static);
  int r3 = pthread_mutex_trylock(&rec_static);
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  ts.tv_nsec += 30 * 1000000;
  if (ts.tv_nsec >= 1000000000) { ts.tv_sec++; ts.tv_nsec -= 1000000000; }
  int r4 = pthread_mutex_timedlock(&plain, &ts);
  printf("mutex other: trylock=%s unlock_not_owner=%s trylock_recursive=%s timedlock=%s\n",
         r1 == EBUSY ? "EBUSY" : "?", r2 == EPERM ? "EPERM" : "?", r3 == EBUSY ? "EBUSY" : "?",
         r4 == ETIMEDOUT ? "ETIMEDOUT" : "?");
  return NULL;
}

static void test_mutex_kinds(void) {
  CHECK(pthread_mutex_lock(&err_static) == 0);
  printf("mutex errorcheck: relock=%s\n", pthread_mutex_lock(&err_static) == EDEADLK ? "EDEADLK" : "?");
  CHECK(pthread_mutex_lock(&rec_static) == 0);
  CHECK(pthread_mutex_lock(&rec_static) == 0);
  CHECK(pthread_mutex_trylock(&rec_static) == 0);
  CHECK(pthread_mutex_lock(&plain) == 0);
  pthread_t t;
  CHECK(pthread_create(&t, NULL, other_thread_checks, NULL) == 0);
  CHECK(pthread_join(t, NULL) == 0);
  for (int i = 0; i < 3; ++i) CHECK(pthread_mutex_unlock(&rec_static) == 0);
  printf("mutex recursive: extra unlock=%s\n", pthread_mutex_unlock(&rec_static) == EPERM ? "EPERM" : "?");
  CHECK(pthread_mutex_unlock(&err_static) == 0);
  printf("mutex errorcheck: unlock unlocked=%s\n", pthread_mutex_unlock(&err_static) == EPERM ? "EPERM" : "?");
  CHECK(pthread_mutex_unlock(&plain) == 0);
  CHECK(pthread_mutex_destroy(&plain) == 0);
}

static void test_cond_monotonic(void) {
  pthread_condattr_t ca;
  pthread_cond_t cv;
  pthread_condattr_init(&ca);
  CHECK(pthread_condattr_setclock(&ca, CLOCK_MONOTONIC) == 0);
  CHECK(pthread_cond_init(&cv, &ca) == 0);
  struct timespec t0, t1, dl;
  clock_gettime(CLOCK_MONOTONIC, &t0);
  dl = t0;
  dl.tv_nsec += 40 * 1000000;
  if (dl.tv_nsec >= 1000000000) { dl.tv_sec++; dl.tv_nsec -= 1000000000; }
  pthread_mutex_lock(&mu);
  int r = pthread_cond_timedwait(&cv, &mu, &dl);
  pthread_mutex_unlock(&mu);
  clock_gettime(CLOCK_MONOTONIC, &t1);
  long ms = (t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000;
  printf("cond monotonic: %s after >= 40 ms: %d\n", r == ETIMEDOUT ? "ETIMEDOUT" : "?", ms >= 39);
  pthread_cond_destroy(&cv);
}

static pthread_spinlock_t spin;
static long spin_count;
static void* spin_thread(void* arg) {
  (void)arg;
  for (int i = 0; i < 20000; ++i) {
    pthread_spin_lock(&spin);
    long v = spin_count;
    if (i % 5000 == 0) sched_yield();
    spin_count = v + 1;
    pthread_spin_unlock(&spin);
  }
  return NULL;
}

static void test_spin(void) {
  pthread_t t[4];
  CHECK(pthread_spin_init(&spin, PTHREAD_PROCESS_PRIVATE) == 0);
  for (int i = 0; i < 4; ++i) CHECK(pthread_create(&t[i], NULL, spin_thread, NULL) == 0);
  for (int i = 0; i < 4; ++i) CHECK(pthread_join(t[i], NULL) == 0);
  printf("spin: count=%ld\n", spin_count);
}

/* A spin-wait with sched_yield for a flag another thread sets: on one
 * carrier it ends only if sched_yield lets the other fiber run. */
static volatile int spin_flag;
static void* flag_waiter(void* arg) {
  (void)arg;
  long spins = 0;
  while (!spin_flag) {
    sched_yield();
    ++spins;
  }
  return (void*)(spins >= 0);
}
static void* flag_setter(void* arg) {
  (void)arg;
  usleep(2000);
  spin_flag = 1;
  return NULL;
}

static void test_yield_spin(void) {
  pthread_t a, b;
  void* r = NULL;
  CHECK(pthread_create(&a, NULL, flag_waiter, NULL) == 0);
  CHECK(pthread_create(&b, NULL, flag_setter, NULL) == 0);
  CHECK(pthread_join(a, &r) == 0);
  CHECK(pthread_join(b, NULL) == 0);
  printf("yield-spin: ended=%ld\n", (long)r);
}

/* Calls that take a pthread_t and read the thread block: on a fiber's
 * pthread_t they must answer, not crash. */
static volatile int identity_stop;
static void* identity_thread(void* arg) {
  (void)arg;
  pthread_t me = pthread_self();
  char name[16] = "";
  pthread_setname_np(me, "worker-x");
  pthread_getname_np(me, name, sizeof name);
  pthread_attr_t a;
  size_t size = 0;
  void* addr = NULL;
  int attr_ok = pthread_getattr_np(me, &a) == 0 && pthread_attr_getstack(&a, &addr, &size) == 0 && size >= 16384;
  pthread_attr_destroy(&a);
  clockid_t c;
  struct timespec ts;
  int clock_ok = pthread_getcpuclockid(me, &c) == 0 && clock_gettime(c, &ts) == 0;
  cpu_set_t set;
  CPU_ZERO(&set);
  int aff_ok = pthread_getaffinity_np(me, sizeof set, &set) == 0 && CPU_COUNT(&set) > 0;
  int policy = -1;
  struct sched_param sp;
  int sched_ok = pthread_getschedparam(me, &policy, &sp) == 0 && policy == SCHED_OTHER;
  printf("identity: name=%s attr_stack=%d cpu_clock=%d affinity=%d sched_other=%d\n", name, attr_ok, clock_ok,
         aff_ok, sched_ok);
  while (!identity_stop) usleep(1000);
  return NULL;
}

static void test_identity(void) {
  pthread_t t;
  CHECK(pthread_create(&t, NULL, identity_thread, NULL) == 0);
  usleep(20000);
  printf("identity: kill(t, 0)=%d\n", pthread_kill(t, 0));
  identity_stop = 1;
  CHECK(pthread_join(t, NULL) == 0);
}

int main(void) {
  setvbuf(stdout, NULL, _IOLBF, 0);
  test_keys();
  test_detached();
  test_once();
  test_exit_self();
  test_join_blocked_reader();
  test_mutex_kinds();
  test_cond_monotonic();
  test_spin();
  test_identity();
  test_yield_spin();
  printf("done\n");
  return 0;
}
