// runtime/os_thread.cpp — see os_thread.hpp.
#include "os_thread.hpp"

#include "assert.hpp"
#include "libc_next.hpp"
#include "sanitizer.hpp"

#include <weft/detail/wait.hpp>

#include <dlfcn.h>
#include <pthread.h>
#include <signal.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <system_error>

namespace weft::detail {
namespace {

using create_fn = int (*)(pthread_t*, const pthread_attr_t*, void* (*)(void*), void*);
using join_fn = int (*)(pthread_t, void**);
using detach_fn = int (*)(pthread_t);

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

__attribute__((tls_model("initial-exec"))) constinit thread_local bool tl_runtime_thread = false;
// Runtime threads alive: counted from their first instruction to their
// last (runtime_threads()), so never more than exist.
std::atomic<int> g_runtime_threads{0};

spinlock g_mask_lk;  // guards g_program_mask
sigset_t g_program_mask;
bool g_have_mask = false;

// The function and argument a new runtime thread runs.
struct start_rec {
  void* (*fn)(void*);
  void* arg;
};

void* thread_entry(void* p) noexcept {
  start_rec r = *static_cast<start_rec*>(p);
  delete static_cast<start_rec*>(p);
  tl_runtime_thread = true;
  g_runtime_threads.fetch_add(1, std::memory_order_seq_cst);
  void* out = r.fn(r.arg);
  g_runtime_threads.fetch_sub(1, std::memory_order_seq_cst);
  return out;
}

// A fork()ed child has none of its parent's runtime threads.
void fork_child_threads() noexcept { g_runtime_threads.store(0, std::memory_order_relaxed); }

}  // namespace

pthread_t start_os_thread(void* (*fn)(void*), void* arg) {
  [[maybe_unused]] static const int once = pthread_atfork(nullptr, nullptr, &fork_child_threads);
  static const create_fn create = real<create_fn>("pthread_create");
  sigset_t block, old;
  async_signal_set(&block);
  auto* rec = new start_rec{fn, arg};
  thread_sigmask(SIG_BLOCK, &block, &old);  // the new thread inherits it
  pthread_t t;
  int e = create(&t, nullptr, &thread_entry, rec);
  thread_sigmask(SIG_SETMASK, &old, nullptr);
  if (e) {
    delete rec;
    throw std::system_error(e, std::generic_category(), "weft: cannot start a worker thread");
  }
  return t;
}

int thread_sigmask(int how, const sigset_t* set, sigset_t* old) noexcept {
  return syscall(SYS_rt_sigprocmask, how, set, old, _NSIG / 8) == 0 ? 0 : errno;
}

void async_signal_set(sigset_t* s) noexcept {
  sigemptyset(s);
  for (int sig : async_signals) sigaddset(s, sig);
}

bool on_runtime_thread() noexcept { return tl_runtime_thread; }

int runtime_threads() noexcept { return g_runtime_threads.load(std::memory_order_seq_cst); }

void note_program_sigmask() noexcept {
  sigset_t m;
  thread_sigmask(SIG_BLOCK, nullptr, &m);
  locked(g_mask_lk, [&] {
    g_program_mask = m;
    g_have_mask = true;
  });
}

void program_sigmask(sigset_t* out) noexcept {
  locked(g_mask_lk, [&] {
    if (g_have_mask) *out = g_program_mask;
    else sigemptyset(out);
  });
}

void join_os_thread(pthread_t t) noexcept {
  static const join_fn join = real<join_fn>("pthread_join");
  int e = join(t, nullptr);
  WEFT_ASSERT(e == 0, "weft: pthread_join of a worker failed: %d", e);
}

void detach_os_thread(pthread_t t) noexcept {
  static const detach_fn detach = real<detach_fn>("pthread_detach");
  int e = detach(t);
  WEFT_ASSERT(e == 0, "weft: pthread_detach of a pool thread failed: %d", e);
}

}  // namespace weft::detail
