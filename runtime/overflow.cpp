// runtime/overflow.cpp — the stack-overflow report. See overflow.hpp.
#include "overflow.hpp"

#include "scheduler.hpp"
#include "sigsafe.hpp"

#include <signal.h>
#include <sys/mman.h>
#include <ucontext.h>
#include <unistd.h>

#include <cstdint>
#include <cstdlib>
#include <mutex>

namespace weft::detail {
namespace {

const std::uintptr_t page = static_cast<std::uintptr_t>(sysconf(_SC_PAGESIZE));
// A frame bigger than a page can jump past the guard; a fault this close
// below it, with the stack pointer also off the stack, is still an overflow.
constexpr std::uintptr_t below_guard_slack = std::uintptr_t(1) << 20;

struct sigaction g_prev_segv, g_prev_bus;

// The calling thread's alternate signal stack, freed at thread exit.
struct alt_stack {
  void* mem = nullptr;
  std::size_t bytes = 0;
  ~alt_stack() {
    if (!mem) return;
    stack_t off{};
    off.ss_flags = SS_DISABLE;
    sigaltstack(&off, nullptr);
    munmap(mem, bytes);
  }
};
thread_local alt_stack tl_alt;

// in_guard() is true when addr (and, on x86-64, the stack pointer) say the
// running fiber ran off the bottom of its stack.
bool in_guard(const fiber_ctl* f, std::uintptr_t addr, const void* uctx) noexcept {
  if (!f || f->is_main_ctx || !f->stack.sp) return false;
  std::uintptr_t usable_lo = reinterpret_cast<std::uintptr_t>(f->stack.sp) - f->stack.size;
  std::uintptr_t guard_lo = usable_lo - page;
  if (addr >= guard_lo && addr < usable_lo) return true;
#if defined(__x86_64__)
  std::uintptr_t sp = static_cast<std::uintptr_t>(static_cast<const ucontext_t*>(uctx)->uc_mcontext.gregs[REG_RSP]);
  return addr < usable_lo && addr + below_guard_slack >= guard_lo && sp < usable_lo + 256 &&
         sp + below_guard_slack >= guard_lo;
#else
  (void)uctx;
  return false;
#endif
}

// chain() hands a fault that is not an overflow to the previous action.
void chain(int sig, siginfo_t* si, void* uctx) noexcept {
  const struct sigaction& prev = sig == SIGBUS ? g_prev_bus : g_prev_segv;
  if (prev.sa_flags & SA_SIGINFO) {
    if (prev.sa_sigaction) return prev.sa_sigaction(sig, si, uctx);
  } else if (prev.sa_handler != SIG_DFL && prev.sa_handler != SIG_IGN) {
    return prev.sa_handler(sig);
  }
  // Default (an ignored synchronous fault is fatal too): restore it. A real
  // fault re-executes and dies of the same signal; a sent one is re-raised
  // and delivered when this handler returns (the signal is blocked here).
  struct sigaction dfl {};
  dfl.sa_handler = SIG_DFL;
  sigemptyset(&dfl.sa_mask);
  sigaction(sig, &dfl, nullptr);
  if (si->si_code <= 0) ::raise(sig);
}

void on_fault(int sig, siginfo_t* si, void* uctx) {
  int saved_errno = errno;
  scheduler* s = tl_sched;
  const fiber_ctl* f = s ? s->running() : nullptr;
  std::uintptr_t addr = reinterpret_cast<std::uintptr_t>(si->si_addr);
  if (!in_guard(f, addr, uctx)) {
    chain(sig, si, uctx);
    errno = saved_errno;
    return;
  }
  std::uintptr_t top = reinterpret_cast<std::uintptr_t>(f->stack.sp);
  sig_line out;
  out.put("weft: fiber ").dec(f->id).put(" \"").put(f->name.c_str()).put("\" overflowed its ")
      .dec(f->stack.size / 1024).put(" KiB stack\n").flush();
  out.put("weft: fault address ").hex(addr).put(" (stack ").hex(top - f->stack.size).put("-").hex(top)
      .put(", guard page below it); fiber spawned at ").put(f->spawn_file).put(":").dec(f->spawn_line)
      .put("\n").flush();
  out.put("weft: backtrace (innermost first):\n").flush();
  sig_backtrace();
  out.put("weft: raise the stack size with spawn_options::stack_size, config::stack_size or "
          "WEFT_STACK_SIZE\n").flush();
  std::abort();
}

void install_process_handler() {
  warm_backtrace();
  struct sigaction sa {};
  sa.sa_sigaction = &on_fault;
  sa.sa_flags = SA_SIGINFO | SA_ONSTACK;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGSEGV, &sa, &g_prev_segv);
  sigaction(SIGBUS, &sa, &g_prev_bus);
}

}  // namespace

void install_overflow_handler() noexcept {
  static std::once_flag once;
  std::call_once(once, install_process_handler);
  if (tl_alt.mem) return;
  const std::size_t want = 64 * 1024 + static_cast<std::size_t>(sysconf(_SC_SIGSTKSZ));
  stack_t cur{};
  if (sigaltstack(nullptr, &cur) == 0 && !(cur.ss_flags & SS_DISABLE) && cur.ss_size >= want / 2) return;
  void* mem = mmap(nullptr, want, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (mem == MAP_FAILED) return;  // no report on overflow, but nothing breaks
  stack_t ss{};
  ss.ss_sp = mem;
  ss.ss_size = want;
  if (sigaltstack(&ss, nullptr) != 0) {
    munmap(mem, want);
    return;
  }
  tl_alt.mem = mem;
  tl_alt.bytes = want;
}

}  // namespace weft::detail
