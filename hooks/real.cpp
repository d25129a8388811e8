// hooks/real.cpp — looks the real libc functions up with dlsym(RTLD_NEXT).
#include "real.hpp"

#include <dlfcn.h>
#include <sys/syscall.h>

#include <cstdlib>
#include <cstring>

namespace weft::hooks::real {

constinit table g{};
constinit std::atomic<bool> g_ready{false};

namespace {

// find() returns the next definition of `name` after this object; aborts if
// there is none (the hook could not do its job).
void* find(const char* name) noexcept {
  void* p = dlsym(RTLD_NEXT, name);
  if (!p) {
    static const char msg[] = "weft hooks: dlsym(RTLD_NEXT) found no libc function ";
    // Raw syscalls only: write() itself may be hooked.
    (void)!::syscall(SYS_write, 2, msg, sizeof msg - 1);
    (void)!::syscall(SYS_write, 2, name, std::strlen(name));
    (void)!::syscall(SYS_write, 2, "\n", 1);
    std::abort();
  }
  return p;
}

template <class T>
void set(T& slot, const char* name) noexcept {
  slot = reinterpret_cast<T>(find(name));
}

}  // namespace

void resolve() noexcept {
  table t{};
  set(t.socket, "socket");
  set(t.socketpair, "socketpair");
  set(t.pipe, "pipe");
  set(t.pipe2, "pipe2");
  set(t.connect, "connect");
  set(t.accept, "accept");
  set(t.accept4, "accept4");
  set(t.read, "read");
  set(t.write, "write");
  set(t.readv, "readv");
  set(t.writev, "writev");
  set(t.recv, "recv");
  set(t.send, "send");
  set(t.recvfrom, "recvfrom");
  set(t.sendto, "sendto");
  set(t.recvmsg, "recvmsg");
  set(t.sendmsg, "sendmsg");
  set(t.close, "close");
  set(t.close_range, "close_range");
  set(t.closefrom, "closefrom");
  set(t.fclose, "fclose");
  set(t.dup, "dup");
  set(t.dup2, "dup2");
  set(t.dup3, "dup3");
  set(t.fcntl, "fcntl");
  set(t.fcntl64, "fcntl64");
  set(t.ioctl, "ioctl");
  set(t.setsockopt, "setsockopt");
  set(t.sleep, "sleep");
  set(t.usleep, "usleep");
  set(t.nanosleep, "nanosleep");
  set(t.clock_nanosleep, "clock_nanosleep");
  set(t.poll, "poll");
  set(t.read_chk, "__read_chk");
  set(t.recv_chk, "__recv_chk");
  set(t.recvfrom_chk, "__recvfrom_chk");
  set(t.poll_chk, "__poll_chk");
  set(t.ppoll, "ppoll");
  set(t.ppoll_chk, "__ppoll_chk");
  set(t.select, "select");
  set(t.pselect, "pselect");
  set(t.epoll_wait, "epoll_wait");
  set(t.epoll_pwait, "epoll_pwait");
  t.epoll_pwait2 = reinterpret_cast<decltype(t.epoll_pwait2)>(dlsym(RTLD_NEXT, "epoll_pwait2"));  // optional
  set(t.recvmmsg, "recvmmsg");
  set(t.sendmmsg, "sendmmsg");
  set(t.getaddrinfo, "getaddrinfo");
  set(t.freeaddrinfo, "freeaddrinfo");
  set(t.getnameinfo, "getnameinfo");
  set(t.gethostbyname2_r, "gethostbyname2_r");
  set(t.gethostbyaddr_r, "gethostbyaddr_r");
  set(t.gethostbyname, "gethostbyname");
  set(t.gethostbyname2, "gethostbyname2");
  set(t.gethostbyname_r, "gethostbyname_r");
  set(t.gethostbyaddr, "gethostbyaddr");
  set(t.sigaction, "sigaction");
  g = t;  // racing resolvers store the same values
  g_ready.store(true, std::memory_order_release);
}

}  // namespace weft::hooks::real
