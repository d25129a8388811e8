/* tests/processes/stress_cycle.h — one fork/pipe stress cycle, in plain C,
 * shared by fork_stress.c (run directly and under weft-run) and
 * fork_stress_linked.cpp (weft::run with several fibers doing cycles).
 *
 * A cycle starts a child one of three ways — fork (the child works in the
 * copy of this process), vfork + exec, or posix_spawn — with a pipe each
 * way. The parent writes a message (random size, up to 256 KiB: more than
 * a pipe holds, so both sides block), the child echoes it back transformed
 * and exits with a status derived from the cycle; the parent reads until
 * EOF, waits for the child, and checks bytes and status. Both sides sleep
 * for random short times. Any mismatch is a failure; a hang is caught by
 * the test's time limit.
 *
 * The exec'd child is this same program run as "<argv0> child <status>". */
#pragma once
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char** environ;

/* stress_rand() is a small per-caller PRNG (xorshift). */
static inline uint32_t stress_rand(uint64_t* s) {
  *s ^= *s << 13;
  *s ^= *s >> 7;
  *s ^= *s << 17;
  return (uint32_t)(*s >> 11);
}

/* stress_nap() sleeps 0..max_us microseconds. */
static inline void stress_nap(uint64_t* s, unsigned max_us) {
  unsigned us = stress_rand(s) % (max_us + 1);
  if (us) {
    struct timespec t = {0, (long)us * 1000};
    nanosleep(&t, NULL);
  }
}

/* stress_child_body() is the child's work on fds 0 and 1: read everything,
 * write it back with each byte + 1, exit with `status`. */
static inline void stress_child_body(int status, uint64_t seed) {
  static char buf[1 << 16];
  uint64_t s = seed | 1;
  stress_nap(&s, 300);
  for (;;) {
    ssize_t n = read(0, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    for (ssize_t i = 0; i < n; ++i) buf[i] = (char)(buf[i] + 1);
    for (ssize_t off = 0; off < n;) {
      ssize_t w = write(1, buf + off, (size_t)(n - off));
      if (w < 0 && errno == EINTR) continue;
      if (w <= 0) _exit(101);
      off += w;
    }
  }
  _exit(status);
}

/* stress_cycle() runs one cycle; returns 0 or a description of the failure.
 * mode: 0 fork, 1 vfork + exec, 2 posix_spawn. `self` is argv[0]. */
static inline const char* stress_cycle(const char* self, int mode, uint64_t* s) {
  /* O_CLOEXEC: a child another thread (fiber) starts meanwhile must not
   * inherit these pipes, or their EOF would wait for it. dup2 clears it. */
  int in[2], out[2];
  if (pipe2(in, O_CLOEXEC) != 0 || pipe2(out, O_CLOEXEC) != 0) return "pipe failed";
  volatile int status = (int)(stress_rand(s) % 100); /* volatile: survives vfork */
  char st[16];
  snprintf(st, sizeof st, "%d", status);
  char seed[24];
  snprintf(seed, sizeof seed, "%u", stress_rand(s));
  char* args[] = {(char*)self, (char*)"child", st, seed, NULL};
  pid_t pid = -1;
  if (mode == 0) {
    pid = fork();
    if (pid == 0) {
      dup2(in[0], 0);
      dup2(out[1], 1);
      /* A fork()ed child holds every fd of the parent, other cycles' pipes
       * too (another thread, or fiber, may be in the middle of one): drop
       * them, or their EOF would wait for this child. */
      closefrom(3);
      stress_child_body(status, strtoull(seed, NULL, 10));
    }
  } else if (mode == 1) {
    pid = vfork();
    if (pid == 0) {
      dup2(in[0], 0);
      dup2(out[1], 1);
      close(in[0]), close(in[1]), close(out[0]), close(out[1]);
      execve(self, args, environ);
      _exit(127);
    }
  } else {
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, in[0], 0);
    posix_spawn_file_actions_adddup2(&fa, out[1], 1);
    posix_spawn_file_actions_addclose(&fa, in[1]);
    posix_spawn_file_actions_addclose(&fa, out[0]);
    if (posix_spawn(&pid, self, &fa, NULL, args, environ) != 0) pid = -1;
    posix_spawn_file_actions_destroy(&fa);
  }
  close(in[0]);
  close(out[1]);
  if (pid < 0) return "could not start the child";
  size_t n = 1 + stress_rand(s) % (256 * 1024);
  char* msg = (char*)malloc(n);
  char* got = (char*)malloc(n + 1);
  for (size_t i = 0; i < n; ++i) msg[i] = (char)stress_rand(s);
  stress_nap(s, 300);
  /* Write and read alternately, with at most 48 KiB + one chunk in flight:
   * the child echoes as it reads, so writing everything first could fill
   * both pipes. */
  size_t sent = 0, recvd = 0;
  const char* err = NULL;
  while (recvd <= n) {
    if (sent < n && sent - recvd < 48 * 1024) {
      size_t chunk = n - sent < 32768 ? n - sent : 32768;
      ssize_t w = write(in[1], msg + sent, chunk);
      if (w < 0 && errno == EINTR) continue;
      if (w <= 0) {
        err = "write to the child failed";
        break;
      }
      sent += (size_t)w;
      if (sent == n) close(in[1]);
    }
    ssize_t r = read(out[0], got + recvd, n + 1 - recvd);
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) {
      err = "read from the child failed";
      break;
    }
    if (r == 0) break;
    recvd += (size_t)r;
  }
  if (sent < n) close(in[1]);
  close(out[0]);
  int ws = 0;
  pid_t w;
  do w = waitpid(pid, &ws, 0);
  while (w < 0 && errno == EINTR);
  if (!err && w != pid) err = "waitpid failed";
  if (!err && !(WIFEXITED(ws) && WEXITSTATUS(ws) == status)) err = "wrong exit status";
  if (!err && recvd != n) err = "wrong byte count";
  for (size_t i = 0; !err && i < n; ++i)
    if (got[i] != (char)(msg[i] + 1)) err = "wrong bytes";
  free(msg);
  free(got);
  return err;
}
