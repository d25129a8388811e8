// runtime/process.cpp — see process.hpp.
#include "process.hpp"

#include "os_thread.hpp"
#include "sched_registry.hpp"
#include "scheduler.hpp"
#include "signal_notify.hpp"

#include <pthread.h>

#include <algorithm>
#include <atomic>
#include <vector>

namespace weft::detail {
namespace {

std::atomic<bool (*)(sigset_t*)> g_provider{nullptr};
spinlock g_children_lk;
std::vector<pid_t>* g_children = nullptr;  // never freed: waits may run at exit

}  // namespace

void fork_child() noexcept {
  ::new (&g_children_lk) spinlock();  // another thread may have held it
  if (g_children) g_children->clear();
  signal_notify_fork_child();
  scheduler* s = tl_sched;
  keep_only_slot(s ? s->slot() : -1);
  if (s) s->after_fork_child();
  // The child's one thread is a program thread now, with the mask of the
  // thread (fiber) that forked, whatever carrier it ran on.
  if (on_runtime_thread() || g_provider.load(std::memory_order_relaxed)) {
    sigset_t m;
    exec_mask(&m);
    thread_sigmask(SIG_SETMASK, &m, nullptr);
  }
}

void install_fork_handlers() noexcept {
  [[maybe_unused]] static const int once = pthread_atfork(nullptr, nullptr, &fork_child);
}

void child_started(pid_t pid) noexcept {
  locked(g_children_lk, [&] {
    if (!g_children) g_children = new std::vector<pid_t>;
    g_children->push_back(pid);
  });
}

void child_reaped(pid_t pid) noexcept {
  locked(g_children_lk, [&] {
    if (!g_children) return;
    auto it = std::find(g_children->begin(), g_children->end(), pid);
    if (it != g_children->end()) g_children->erase(it);
  });
}

std::size_t children(pid_t* out, std::size_t n) noexcept {
  return locked(g_children_lk, [&]() -> std::size_t {
    if (!g_children) return 0;
    std::copy_n(g_children->begin(), std::min(n, g_children->size()), out);
    return g_children->size();
  });
}

void set_mask_provider(bool (*fn)(sigset_t*)) noexcept { g_provider.store(fn, std::memory_order_release); }

void exec_mask(sigset_t* m) noexcept {
  if (auto fn = g_provider.load(std::memory_order_acquire); fn && fn(m)) return;
  thread_sigmask(SIG_BLOCK, nullptr, m);
  if (!on_runtime_thread()) return;
  sigset_t async, prog;
  async_signal_set(&async);
  program_sigmask(&prog);
  for (int sig = 1; sig < NSIG; ++sig) {
    if (sigismember(&async, sig) != 1) continue;
    if (sigismember(&prog, sig) == 1) sigaddset(m, sig);
    else sigdelset(m, sig);
  }
}

}  // namespace weft::detail
