// runtime/process.hpp — what the runtime does about processes: the children
// a process started (for waits on any child), fork() (the child's
// scheduler), and the signal mask a new program inherits.
//
// Design notes
//  1. fork(): one set of pthread_atfork handlers, installed with the first
//     scheduler. The child handler runs in the child on the forking thread:
//     it forgets every other scheduler (their threads do not exist there),
//     empties the children list, and renews the forking thread's scheduler
//     (fresh epoll set and eventfd; scheduler::after_fork_child). The child
//     keeps only the forking fiber, as POSIX keeps only the calling thread:
//     the others are orphaned and never run there. (gevent's child goes on
//     with every greenlet; rejected: a child that parks would run copies of
//     the parent's fibers, which then do the parent's work twice and read
//     the parent's sockets.) If the forking fiber is not run()'s root, the
//     child ends with exit(0) once its fibers have ended, as a process does
//     when its last thread ends.
//  2. Carriers other than worker 0 block asynchronous signals
//     (os_thread.hpp). A program started from one (exec, posix_spawn, a
//     fork()ed child) must not inherit that: exec_mask() gives the mask a
//     program thread would have there.
#pragma once
#include <signal.h>
#include <sys/types.h>

#include <cstddef>

namespace weft::detail {

// fork_child() is the pthread_atfork child handler (note 1); rt calls it
// for a child made by _Fork. In the child only, on the forking thread.
void fork_child() noexcept;
// install_fork_handlers() registers the pthread_atfork handlers once.
// Any thread; idempotent.
void install_fork_handlers() noexcept;
// child_started()/child_reaped()/children(): the children this process
// started and no wait reaped yet (rt.hpp). Any thread.
void child_started(pid_t pid) noexcept;
void child_reaped(pid_t pid) noexcept;
std::size_t children(pid_t* out, std::size_t n) noexcept;

// exec_mask() stores the mask a program thread would have here (note 2):
// the provider's answer if one is set and has one, else the thread's mask
// with worker carriers' blocking undone.
void exec_mask(sigset_t* m) noexcept;
// set_mask_provider() installs fn, which gives the running fiber's own
// signal mask when it keeps one (weft-run's threads as fibers) and returns
// true, else false. Any thread; once, before fibers run.
void set_mask_provider(bool (*fn)(sigset_t*)) noexcept;

}  // namespace weft::detail
