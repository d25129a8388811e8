/* tests/threads/spread.c — a thread that computes without any call that
 * could switch does not keep the threads created after it from running,
 * given a second carrier (weft-run --workers 2 or more): those threads have
 * not started, so an idle carrier steals them. The spinner waits for a flag
 * the last of 8 workers sets; each worker sleeps 1 ms first. Prints the
 * count of workers that ran. With one carrier this would never end. */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <unistd.h>

enum { workers = 8 };
static atomic_int done_count;
static atomic_int flag;

static void* spinner(void* arg) {
  (void)arg;
  while (!atomic_load_explicit(&flag, memory_order_relaxed)) {
  }
  return NULL;
}

static void* worker(void* arg) {
  (void)arg;
  usleep(1000);
  if (atomic_fetch_add(&done_count, 1) + 1 == workers) atomic_store(&flag, 1);
  return NULL;
}

int main(void) {
  pthread_t s, w[workers];
  pthread_create(&s, NULL, spinner, NULL);
  for (int i = 0; i < workers; ++i) pthread_create(&w[i], NULL, worker, NULL);
  pthread_join(s, NULL);
  for (int i = 0; i < workers; ++i) pthread_join(w[i], NULL);
  printf("workers ran: %d\n", atomic_load(&done_count));
  return 0;
}
