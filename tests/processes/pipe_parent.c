/* tests/processes/pipe_parent.c — a plain C program (pthreads, no weft
 * include) run directly and under weft-run, both thread modes:
 *   pipe_parent PEER PROBE
 * 1. Makes a pipe and a socketpair and has PROBE (a static program) print
 *    their F_GETFL flags; then does blocking I/O on them from two threads
 *    (fibers under weft-run), and has PROBE print the flags again.
 * 2. Starts PEER (a static program) with pipes on its stdin and stdout; one
 *    thread writes 8 MiB into it while the main thread reads the 8 MiB it
 *    sends back (each byte + 1), and checks them; then waits for PEER.
 * Prints the probe lines and "peer: bytes=N ok status=S". */
#define _GNU_SOURCE
#include <fcntl.h>
#include <pthread.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

extern char** environ;

static int p[2], sv[2];
enum { peer_bytes = 8 << 20 };
static int to_peer;

/* probe() runs the static probe on the four fds and waits for it. */
static void probe(const char* probe_path) {
  char a[4][12];
  for (int i = 0; i < 4; ++i) snprintf(a[i], sizeof a[i], "%d", i < 2 ? p[i] : sv[i - 2]);
  char* args[] = {(char*)probe_path, a[0], a[1], a[2], a[3], NULL};
  fflush(stdout);
  pid_t pid;
  if (posix_spawn(&pid, probe_path, NULL, NULL, args, environ) != 0) {
    printf("spawn failed\n");
    return;
  }
  int st;
  waitpid(pid, &st, 0);
}

static void* writer(void* arg) {
  (void)arg;
  usleep(20000);
  (void)!write(p[1], "ping", 4);
  (void)!write(sv[1], "pong", 4);
  return NULL;
}

static void* feeder(void* arg) {
  (void)arg;
  static char buf[1 << 15];
  for (size_t sent = 0; sent < peer_bytes; sent += sizeof buf) {
    for (size_t i = 0; i < sizeof buf; ++i) buf[i] = (char)((sent + i) * 7);
    if (write(to_peer, buf, sizeof buf) != (ssize_t)sizeof buf) break;
  }
  close(to_peer);
  return NULL;
}

int main(int argc, char** argv) {
  if (argc < 3) return 2;
  if (pipe(p) || socketpair(AF_UNIX, SOCK_STREAM, 0, sv)) return 1;
  probe(argv[2]);
  pthread_t t;
  pthread_create(&t, NULL, writer, NULL);
  char b[8];
  ssize_t r1 = read(p[0], b, sizeof b), r2 = read(sv[0], b, sizeof b);
  pthread_join(t, NULL);
  printf("reads %zd %zd\n", r1, r2);
  probe(argv[2]);

  int in[2], out[2];
  if (pipe(in) || pipe(out)) return 1;
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_adddup2(&fa, in[0], 0);
  posix_spawn_file_actions_adddup2(&fa, out[1], 1);
  posix_spawn_file_actions_addclose(&fa, in[1]);
  posix_spawn_file_actions_addclose(&fa, out[0]);
  char* args[] = {argv[1], NULL};
  pid_t pid;
  if (posix_spawn(&pid, argv[1], &fa, NULL, args, environ) != 0) return 1;
  close(in[0]);
  close(out[1]);
  to_peer = in[1];
  pthread_create(&t, NULL, feeder, NULL);
  static char got[1 << 16];
  size_t n = 0, bad = 0;
  for (;;) {
    ssize_t r = read(out[0], got, sizeof got);
    if (r <= 0) break;
    for (ssize_t i = 0; i < r; ++i)
      if (got[i] != (char)((char)((n + (size_t)i) * 7) + 1)) ++bad;
    n += (size_t)r;
  }
  pthread_join(t, NULL);
  int st = 0;
  waitpid(pid, &st, 0);
  printf("peer: bytes=%zu %s status=%d\n", n, bad ? "BAD" : "ok", WIFEXITED(st) ? WEXITSTATUS(st) : -1);
  return 0;
}
