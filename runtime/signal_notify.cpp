// runtime/signal_notify.cpp — see signal_notify.hpp.
#include "signal_notify.hpp"

#include "fd_registry.hpp"
#include "os_thread.hpp"
#include "raw_syscall.hpp"
#include "signals.hpp"

#include <weft/signal.hpp>

#include <sys/eventfd.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdint>
#include <new>
#include <system_error>
#include <vector>

namespace weft::detail {
namespace {

// The receivers and what the handler needs. Made once, never freed (the
// delivery thread may run while the program exits).
struct registry {
  spinlock lk;
  std::vector<signal_sink*> receivers[NSIG];   // under lk
  std::uint32_t seen[NSIG] = {};               // counts handed out; under lk
  struct sigaction prev[NSIG];                 // the action the runtime's handler replaced; under lk
  bool installed[NSIG] = {};                   // the runtime put its handler in; under lk
  pid_t thread_pid = 0;                        // the process the delivery thread runs in; under lk
};
registry* g_reg = nullptr;
std::atomic<bool> g_active[NSIG];              // sig has receivers: count it
std::atomic<std::uint32_t> g_count[NSIG];      // deliveries caught
std::atomic<int> g_efd{-1};                    // eventfd the handler writes, the thread reads
// The replaced action's function, for handler(): read with single atomic
// loads only (a handler may run on a thread inside any call, with another
// thread installing anew); at most one is non-null; null for SIG_DFL/SIG_IGN.
std::atomic<void (*)(int, siginfo_t*, void*)> g_chain_info[NSIG];
std::atomic<void (*)(int)> g_chain_plain[NSIG];
spinlock g_make_lk;

__attribute__((tls_model("initial-exec"))) constinit thread_local int tl_counting = 0;  // handler() runs the chain
__attribute__((tls_model("initial-exec"))) constinit thread_local int tl_counted = 0;   // handler() counted, called by another's chain

registry& reg() {
  return *locked(g_make_lk, [] {
    if (!g_reg) g_reg = new registry;
    return g_reg;
  });
}

// count() is note 2: async-signal-safe.
void count(int sig) noexcept {
  if (!g_active[sig].load(std::memory_order_acquire)) return;
  g_count[sig].fetch_add(1, std::memory_order_release);
  std::uint64_t one = 1;
  sys(SYS_write, g_efd.load(std::memory_order_acquire), &one, sizeof one);
}

// act() is sigaction for the runtime's handler: libc's, past any hook. In
// TSan builds (which have no signal hooks) the sanitizer's own, so that it
// knows the handler and runs it where its state is consistent: a handler
// behind its back, entered inside one of its interceptors, hangs or is
// reported falsely.
int act(int sig, const struct sigaction* a, struct sigaction* old) noexcept {
#if defined(__SANITIZE_THREAD__)
  return ::sigaction(sig, a, old);
#else
  return runtime_sigaction(sig, a, old);
#endif
}

bool ours(int sig) noexcept;

// handler() is the runtime's handler: the replaced action, then count().
void handler(int sig, siginfo_t* info, void* uctx) {
  if (tl_counting == sig) return;  // a chain that led back here (note 1)
  int saved = errno;
  int outer = tl_counting;
  tl_counting = sig;
  if (auto f = g_chain_info[sig].load(std::memory_order_acquire)) f(sig, info, uctx);
  else if (auto g = g_chain_plain[sig].load(std::memory_order_acquire)) g(sig);
  tl_counting = outer;
  count(sig);
  if (!ours(sig)) tl_counted = sig;  // called by the hooks' trampoline, which reports next
  errno = saved;
}

// ours() is true when the kernel holds the runtime's handler for sig.
bool ours(int sig) noexcept {
  struct sigaction cur{};
  act(sig, nullptr, &cur);
  return (cur.sa_flags & SA_SIGINFO) && cur.sa_sigaction == &handler;
}

// deliver_loop() is the delivery thread (note 3).
void* deliver_loop(void*) {
  registry& r = *g_reg;
  int fd = g_efd.load(std::memory_order_acquire);
  for (;;) {
    std::uint64_t v;
    long n = sys(SYS_read, fd, &v, sizeof v);
    if (n == -EINTR || n == -EAGAIN) continue;
    if (n < 0) return nullptr;
    locked(r.lk, [&] {
      for (int sig = 1; sig < NSIG; ++sig) {
        std::uint32_t c = g_count[sig].load(std::memory_order_acquire);
        std::uint32_t fresh = std::min<std::uint32_t>(c - r.seen[sig], 1024);
        r.seen[sig] = c;
        for (std::uint32_t i = 0; i < fresh; ++i)
          for (signal_sink* s : r.receivers[sig]) s->deliver(sig);
      }
    });
  }
}

// deliverable() is false for the signals signal_subscribe() refuses.
bool deliverable(int sig) noexcept {
  if (sig <= 0 || sig >= NSIG) return false;
  for (int s : {SIGKILL, SIGSTOP, SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGTRAP, SIGSYS})
    if (sig == s) return false;
  return true;
}

}  // namespace

void note_caught(int sig) noexcept {
  if (sig <= 0 || sig >= NSIG || tl_counting == sig) return;
  if (tl_counted == sig) {
    tl_counted = 0;  // handler() ran as the program's handler of this delivery
    return;
  }
  count(sig);
}

void signal_subscribe(signal_sink* s, int sig) {
  if (!deliverable(sig)) throw usage_error("weft: this signal cannot be received (uncatchable, or weft's own)");
  registry& r = reg();
  r.lk.lock();
  struct unlock {
    spinlock& l;
    ~unlock() { l.unlock(); }
  } guard{r.lk};
  if (g_efd.load(std::memory_order_relaxed) < 0) {
    long fd = sys(SYS_eventfd2, 0, EFD_CLOEXEC);
    if (fd < 0) throw std::system_error(static_cast<int>(-fd), std::generic_category(), "weft: signal eventfd");
    g_efd.store(runtime_fd(static_cast<int>(fd)), std::memory_order_release);
  }
  if (pid_t me = static_cast<pid_t>(sys(SYS_getpid)); r.thread_pid != me) {
    start_os_thread(&deliver_loop, nullptr);  // never joined: it lives as long as the process
    r.thread_pid = me;
  }
  r.receivers[sig].push_back(s);
  if (r.receivers[sig].size() > 1 && r.installed[sig] && ours(sig)) return;
  // The first receiver, or the program replaced the runtime's handler
  // since: (re)install it, chaining to what is there now.
  if (!ours(sig)) {
    struct sigaction cur{}, mine{};
    act(sig, nullptr, &cur);
    r.prev[sig] = cur;
    // Published before the kernel can call handler().
    bool info = cur.sa_flags & SA_SIGINFO;
    bool plain = !info && cur.sa_handler != SIG_DFL && cur.sa_handler != SIG_IGN;
    g_chain_info[sig].store(info ? cur.sa_sigaction : nullptr, std::memory_order_release);
    g_chain_plain[sig].store(plain ? cur.sa_handler : nullptr, std::memory_order_release);
    mine.sa_sigaction = &handler;
    mine.sa_mask = cur.sa_mask;
    mine.sa_flags = SA_SIGINFO | SA_RESTART | SA_ONSTACK;
    r.seen[sig] = g_count[sig].load(std::memory_order_acquire);
    g_active[sig].store(true, std::memory_order_release);
    if (act(sig, &mine, nullptr) != 0) {
      r.receivers[sig].pop_back();
      if (r.receivers[sig].empty()) g_active[sig].store(false, std::memory_order_release);
      throw std::system_error(errno, std::generic_category(), "weft: sigaction");
    }
    r.installed[sig] = true;
  }
  g_active[sig].store(true, std::memory_order_release);
}

void signal_unsubscribe(signal_sink* s) noexcept {
  registry* r = g_reg;
  if (!r) return;
  locked(r->lk, [&] {
    for (int sig = 1; sig < NSIG; ++sig) {
      auto& v = r->receivers[sig];
      auto it = std::remove(v.begin(), v.end(), s);
      if (it == v.end()) continue;
      v.erase(it, v.end());
      if (!v.empty()) continue;
      g_active[sig].store(false, std::memory_order_release);
      if (r->installed[sig] && ours(sig)) act(sig, &r->prev[sig], nullptr);
      r->installed[sig] = false;
    }
  });
}

bool signal_receivers_active() noexcept {
  for (int sig = 1; sig < NSIG; ++sig)
    if (g_active[sig].load(std::memory_order_seq_cst)) return true;
  return false;
}

void signal_notify_fork_child() noexcept {
  ::new (&g_make_lk) spinlock();
  if (g_reg) {
    ::new (&g_reg->lk) spinlock();  // the delivery thread may have held it
    g_reg->thread_pid = 0;          // it does not exist here (note 4)
  }
}

}  // namespace weft::detail
