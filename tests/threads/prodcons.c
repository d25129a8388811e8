/* tests/threads/prodcons.c — producer/consumer with a mutex and two
 * condition variables: 500 producers and 500 consumers (1,000 threads)
 * pass 20 items each through a bounded queue of 8. Prints the totals and
 * the number of threads that ran at once (all of them, since each waits on
 * a start barrier made of a mutex and a condvar). Plain C, no weft. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

#define PAIRS 500
#define ITEMS 20
#define CAP 8

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t not_full = PTHREAD_COND_INITIALIZER, not_empty = PTHREAD_COND_INITIALIZER;
static pthread_cond_t go = PTHREAD_COND_INITIALIZER;
static long queue[CAP];
static int head, count, started, released;
static long consumed_sum, consumed_n;

static void start_gate(void) {
  pthread_mutex_lock(&mu);
  if (++started == 2 * PAIRS) {
    released = 1;
    pthread_cond_broadcast(&go);
  }
  while (!released) pthread_cond_wait(&go, &mu);
  pthread_mutex_unlock(&mu);
}

static void* producer(void* arg) {
  long id = (long)arg;
  start_gate();
  for (long i = 0; i < ITEMS; ++i) {
    pthread_mutex_lock(&mu);
    while (count == CAP) pthread_cond_wait(&not_full, &mu);
    queue[(head + count++) % CAP] = id * 1000 + i;
    pthread_cond_signal(&not_empty);
    pthread_mutex_unlock(&mu);
  }
  return NULL;
}

static void* consumer(void* arg) {
  long got = 0;
  (void)arg;
  start_gate();
  for (int i = 0; i < ITEMS; ++i) {
    pthread_mutex_lock(&mu);
    while (count == 0) pthread_cond_wait(&not_empty, &mu);
    long v = queue[head];
    head = (head + 1) % CAP;
    --count;
    consumed_sum += v;
    ++consumed_n;
    pthread_cond_signal(&not_full);
    pthread_mutex_unlock(&mu);
    ++got;
  }
  return (void*)got;
}

int main(void) {
  pthread_t t[2 * PAIRS];
  pthread_attr_t a;
  pthread_attr_init(&a);
  pthread_attr_setstacksize(&a, 64 * 1024);
  for (long i = 0; i < PAIRS; ++i) {
    if (pthread_create(&t[2 * i], &a, producer, (void*)i) || pthread_create(&t[2 * i + 1], &a, consumer, NULL)) {
      fprintf(stderr, "pthread_create failed\n");
      return 1;
    }
  }
  long per_consumer = 0;
  for (int i = 0; i < 2 * PAIRS; ++i) {
    void* r;
    pthread_join(t[i], &r);
    if (i % 2) per_consumer += (long)r;
  }
  long expect = 0;
  for (long id = 0; id < PAIRS; ++id)
    for (long i = 0; i < ITEMS; ++i) expect += id * 1000 + i;
  printf("threads=%d started_together=%d items=%ld per_consumer=%ld sum_ok=%d\n", 2 * PAIRS, started,
         consumed_n, per_consumer, consumed_sum == expect);
  return 0;
}
