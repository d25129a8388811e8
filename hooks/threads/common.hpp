// hooks/threads/common.hpp — what every pthread hook of preload mode shares:
// whether threads become fibers, who is calling, the real libc functions,
// and time conversions.
//
// Preload mode only (libweft_preload.so); libweft.so never interposes
// pthread functions. With WEFT_THREADS=fibers (set by `weft-run
// --threads=fibers`) the hooks below act; otherwise every hook calls the real
// function. "On a fiber" means a fiber runs on this thread and is the one
// executing (not the scheduler's idle work, which runs on a parking fiber's
// stack with that fiber's state no longer `running`).
#pragma once
#include "libc_next.hpp"  // runtime/: WEFT_REAL
#include "rt.hpp"         // runtime/: the hooks' narrow API

#include <pthread.h>
#include <time.h>

#include <atomic>
#include <cstdint>

#define WEFT_HOOK extern "C" __attribute__((visibility("default")))

namespace weft::hooks::threads {

using rt::ns_t;

// fibers_mode() is true when pthreads become fibers (WEFT_THREADS=fibers);
// read once, callable anywhere (also before main).
bool fibers_mode() noexcept;

// current_fiber() is the fiber executing on this thread, or nullptr when
// the caller is a plain thread, run()'s own stack or scheduler idle work.
inline rt::fiber* current_fiber() noexcept { return rt::maybe_fiber() ? rt::self() : nullptr; }

// idle_path() is true in scheduler work that runs on a parking fiber's
// stack (timers, remote wake-ups, polling): such code must never park, so a
// contended lock spins there instead.
inline bool idle_path() noexcept { return rt::maybe_fiber() && rt::in_idle_work(); }

// owner_id() names the caller in a mutex's owner field: a fiber's negative
// id (never a kernel tid), or the thread's tid. Callable anywhere.
int owner_id() noexcept;

// deadline_from(clock, abstime) converts an absolute time on `clock`
// (CLOCK_REALTIME or CLOCK_MONOTONIC) to a monotonic deadline; -1 if the
// timespec is invalid (EINVAL).
ns_t deadline_from(clockid_t clock, const timespec* abstime) noexcept;

// caller_sigmask() stores the calling thread's signal mask: a thread
// fiber's own (sigmask_hooks.cpp), else the kernel's. Callable anywhere.
void caller_sigmask(sigset_t* m) noexcept;

// threads_after_fork_child() tells the thread hooks that only the forking
// thread exists now (the runtime keeps only the forking fiber). The
// pthread_atfork child handler only.
void threads_after_fork_child() noexcept;

// warn_once(flag, msg) prints "weft-run: msg" to stderr the first time.
void warn_once(std::atomic<bool>& flag, const char* msg) noexcept;

}  // namespace weft::hooks::threads
