// runtime/os_thread.cpp — see os_thread.hpp.
#include "os_thread.hpp"

#include "assert.hpp"
#include "libc_next.hpp"
#include "sanitizer.hpp"

#include <dlfcn.h>
#include <signal.h>

#include <cerrno>
#include <system_error>

namespace weft::detail {
namespace {

using create_fn = int (*)(pthread_t*, const pthread_attr_t*, void* (*)(void*), void*);
using join_fn = int (*)(pthread_t, void**);

// real() is libc's `name`, past a preloaded pthread interposer; in
// sanitizer builds the intercepted one (see sanitizer.hpp).
template <class F>
F real(const char* name) noexcept {
  return sanitized ? reinterpret_cast<F>(dlsym(RTLD_DEFAULT, name)) : libc_fn<F>(name);
}

// The asynchronous signals carriers other than the run() thread block.
// Fault signals (SEGV, BUS, ILL, FPE, TRAP, SYS) and SIGPIPE stay open: they
// belong to the thread that caused them.
constexpr int async_signals[] = {SIGHUP,  SIGINT,  SIGQUIT, SIGUSR1, SIGUSR2,  SIGALRM, SIGTERM,
                                 SIGCHLD, SIGWINCH, SIGTSTP, SIGTTIN, SIGTTOU, SIGVTALRM, SIGPROF, SIGIO};

}  // namespace

pthread_t start_os_thread(void* (*fn)(void*), void* arg) {
  static const create_fn create = real<create_fn>("pthread_create");
  sigset_t block, old;
  sigemptyset(&block);
  for (int s : async_signals) sigaddset(&block, s);
  pthread_sigmask(SIG_BLOCK, &block, &old);  // the new thread inherits it
  pthread_t t;
  int e = create(&t, nullptr, fn, arg);
  pthread_sigmask(SIG_SETMASK, &old, nullptr);
  if (e) throw std::system_error(e, std::generic_category(), "weft: cannot start a worker thread");
  return t;
}

void join_os_thread(pthread_t t) noexcept {
  static const join_fn join = real<join_fn>("pthread_join");
  int e = join(t, nullptr);
  WEFT_ASSERT(e == 0, "weft: pthread_join of a worker failed: %d", e);
}

}  // namespace weft::detail
