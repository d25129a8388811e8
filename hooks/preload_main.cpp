// hooks/preload_main.cpp — what only libweft_preload.so adds to the hooks:
// the program's main() runs as the root fiber of a weft scheduler.
//
// It interposes __libc_start_main (every dynamically linked glibc program
// starts through it) and hands libc a main that wraps the real one in
// weft::run. The root fiber gets a stack as large as the thread's
// RLIMIT_STACK (8 MiB by default; lazily committed), since an unmodified
// program expects a thread-sized stack. With WEFT_HOOKS_STATS set, the
// number of fiber parks is printed to stderr when main returns or exit()
// is called.
//
// The carriers come from weft::detail::run_scope (worker 0 on this thread,
// WEFT_WORKERS-1 more), which keeps its scheduler behind a raw pointer: a
// program that calls exit() inside main runs libc's exit handlers on the
// root fiber without destroying the scheduler it is still running on. At
// exit the carriers are simply left to the kernel.
//
// With WEFT_THREADS=fibers (weft-run --threads=fibers) pthreads become
// fibers (hooks/threads/): fibers get 256 KiB stacks by default (a thread
// expects more than weft's 64 KiB; WEFT_STACK_SIZE still overrides), and
// when main returns the root fiber calls exit() itself, as libc would, so
// the other threads end with the process instead of being cancelled.
#include "hook_core.hpp"
#include "threads/common.hpp"

#include <weft/errors.hpp>
#include <weft/run.hpp>

#include <dlfcn.h>
#include <sys/resource.h>

#include <stdio.h>

#include <cstdio>
#include <cstdlib>

namespace {

using main_fn = int (*)(int, char**, char**);
using start_fn = int (*)(main_fn, int, char**, void (*)(), void (*)(), void (*)(), void*);

main_fn g_main = nullptr;

// root_stack() is the root fiber's stack size: RLIMIT_STACK, clamped to
// [64 KiB, 1 GiB]; 8 MiB if unlimited.
std::size_t root_stack() noexcept {
  rlimit rl{};
  if (getrlimit(RLIMIT_STACK, &rl) != 0 || rl.rlim_cur == RLIM_INFINITY) return std::size_t(8) << 20;
  std::size_t n = static_cast<std::size_t>(rl.rlim_cur);
  if (n < (std::size_t(64) << 10)) n = std::size_t(64) << 10;
  if (n > (std::size_t(1) << 30)) n = std::size_t(1) << 30;
  return n;
}

// print_stats() writes the park count to fd 2, once (WEFT_HOOKS_STATS).
void print_stats() {
  static bool done = false;
  if (done || !std::getenv("WEFT_HOOKS_STATS")) return;
  done = true;
  dprintf(2, "weft-hooks: parks=%lu\n", weft::rt::parks());
}

// fiber_main() is the main libc calls: run the real one as fiber "main".
int fiber_main(int argc, char** argv, char** envp) {
  std::atexit(print_stats);  // for programs that call exit()
  int status;
  try {
    bool threads = weft::hooks::threads::fibers_mode();
    weft::config cfg;
    if (threads) cfg.stack_size = std::size_t(256) << 10;
    weft::detail::run_scope scope(cfg);  // worker 0 here, plus WEFT_WORKERS-1 carriers
    auto f = weft::spawn(weft::spawn_options{.name = "main", .stack_size = root_stack()}, [&] {
      int r = g_main(argc, argv, envp);
      if (threads) std::exit(r);  // other threads end with the process, as under libc
      return r;
    });
    status = f.join();
  } catch (const weft::usage_error& e) {
    std::fprintf(stderr, "weft-run: %s\n", e.what());
    return 127;
  }
  print_stats();  // before the program's own exit handlers (which may close stderr)
  return status;
}

}  // namespace

WEFT_HOOK int __libc_start_main(main_fn main, int argc, char** argv, void (*init)(), void (*fini)(),
                                void (*rtld_fini)(), void* stack_end) {
  auto next = reinterpret_cast<start_fn>(dlsym(RTLD_NEXT, "__libc_start_main"));
  if (!next) {
    std::fputs("weft-run: cannot find the real __libc_start_main\n", stderr);
    std::abort();
  }
  g_main = main;
  return next(fiber_main, argc, argv, init, fini, rtld_fini, stack_end);
}
