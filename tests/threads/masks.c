/* tests/threads/masks.c — each thread has its own signal mask, and a child
 * inherits the mask of the thread that started it. A thread blocks SIGUSR1
 * and SIGTERM; main's mask must not change; children started from main and
 * from the thread (posix_spawn, fork, vfork, system) report the SigBlk line
 * of /proc/self/status. Run directly, on OS threads and on fibers: the
 * output must be the same. */
#define _GNU_SOURCE
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

extern char** environ;

static void report(const char* who) {
  char cmd[160];
  snprintf(cmd, sizeof cmd, "grep SigBlk /proc/self/status | sed 's/^/%s /'", who);
  fflush(stdout);
  char* args[] = {(char*)"sh", (char*)"-c", cmd, NULL};
  pid_t pid;
  if (posix_spawn(&pid, "/bin/sh", NULL, NULL, args, environ) == 0) waitpid(pid, NULL, 0);
  if ((pid = fork()) == 0) {
    execv("/bin/sh", args);
    _exit(127);
  }
  waitpid(pid, NULL, 0);
  if ((pid = vfork()) == 0) {
    execv("/bin/sh", args);
    _exit(127);
  }
  waitpid(pid, NULL, 0);
  if (system(cmd) != 0) printf("system failed\n");
  fflush(stdout);
}

static int blocked(int sig) {
  sigset_t m;
  pthread_sigmask(SIG_BLOCK, NULL, &m);
  return sigismember(&m, sig);
}

static void* thread(void* arg) {
  (void)arg;
  sigset_t s;
  sigemptyset(&s);
  sigaddset(&s, SIGUSR1);
  sigaddset(&s, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &s, NULL);
  printf("thread: usr1 blocked=%d\n", blocked(SIGUSR1));
  report("thread");
  return NULL;
}

int main(void) {
  pthread_t t;
  pthread_create(&t, NULL, thread, NULL);
  pthread_join(t, NULL);
  printf("main: usr1 blocked=%d term blocked=%d\n", blocked(SIGUSR1), blocked(SIGTERM));
  report("main");
  return 0;
}
