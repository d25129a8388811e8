/* samples/tpc_port.c — the classic thread-per-connection echo server, in
 * plain C with pthreads and blocking calls: accept(), then pthread_create
 * (detached) per connection, which read()s and write()s until the peer
 * closes. Nothing in it knows about weft; run it as is for OS threads, or
 * under `weft-run` and its threads become fibers.
 *
 *   tpc_port [--port N] [--conns N]
 *
 * --port 0 (the default) picks a free port; the address is printed on
 * stderr ("tpc_port: listening on 127.0.0.1:N", as the other samples do). With --conns N the server exits after
 * N connections have closed, printing "served N connections, B bytes" on
 * stdout. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static pthread_mutex_t stats_mu = PTHREAD_MUTEX_INITIALIZER;
static long closed_conns, echoed_bytes, target_conns = -1;

static void* serve(void* arg) {
  int fd = (int)(long)arg;
  char buf[4096];
  long total = 0;
  for (;;) {
    ssize_t n = read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    for (ssize_t off = 0; off < n;) {
      ssize_t w = write(fd, buf + off, (size_t)(n - off));
      if (w < 0 && errno == EINTR) continue;
      if (w <= 0) goto done;
      off += w;
    }
    total += n;
  }
done:
  close(fd);
  pthread_mutex_lock(&stats_mu);
  echoed_bytes += total;
  if (++closed_conns == target_conns) {
    printf("served %ld connections, %ld bytes\n", closed_conns, echoed_bytes);
    fflush(stdout);
    exit(0);
  }
  pthread_mutex_unlock(&stats_mu);
  return NULL;
}

int main(int argc, char** argv) {
  int port = 0;
  for (int i = 1; i < argc; ++i) {
    if (!strcmp(argv[i], "--port") && i + 1 < argc) port = atoi(argv[++i]);
    else if (!strcmp(argv[i], "--conns") && i + 1 < argc) target_conns = atol(argv[++i]);
    else {
      fprintf(stderr, "usage: tpc_port [--port N] [--conns N]\n");
      return 2;
    }
  }
  int ls = socket(AF_INET, SOCK_STREAM, 0);
  int one = 1;
  setsockopt(ls, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  struct sockaddr_in a;
  memset(&a, 0, sizeof a);
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = htons((unsigned short)port);
  if (bind(ls, (struct sockaddr*)&a, sizeof a) || listen(ls, 4096)) {
    perror("tpc_port: bind/listen");
    return 1;
  }
  socklen_t len = sizeof a;
  getsockname(ls, (struct sockaddr*)&a, &len);
  fprintf(stderr, "tpc_port: listening on 127.0.0.1:%d\n", ntohs(a.sin_port));
  pthread_attr_t attr;
  pthread_attr_init(&attr);
  pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
  for (;;) {
    int fd = accept(ls, NULL, NULL);
    if (fd < 0) {
      if (errno == EINTR || errno == ECONNABORTED) continue;
      if (errno == EMFILE || errno == ENFILE) {
        perror("tpc_port: accept");
        usleep(10000);
        continue;
      }
      perror("tpc_port: accept");
      return 1;
    }
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    pthread_t t;
    int e = pthread_create(&t, &attr, serve, (void*)(long)fd);
    if (e) {
      fprintf(stderr, "tpc_port: pthread_create: %s\n", strerror(e));
      close(fd);
    }
  }
}
