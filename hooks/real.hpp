// hooks/real.hpp — the libc functions behind the hooks, found with
// dlsym(RTLD_NEXT) on first use (so calls made before any constructor ran
// work too).
//
// The hooks call the real functions only through real::fns(); a plain
// ::read() from inside hooks/ would call the hook again.
#pragma once
#include <netdb.h>
#include <poll.h>
#include <stdio.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/select.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include <atomic>

namespace weft::hooks::real {

// One pointer per interposed libc function.
struct table {
  int (*socket)(int, int, int);
  int (*socketpair)(int, int, int, int*);
  int (*pipe)(int*);
  int (*pipe2)(int*, int);
  int (*connect)(int, const sockaddr*, socklen_t);
  int (*accept)(int, sockaddr*, socklen_t*);
  int (*accept4)(int, sockaddr*, socklen_t*, int);
  ssize_t (*read)(int, void*, size_t);
  ssize_t (*write)(int, const void*, size_t);
  ssize_t (*readv)(int, const iovec*, int);
  ssize_t (*writev)(int, const iovec*, int);
  ssize_t (*recv)(int, void*, size_t, int);
  ssize_t (*send)(int, const void*, size_t, int);
  ssize_t (*recvfrom)(int, void*, size_t, int, sockaddr*, socklen_t*);
  ssize_t (*sendto)(int, const void*, size_t, int, const sockaddr*, socklen_t);
  ssize_t (*recvmsg)(int, msghdr*, int);
  ssize_t (*sendmsg)(int, const msghdr*, int);
  int (*close)(int);
  int (*close_range)(unsigned, unsigned, int);
  void (*closefrom)(int);
  int (*fclose)(FILE*);
  int (*dup)(int);
  int (*dup2)(int, int);
  int (*dup3)(int, int, int);
  int (*fcntl)(int, int, ...);
  int (*fcntl64)(int, int, ...);
  int (*ioctl)(int, unsigned long, ...);
  int (*setsockopt)(int, int, int, const void*, socklen_t);
  unsigned (*sleep)(unsigned);
  int (*usleep)(useconds_t);
  int (*nanosleep)(const timespec*, timespec*);
  int (*clock_nanosleep)(clockid_t, int, const timespec*, timespec*);
  int (*poll)(pollfd*, nfds_t, int);
  // _FORTIFY_SOURCE variants (Debian builds its packages with them).
  ssize_t (*read_chk)(int, void*, size_t, size_t);
  ssize_t (*recv_chk)(int, void*, size_t, size_t, int);
  ssize_t (*recvfrom_chk)(int, void*, size_t, size_t, int, sockaddr*, socklen_t*);
  int (*poll_chk)(pollfd*, nfds_t, int, size_t);
  // Multiplexing (hooks/mux_hooks.cpp) and batched messages (more_io_hooks.cpp).
  int (*ppoll)(pollfd*, nfds_t, const timespec*, const sigset_t*);
  int (*ppoll_chk)(pollfd*, nfds_t, const timespec*, const sigset_t*, size_t);
  int (*select)(int, fd_set*, fd_set*, fd_set*, timeval*);
  int (*pselect)(int, fd_set*, fd_set*, fd_set*, const timespec*, const sigset_t*);
  int (*epoll_wait)(int, epoll_event*, int, int);
  int (*epoll_pwait)(int, epoll_event*, int, int, const sigset_t*);
  int (*epoll_pwait2)(int, epoll_event*, int, const timespec*, const sigset_t*);  // null if libc lacks it
  int (*recvmmsg)(int, mmsghdr*, unsigned, int, timespec*);
  int (*sendmmsg)(int, mmsghdr*, unsigned, int);
  // The resolver (hooks/dns_hooks.cpp).
  int (*getaddrinfo)(const char*, const char*, const addrinfo*, addrinfo**);
  void (*freeaddrinfo)(addrinfo*);
  int (*getnameinfo)(const sockaddr*, socklen_t, char*, socklen_t, char*, socklen_t, int);
  int (*gethostbyname2_r)(const char*, int, hostent*, char*, size_t, hostent**, int*);
  int (*gethostbyaddr_r)(const void*, socklen_t, int, hostent*, char*, size_t, hostent**, int*);
  hostent* (*gethostbyname)(const char*);
  hostent* (*gethostbyname2)(const char*, int);
  int (*gethostbyname_r)(const char*, hostent*, char*, size_t, hostent**, int*);
  hostent* (*gethostbyaddr)(const void*, socklen_t, int);
  // Signal dispositions (hooks/signal_hooks.cpp).
  int (*sigaction)(int, const struct sigaction*, struct sigaction*);
};

extern table g;
extern std::atomic<bool> g_ready;

// resolve() fills g; idempotent, callable from any thread at any time.
// Aborts with a message if libc lacks one of the functions.
void resolve() noexcept;

// fns() is the table of real functions; callable from anywhere.
inline const table& fns() noexcept {
  if (__builtin_expect(!g_ready.load(std::memory_order_acquire), 0)) resolve();
  return g;
}

}  // namespace weft::hooks::real
