/* tests/hooks/preload_prog.c — a plain blocking C program with no weft
 * include, run by test_hooks_preload both directly and under weft-run; the
 * two runs must print the same stdout. It talks to a server thread over
 * loopback TCP, uses a pipe, poll, select, epoll_wait, nanosleep,
 * SO_RCVTIMEO, F_GETFL and a numeric getaddrinfo/getnameinfo.
 * stderr gets "real_nonblock=<0|1>": the kernel's O_NONBLOCK of a blocking
 * socket after blocking I/O on it, which must be 0 under weft-run too.
 * "prog exit N" ends with exit(N) inside main, "prog ret N" returns N.
 * "prog sigread" only does this: a SIGALRM handler without SA_RESTART, a
 * timer 100 ms away, and a blocking read of a pipe a thread writes 400 ms
 * from now; prints what the read returned. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <netdb.h>
#include <sys/epoll.h>
#include <sys/select.h>
#include <sys/socket.h>
#include <signal.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

static int listener;
/* A size the compiler cannot see: fortified read/recv become __read_chk /
 * __recv_chk, which the hooks must catch too. */
static volatile size_t chunk = 64;

/* serve() answers each of 3 requests with "pong:<request>" after 30 ms. */
static void* serve(void* arg) {
  (void)arg;
  for (int i = 0; i < 3; ++i) {
    int c = accept(listener, NULL, NULL);
    if (c < 0) return NULL;
    char buf[64];
    ssize_t n = read(c, buf, chunk); /* __read_chk */
    usleep(30000);
    char out[80];
    int m = snprintf(out, sizeof out, "pong:%.*s", (int)(n > 0 ? n : 0), buf);
    if (write(c, out, (size_t)m) != m) perror("write");
    close(c);
  }
  return NULL;
}

static int sig_pipe[2];
static void on_alarm(int sig) { (void)sig; }
static void* late_writer(void* arg) {
  (void)arg;
  usleep(400000);
  if (write(sig_pipe[1], "x", 1) != 1) perror("write");
  return NULL;
}

/* sigread() is the "sigread" mode (see the file comment). */
static int sigread(void) {
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_alarm;
  sigaction(SIGALRM, &sa, NULL);
  if (pipe(sig_pipe)) return 1;
  pthread_t t;
  pthread_create(&t, NULL, late_writer, NULL);
  struct itimerval it = {{0, 0}, {0, 100000}};
  setitimer(ITIMER_REAL, &it, NULL);
  char c;
  ssize_t n = read(sig_pipe[0], &c, 1);
  printf("read=%zd %s\n", n, n < 0 ? strerror(errno) : "data");
  pthread_join(t, NULL);
  return 0;
}

int main(int argc, char** argv) {
  if (argc == 2 && strcmp(argv[1], "sigread") == 0) return sigread();
  listener = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in a;
  memset(&a, 0, sizeof a);
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof a;
  if (bind(listener, (struct sockaddr*)&a, sizeof a) || listen(listener, 8) ||
      getsockname(listener, (struct sockaddr*)&a, &len)) {
    perror("listen");
    return 1;
  }
  pthread_t t;
  pthread_create(&t, NULL, serve, NULL);

  for (int i = 0; i < 3; ++i) {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (connect(fd, (struct sockaddr*)&a, sizeof a)) {
      perror("connect");
      return 1;
    }
    if (i == 0) {
      fprintf(stderr, "real_nonblock=%d\n", (int)((syscall(SYS_fcntl, fd, F_GETFL) & O_NONBLOCK) != 0));
      printf("user_nonblock=%d\n", (fcntl(fd, F_GETFL) & O_NONBLOCK) != 0);
    }
    char req[16];
    int m = snprintf(req, sizeof req, "ping%d", i);
    if (send(fd, req, (size_t)m, 0) != m) perror("send");
    char buf[64];
    ssize_t n = recv(fd, buf, chunk, 0); /* __recv_chk */
    printf("reply %d: %.*s\n", i, (int)(n > 0 ? n : 0), buf);
    close(fd);
  }
  pthread_join(t, NULL);

  int p[2];
  if (pipe(p)) return 1;
  if (write(p[1], "through a pipe", 14) != 14) return 1;
  char buf[32];
  ssize_t n = read(p[0], buf, sizeof buf);
  printf("pipe: %.*s\n", (int)n, buf);
  struct pollfd pf = {p[0], POLLIN, 0};
  printf("poll: %d\n", poll(&pf, 1, 30));

  int q[2];
  if (pipe(q)) return 1;
  fd_set rd;
  FD_ZERO(&rd);
  FD_SET(q[0], &rd);
  struct timeval stv = {0, 30000};
  int sr = select(q[0] + 1, &rd, NULL, NULL, &stv);
  printf("select: %d set=%d\n", sr, FD_ISSET(q[0], &rd) != 0);
  int ep = epoll_create1(EPOLL_CLOEXEC);
  struct epoll_event ev = {.events = EPOLLIN, .data.fd = q[0]};
  epoll_ctl(ep, EPOLL_CTL_ADD, q[0], &ev);
  struct epoll_event out[4];
  printf("epoll_wait empty: %d\n", epoll_wait(ep, out, 4, 30));
  if (write(q[1], "e", 1) != 1) return 1;
  int en = epoll_wait(ep, out, 4, 1000);
  printf("epoll_wait ready: %d fd_ok=%d\n", en, en == 1 && out[0].data.fd == q[0]);
  close(ep);

  struct addrinfo hints, *ai = NULL;
  memset(&hints, 0, sizeof hints);
  hints.ai_family = AF_INET;
  hints.ai_socktype = SOCK_STREAM;
  int gr = getaddrinfo("127.0.0.1", "http", &hints, &ai);
  char host[64] = "", serv[32] = "";
  if (gr == 0)
    getnameinfo(ai->ai_addr, ai->ai_addrlen, host, sizeof host, serv, sizeof serv, NI_NUMERICHOST | NI_NUMERICSERV);
  printf("getaddrinfo: %d %s %s\n", gr, host, serv);
  if (ai) freeaddrinfo(ai);

  struct timespec ts = {0, 20000000};
  printf("nanosleep: %d\n", nanosleep(&ts, NULL));

  int sv[2];
  socketpair(AF_UNIX, SOCK_STREAM, 0, sv);
  struct timeval tv = {0, 50000};
  setsockopt(sv[0], SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  errno = 0;
  n = read(sv[0], buf, sizeof buf);
  printf("timed read: %zd %s\n", n, errno == EAGAIN ? "EAGAIN" : strerror(errno));
  fflush(stdout);

  if (argc == 3 && strcmp(argv[1], "exit") == 0) exit(atoi(argv[2]));
  if (argc == 3 && strcmp(argv[1], "ret") == 0) return atoi(argv[2]);
  return 0;
}
