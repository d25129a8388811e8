/* tests/threads/preempt.c — a thread in a busy loop that calls sigaction()
 * (as CPython's signal.signal() does) or raise() does not keep another
 * thread from running: under weft-run such calls are safe points where a
 * fiber that held its carrier for 10 ms yields. Main spins until a second
 * thread, which first sleeps 20 ms, sets a flag. Prints "done <kind>". */
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static atomic_int flag;

static void* setter(void* arg) {
  (void)arg;
  usleep(20000);
  atomic_store(&flag, 1);
  return NULL;
}

static void on_usr1(int sig) { (void)sig; }

int main(void) {
  const char* kinds[] = {"sigaction", "raise"};
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_usr1;
  sigaction(SIGUSR1, &sa, NULL);
  for (int k = 0; k < 2; ++k) {
    atomic_store(&flag, 0);
    pthread_t t;
    pthread_create(&t, NULL, setter, NULL);
    while (!atomic_load(&flag)) {
      if (k == 0) sigaction(SIGUSR1, &sa, NULL);
      else raise(SIGUSR1);
    }
    pthread_join(t, NULL);
    printf("done %s\n", kinds[k]);
  }
  return 0;
}
