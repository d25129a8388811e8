// runtime/process.hpp — what the runtime does about processes: the children
// a process started (for waits on any child), fork() (the child's
// scheduler), and the signal mask a new program inherits.
//
// Design notes
//  1. fork(): one set of pthread_atfork handlers, installed with the first
//     scheduler. The child handler runs in the child on the forking thread:
//     it forgets every other scheduler (their threads do not exist there),
//     empties the children list, and renews the forking thread's scheduler
//     (fresh epoll set and eventfd; scheduler::after_fork_child). What the
//     child keeps of the fibers is the fork policy: every fiber of the
//     forking carrier (the default, gevent's model: a fiber program forks
//     with its fibers), or only the forking fiber, as POSIX keeps only the
//     calling thread (weft-run --threads=fibers, where threads are fibers).
//  2. Carriers other than worker 0 block asynchronous signals
//     (os_thread.hpp). A program started from one (exec, posix_spawn, a
//     fork()ed child) must not inherit that: exec_mask() gives the mask a
//     program thread would have there.
#pragma once
#include <signal.h>
#include <sys/types.h>

#include <cstddef>

namespace weft::detail {

// install_fork_handlers() registers the pthread_atfork handlers once.
// Any thread; idempotent.
void install_fork_handlers() noexcept;
// set_fork_policy()/fork_keeps_only_caller(): note 1. Any thread.
void set_fork_policy(bool only_caller) noexcept;
bool fork_keeps_only_caller() noexcept;

// child_started()/child_reaped()/children(): the children this process
// started and no wait reaped yet (rt.hpp). Any thread.
void child_started(pid_t pid) noexcept;
void child_reaped(pid_t pid) noexcept;
std::size_t children(pid_t* out, std::size_t n) noexcept;

// exec_mask() stores the mask a program thread would have here (note 2).
void exec_mask(sigset_t* m) noexcept;

}  // namespace weft::detail
