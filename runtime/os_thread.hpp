// runtime/os_thread.hpp — the runtime's own OS threads (worker carriers,
// offload pool threads).
//
// The runtime starts and joins its threads through libc's real
// pthread_create/pthread_join, found with dlsym(RTLD_NEXT), so that a
// preloaded pthread interposer (weft-run --threads=fibers) never turns a
// carrier into a fiber. Async signals are blocked on these threads: a
// process-directed signal then lands on the run() thread (worker 0), whose
// scheduler maps it onto the parked hooked call it interrupts.
#pragma once
#include <pthread.h>
#include <signal.h>

namespace weft::detail {

// start_os_thread() runs fn(arg) on a new OS thread with the listed async
// signals blocked; throws std::system_error on failure. Any thread.
pthread_t start_os_thread(void* (*fn)(void*), void* arg);
// join_os_thread() waits for a thread from start_os_thread(). Any thread.
void join_os_thread(pthread_t t) noexcept;
// detach_os_thread() detaches a thread from start_os_thread() (libc's real
// pthread_detach). Any thread.
void detach_os_thread(pthread_t t) noexcept;

// thread_sigmask() is pthread_sigmask as a raw syscall: the runtime's own
// mask changes never go through a preloaded interposer. Any thread.
int thread_sigmask(int how, const sigset_t* set, sigset_t* old) noexcept;

// async_signal_set() stores in *s the asynchronous signals those threads
// block. Any thread.
void async_signal_set(sigset_t* s) noexcept;
// on_runtime_thread() is true on a thread start_os_thread() started.
bool on_runtime_thread() noexcept;
// runtime_threads() is how many threads start_os_thread() started are
// running their function now (never more than exist; 0 in a fork()ed
// child until it starts its own). Any thread (deadlock.hpp).
int runtime_threads() noexcept;
// note_program_sigmask() records the calling thread's signal mask as the
// program's (run() does, on the thread that calls it); program_sigmask()
// is the last one recorded (empty before any). Any thread.
void note_program_sigmask() noexcept;
void program_sigmask(sigset_t* out) noexcept;

}  // namespace weft::detail
