/* tests/threads/waits.c — waitpid, wait, sigwait and sigtimedwait while a
 * ticker thread runs: on one carrier the ticker only advances if the wait
 * parks the fiber instead of blocking the carrier. Plain C, no weft. */
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
static long now_ms(void) { struct timespec t; clock_gettime(CLOCK_MONOTONIC, &t); return t.tv_sec * 1000 + t.tv_nsec / 1000000; }
static volatile long ticks;
static void* ticker(void* p) { (void)p; for (int i = 0; i < 20; ++i) { usleep(5000); ++ticks; } return NULL; }
int main(void) {
  pthread_t t; pthread_create(&t, NULL, ticker, NULL);
  pid_t c = fork();
  if (c == 0) { usleep(200000); _exit(7); }
  int st; pid_t r = waitpid(c, &st, 0);
  printf("waitpid: child=%d status=%d ticked_meanwhile=%d\n", r == c, WEXITSTATUS(st), ticks >= 5);
  pthread_join(t, NULL);
  ticks = 0; pthread_create(&t, NULL, ticker, NULL);
  c = fork();
  if (c == 0) { usleep(200000); _exit(3); }
  r = wait(&st);
  printf("wait: child=%d status=%d ticked_meanwhile=%d\n", r == c, WEXITSTATUS(st), ticks >= 5);
  pthread_join(t, NULL);
  sigset_t set; sigemptyset(&set); sigaddset(&set, SIGUSR1); pthread_sigmask(SIG_BLOCK, &set, NULL);
  ticks = 0; pthread_create(&t, NULL, ticker, NULL);
  c = fork();
  if (c == 0) { usleep(200000); kill(getppid(), SIGUSR1); _exit(0); }
  int sig = 0; int e = sigwait(&set, &sig);
  printf("sigwait: rc=%d sig=%s ticked_meanwhile=%d\n", e, sig == SIGUSR1 ? "SIGUSR1" : "?", ticks >= 5);
  waitpid(c, &st, 0);
  struct timespec to = {0, 30000000}; long t0 = now_ms();
  int r2 = sigtimedwait(&set, NULL, &to);
  printf("sigtimedwait: rc=%d timed_out=%d\n", r2, now_ms() - t0 >= 29);
  pthread_join(t, NULL);
  return 0;
}
