/* tests/threads/signals.c — signals and threads: pthread_kill ends the
 * target thread's blocking read with EINTR (handler without SA_RESTART);
 * pause() and sigsuspend() in main return EINTR after a handler ran. The
 * signals come from other threads, so on fibers the waits must park, not
 * block the carrier. Plain C, no weft. */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
static volatile sig_atomic_t got;
static void on_sig(int s) { (void)s; ++got; }
static int pfd[2];
static void* reader(void* p) { (void)p; char c; ssize_t n = read(pfd[0], &c, 1); return (void*)(long)(n < 0 ? errno : 0); }
static void* killer(void* p) { usleep(30000); kill(getpid(), SIGUSR2); (void)p; return NULL; }
int main(void) {
  struct sigaction sa; memset(&sa, 0, sizeof sa); sa.sa_handler = on_sig; /* no SA_RESTART */
  sigaction(SIGUSR1, &sa, NULL); sigaction(SIGUSR2, &sa, NULL);
  setvbuf(stdout, NULL, _IONBF, 0);
  pipe(pfd);
  pthread_t t; pthread_create(&t, NULL, reader, NULL);
  usleep(30000);
  printf("pthread_kill: %d\n", pthread_kill(t, SIGUSR1));
  void* r; pthread_join(t, &r);
  printf("reader read: %s handler_runs=%d\n", (long)r == EINTR ? "EINTR" : "?", (int)got);
  pthread_t k; pthread_create(&k, NULL, killer, NULL);
  int pr = pause(); int e = errno;
  printf("pause: %d %s handler_runs=%d\n", pr, e == EINTR ? "EINTR" : "?", (int)got);
  pthread_join(k, NULL);
  sigset_t block, old; sigemptyset(&block); sigaddset(&block, SIGUSR2);
  pthread_sigmask(SIG_BLOCK, &block, &old);
  pthread_create(&k, NULL, killer, NULL);
  sigset_t wait_mask = old; sigdelset(&wait_mask, SIGUSR2);
  int sr = sigsuspend(&wait_mask); e = errno;
  printf("sigsuspend: %d %s handler_runs=%d\n", sr, e == EINTR ? "EINTR" : "?", (int)got);
  pthread_join(k, NULL);
  return 0;
}
