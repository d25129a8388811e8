/* tests/threads/exit_main.c — pthread_exit in main: the process lives on
 * until its last thread ends, then exits with status 0. Four threads in a
 * join chain print in order after main has gone. Plain C, no weft. */
#include <pthread.h>
#include <stdio.h>
#include <unistd.h>

static pthread_t chain[4];

static void* link_main(void* arg) {
  long i = (long)arg;
  if (i > 0) pthread_join(chain[i - 1], NULL);
  usleep(10000);
  printf("thread %ld done after main exited\n", i);
  fflush(stdout);
  return NULL;
}

int main(void) {
  for (long i = 0; i < 4; ++i) pthread_create(&chain[i], NULL, link_main, (void*)i);
  printf("main exits\n");
  fflush(stdout);
  pthread_exit(NULL);
}
