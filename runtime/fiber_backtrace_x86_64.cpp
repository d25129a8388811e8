// runtime/fiber_backtrace_x86_64.cpp — unwinding a suspended fiber from its
// saved fcontext (x86-64 System V layout of Boost.Context's jump_fcontext).
// See fiber_backtrace.hpp.
#include "fiber_backtrace.hpp"

#include "fiber_ctl.hpp"

#include <cxxabi.h>
#include <dlfcn.h>
#include <ucontext.h>

#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <mutex>

namespace weft::detail {
namespace {

// The part of libunwind's x86-64 ABI we use (libunwind-x86_64.h, 1.x).
using unw_word_t = std::uint64_t;
struct unw_cursor_t {
  unw_word_t opaque[127];
};
constexpr int unw_reg_ip = 16;  // UNW_X86_64_RIP
using init_local_fn = int (*)(unw_cursor_t*, ucontext_t*);
using step_fn = int (*)(unw_cursor_t*);
using get_reg_fn = int (*)(unw_cursor_t*, int, unw_word_t*);
using get_proc_name_fn = int (*)(unw_cursor_t*, char*, std::size_t, unw_word_t*);

struct libunwind {
  init_local_fn init_local = nullptr;
  step_fn step = nullptr;
  get_reg_fn get_reg = nullptr;
  get_proc_name_fn get_proc_name = nullptr;
};

// unwinder() loads libunwind once; its members are null if that failed.
const libunwind& unwinder() {
  static libunwind lu;
  static std::once_flag once;
  std::call_once(once, [] {
    void* h = dlopen("libunwind.so.8", RTLD_LAZY | RTLD_LOCAL);
    if (!h) return;
    libunwind l;
    l.init_local = reinterpret_cast<init_local_fn>(dlsym(h, "_ULx86_64_init_local"));
    l.step = reinterpret_cast<step_fn>(dlsym(h, "_ULx86_64_step"));
    l.get_reg = reinterpret_cast<get_reg_fn>(dlsym(h, "_ULx86_64_get_reg"));
    l.get_proc_name = reinterpret_cast<get_proc_name_fn>(dlsym(h, "_ULx86_64_get_proc_name"));
    if (l.init_local && l.step && l.get_reg && l.get_proc_name) lu = l;
  });
  return lu;
}

// Slots jump_fcontext pushes below the saved stack pointer (Boost 1.74+).
enum fctx_slot { mxcsr_fpu, r12, r13, r14, r15, rbx, rbp, rip, after };

// context_of() builds the registers the fiber will resume with.
void context_of(const fiber_ctl* f, ucontext_t* uc) {
  std::memset(uc, 0, sizeof *uc);
  const auto* s = static_cast<const std::uint64_t*>(f->fctx);
  greg_t* g = uc->uc_mcontext.gregs;
  g[REG_R12] = static_cast<greg_t>(s[r12]);
  g[REG_R13] = static_cast<greg_t>(s[r13]);
  g[REG_R14] = static_cast<greg_t>(s[r14]);
  g[REG_R15] = static_cast<greg_t>(s[r15]);
  g[REG_RBX] = static_cast<greg_t>(s[rbx]);
  g[REG_RBP] = static_cast<greg_t>(s[rbp]);
  g[REG_RIP] = static_cast<greg_t>(s[rip]);
  g[REG_RSP] = static_cast<greg_t>(reinterpret_cast<std::uintptr_t>(s + after));
}

// write_frame() prints "#n 0xpc name+off (object)".
void write_frame(std::ostream& os, const char* indent, int n, unw_word_t pc, const char* mangled,
                 unw_word_t off) {
  os << indent << "#" << n << " 0x" << std::hex << pc << std::dec << " ";
  if (*mangled) {
    int st = 0;
    char* d = abi::__cxa_demangle(mangled, nullptr, nullptr, &st);
    os << (st == 0 && d ? d : mangled) << "+" << off;
    std::free(d);
  } else {
    os << "??";
  }
  Dl_info di;
  if (dladdr(reinterpret_cast<void*>(pc), &di) && di.dli_fname) {
    const char* base = std::strrchr(di.dli_fname, '/');
    os << " (" << (base ? base + 1 : di.dli_fname) << ")";
  }
  os << "\n";
}

}  // namespace

void write_saved_backtrace(std::ostream& os, const fiber_ctl* f, const char* indent) {
  if (f->state == fiber_state::running || f->state == fiber_state::created || !f->fctx) {
    os << indent << "(no saved context: " << state_name(f->state) << ")\n";
    return;
  }
  const libunwind& lu = unwinder();
  if (!lu.init_local) {
    os << indent << "(backtrace unavailable: libunwind.so.8 could not be loaded)\n";
    return;
  }
  ucontext_t uc;
  context_of(f, &uc);
  unw_cursor_t cur;
  if (lu.init_local(&cur, &uc) < 0) {
    os << indent << "(backtrace unavailable: libunwind refused the saved context)\n";
    return;
  }
  constexpr int max_frames = 48;
  int n = 0;
  do {
    unw_word_t pc = 0, off = 0;
    if (lu.get_reg(&cur, unw_reg_ip, &pc) < 0 || pc == 0) break;
    char name[512];
    if (lu.get_proc_name(&cur, name, sizeof name, &off) < 0) name[0] = '\0';
    write_frame(os, indent, n, pc, name, off);
  } while (++n < max_frames && lu.step(&cur) > 0);
  if (n == max_frames) os << indent << "...\n";
}

}  // namespace weft::detail
