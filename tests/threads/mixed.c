/* tests/threads/mixed.c — plain OS threads and fiber threads share one
 * mutex, two condition variables, a semaphore and a rwlock. A constructor
 * starts two threads before main (they stay OS threads under weft-run);
 * 10 threads made in main (fibers under weft-run) send 100 requests each
 * through a one-slot mailbox that the OS threads serve, and wait for each
 * answer. Fibers then wake parked OS threads and the other way round.
 * Plain C, no weft. */
#include <pthread.h>
#include <semaphore.h>
#include <stdio.h>
#include <stdlib.h>

#define CLIENTS 10
#define REQUESTS 100

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t has_request = PTHREAD_COND_INITIALIZER, has_answer = PTHREAD_COND_INITIALIZER;
static pthread_rwlock_t stats_lock = PTHREAD_RWLOCK_INITIALIZER;
static sem_t served;
static int slot_full, answer_ready, stop;
static long request, answer, served_by[2];
static pthread_t servers[2];

static void* server(void* arg) {
  long id = (long)arg;
  pthread_mutex_lock(&mu);
  for (;;) {
    while (!slot_full && !stop) pthread_cond_wait(&has_request, &mu);
    if (stop) break;
    answer = request * 2;
    slot_full = 0;
    answer_ready = 1;
    pthread_cond_broadcast(&has_answer);
    pthread_rwlock_wrlock(&stats_lock);
    ++served_by[id];
    pthread_rwlock_unlock(&stats_lock);
    sem_post(&served);
  }
  pthread_mutex_unlock(&mu);
  return NULL;
}

__attribute__((constructor)) static void start_servers(void) {
  sem_init(&served, 0, 0);
  for (long i = 0; i < 2; ++i) pthread_create(&servers[i], NULL, server, (void*)i);
}

static void* client(void* arg) {
  long id = (long)arg, sum = 0;
  for (long i = 0; i < REQUESTS; ++i) {
    pthread_mutex_lock(&mu);
    while (slot_full || answer_ready) pthread_cond_wait(&has_answer, &mu);
    request = id * 1000 + i;
    slot_full = 1;
    pthread_cond_signal(&has_request);
    while (!answer_ready) pthread_cond_wait(&has_answer, &mu);
    sum += answer;
    answer_ready = 0;
    pthread_cond_broadcast(&has_answer);
    pthread_mutex_unlock(&mu);
  }
  return (void*)sum;
}

int main(void) {
  pthread_t c[CLIENTS];
  for (long i = 0; i < CLIENTS; ++i) pthread_create(&c[i], NULL, client, (void*)i);
  long total = 0, expect = 0;
  for (int i = 0; i < CLIENTS; ++i) {
    void* r;
    pthread_join(c[i], &r);
    total += (long)r;
  }
  for (long id = 0; id < CLIENTS; ++id)
    for (long i = 0; i < REQUESTS; ++i) expect += 2 * (id * 1000 + i);
  int n = 0;
  while (sem_trywait(&served) == 0) ++n;
  pthread_mutex_lock(&mu);
  stop = 1;
  pthread_cond_broadcast(&has_request);
  pthread_mutex_unlock(&mu);
  for (int i = 0; i < 2; ++i) pthread_join(servers[i], NULL);
  pthread_rwlock_rdlock(&stats_lock);
  printf("mixed: answers_ok=%d served=%d by_both_servers=%ld\n", total == expect, n,
         served_by[0] + served_by[1]);
  pthread_rwlock_unlock(&stats_lock);
  return 0;
}
