// runtime/rt.hpp — the one narrow API the hooks (hooks/) call the runtime
// through. Hooks include this header and the public ones, nothing else of
// runtime/: they never read scheduler or fiber internals.
//
// Design notes
//  1. "On a fiber" means: a scheduler is bound to the thread, the context on
//     the CPU is a fiber (not run()'s own stack), it is executing (not the
//     scheduler's idle work, which runs on a parking fiber's stack), and the
//     thread is not a vfork()ed child borrowing its parent's memory. Only
//     then may a hook park. maybe_fiber() is the inline first test, a TLS
//     load, that lets the hot hooks pass straight through elsewhere.
//  2. A vfork child shares the parent's memory, TLS included. The hooks'
//     vfork() stub raises tl_vfork before the syscall and lowers it when the
//     parent resumes; while it is raised every rt call that would change
//     shared state (the fd registry, the pollers, the children list) does
//     nothing, and on_fiber() is false.
//  3. Blocking-style I/O goes through perform(): the hooks describe the
//     call (io_op.hpp); the runtime learns the fd, makes the plain call when
//     the fd cannot wait (a file, a non-blocking description), and otherwise
//     runs the operation on the carrier's poller.
#pragma once
#include "io_op.hpp"

#include <weft/detail/wait.hpp>
#include <weft/io.hpp>

#include <signal.h>
#include <sys/types.h>

#include <cstdint>

namespace weft::detail {
class scheduler;
struct fiber_ctl;
extern __attribute__((tls_model("initial-exec"))) thread_local scheduler* tl_sched;
}  // namespace weft::detail

namespace weft::rt {

using detail::direction;
using detail::fd_facts;
using detail::fd_kind;
using detail::io_op;
using detail::no_deadline;
using detail::now_ns;
using detail::ns_t;
using detail::op_code;
using detail::sig_mode;
using detail::wake;
using fiber = detail::fiber_ctl;  // opaque: a fiber handle for the hooks

// ---- where the caller runs ----------------------------------------------

// tl_vfork is > 0 while this thread is (or is the memory of) a vfork()ed
// child; raised and lowered only by the hooks' vfork stub, which reaches it
// by its assembler name.
extern __attribute__((tls_model("initial-exec"))) thread_local int tl_vfork asm("weft_tl_vfork");

// maybe_fiber() is false when no hook may park here for sure (no scheduler
// on this thread, or a vfork child): a TLS load. Callable anywhere.
inline bool maybe_fiber() noexcept { return detail::tl_sched != nullptr && tl_vfork == 0; }
// on_fiber() is true when the caller is a fiber that may park (note 1).
// Callable anywhere.
bool on_fiber() noexcept;
// in_idle_work() is true in scheduler work that runs on a parking fiber's
// stack (timers, wake-ups, polling): such code must never park.
bool in_idle_work() noexcept;
// in_vfork_child() is true in a vfork child (note 2). Callable anywhere.
inline bool in_vfork_child() noexcept { return tl_vfork != 0; }

// ---- the running fiber -----------------------------------------------------

// self() is the executing fiber, or nullptr when on_fiber() is false.
fiber* self() noexcept;
// id() is f's process-unique id.
std::uint64_t id(const fiber* f) noexcept;
// user_slot() is a pointer-sized slot in f that belongs to the hooks
// (hooks/threads keeps the pthread record there). f's own thread only.
void*& user_slot(fiber* f) noexcept;
// stack_of() gives f's stack: its lowest address and size.
void stack_of(const fiber* f, void** lo, std::size_t* size) noexcept;
// carriers() is the number of carrier threads of the caller's run (1 off a
// scheduler thread).
unsigned carriers() noexcept;
// yield() lets the other ready fibers of the carrier run; not a
// cancellation point. Fiber only.
void yield() noexcept;
// safe_point() lets the scheduler preempt a fiber that has held its carrier
// for 10 ms (scheduler::safe_point): for hooks of calls that do not wait
// and that busy loops make (sigaction, raise). Callable anywhere.
void safe_point() noexcept;

// ---- waiting ---------------------------------------------------------------

// park_fd() parks the running fiber until fd is ready for ev, the deadline
// passes, a weft::timeout / cancel ends the wait, or a caught signal does as
// `sig` says (`mask`: the call's own signal mask, ppoll-style). Fiber only.
wake park_fd(int fd, io_event ev, ns_t deadline, sig_mode sig = sig_mode::none, const sigset_t* mask = nullptr);
// park_until() parks the running fiber until the deadline; a caught signal
// ends it as `sig` says (sleeps and poll are never restarted). Fiber only.
wake park_until(ns_t deadline, const sigset_t* mask = nullptr, sig_mode sig = sig_mode::always);
// parks() counts the waits of park_fd, park_until and perform that parked
// a fiber (WEFT_HOOKS_STATS, tests).
unsigned long parks() noexcept;

// ---- blocking-style I/O ----------------------------------------------------

// How perform() may wait: the deadline, and whether a caught signal ends
// the wait. from_fd: the first perform() takes them from the socket's
// SO_RCVTIMEO / SO_SNDTIMEO (signal(7): a socket with a timeout is always
// interrupted) and clears the flag, so that every round of one call (a full
// write) keeps the deadline of its start.
struct io_wait {
  ns_t deadline = detail::no_deadline;
  sig_mode sig = sig_mode::restartable;
  bool from_fd = true;
};
// perform()'s outcome: ended == notified when the operation ran (value: its
// result, or -errno), else why the wait ended first. single: the fd cannot
// wait (a file, a non-blocking description, a bad fd) and the plain call
// was made once; the caller must not retry it.
struct io_call {
  ssize_t value = 0;
  wake ended = wake::notified;
  bool single = false;
};
// perform() runs op as a blocking call would, parking the running fiber
// while it cannot proceed. Fiber only.
io_call perform(io_op& op, io_wait& w);

// ---- regular files and other calls that block the thread ---------------------
//
// perform() makes read/write of a regular file through the page cache
// without blocking (RWF_NOWAIT) and, on a miss, on the carrier's io_uring
// (backend uring) or the offload pool while the fiber waits
// (runtime/file_io.cpp). These two are for the hooks of calls perform()
// does not describe.

// file_pio() is pread/pwrite (pos >= 0) of a regular file the same way:
// returns the count or -errno. Fiber only.
ssize_t file_pio(int fd, const iovec* iov, int n, off_t pos, bool write) noexcept;
// file_sync() is fsync (which 0), fdatasync (1) or sync_file_range (2, with
// off/len/flags) of a regular file: on the carrier's io_uring where the
// backend is uring, else on the offload pool, while the calling fiber waits,
// not interruptibly. Returns the result or -errno. Fiber only.
long file_sync(int fd, int which, off_t off = 0, off_t len = 0, unsigned flags = 0) noexcept;

// ---- what is known about fds -------------------------------------------------

// facts() is what is known of fd, learned if needed. Any thread.
fd_facts facts(int fd) noexcept;
// deadline() is now + fd's SO_RCVTIMEO (writable: SO_SNDTIMEO), or none.
ns_t deadline(int fd, bool writable) noexcept;
// fd_created() records an fd a hook just made. Any thread.
void fd_created(int fd, fd_kind kind, bool stream, bool nonblock, bool seqpacket = false) noexcept;
// fd_forgotten() says a new file is under fd, of which nothing is known yet
// (learned at its first use). Any thread.
void fd_forgotten(int fd) noexcept;
// fd_closing() is called before fd is closed or replaced: fibers waiting on
// it wake with `closed` (EBADF) on every carrier, and nothing stays known
// about the number. Any thread; keeps errno.
void fd_closing(int fd) noexcept;
// fd_copied() gives `to` what is known of `from` (dup, dup2, F_DUPFD...).
void fd_copied(int from, int to) noexcept;
// weft_fd() is true for an fd of weft's own (epoll sets, eventfds...): the
// hooks never close it for the program. own_fd() moves a new fd the hooks
// keep for themselves to weft's high range and marks it (returns the new
// number); disown_fd() unmarks it before the hooks close it. weft_fds()
// copies up to n of them, ascending, and returns how many there are.
bool weft_fd(int fd) noexcept;
int own_fd(int fd) noexcept;
void disown_fd(int fd) noexcept;
std::size_t weft_fds(int* out, std::size_t n) noexcept;
// flags_changed() says the program changed O_NONBLOCK or a socket timeout
// of some description (F_SETFL, FIONBIO, setsockopt): re-read at next use.
void flags_changed() noexcept;

// ---- processes -----------------------------------------------------------------

// child_started() records a child this process created (fork, vfork,
// posix_spawn...), so that waits for any child can watch it. Any thread.
void child_started(pid_t pid) noexcept;
// child_reaped() forgets a child a wait reaped. Any thread.
void child_reaped(pid_t pid) noexcept;
// after_fork_child() runs the runtime's fork-child handling, for a child
// made without the atfork handlers (_Fork). In that child only.
void after_fork_child() noexcept;
// children() copies up to n tracked children into out; returns how many
// are tracked. Any thread.
std::size_t children(pid_t* out, std::size_t n) noexcept;
// exec_sigmask() stores in *m the signal mask a program thread would have
// here: the calling thread's mask, except that the asynchronous signals the
// runtime blocks on worker carriers come from the mask the program had when
// run() began. For exec and posix_spawn, whose new program inherits the mask.
void exec_sigmask(sigset_t* m) noexcept;
// set_sigmask_provider() lets the hooks say what the running fiber's own
// signal mask is, when they keep one per fiber (threads as fibers): fn
// stores it and returns true, or returns false (the carrier's mask is the
// fiber's). Used by exec_sigmask(). Once, before fibers run.
void set_sigmask_provider(bool (*fn)(sigset_t*)) noexcept;
// real_sigmask() is the calling thread's mask as the kernel has it.
void real_sigmask(sigset_t* m) noexcept;
// apply_sigmask() sets the calling thread's mask in the kernel (raw).
void apply_sigmask(const sigset_t* m) noexcept;

// ---- reports -----------------------------------------------------------------

// log() writes text where weft's own reports go (WEFT_LOG, else stderr;
// runtime/log.hpp). Async-signal-safe once the runtime ran. Any thread.
void log(const char* text) noexcept;

// ---- signals -----------------------------------------------------------------

// signal_caught(), kill_fiber(), runtime_sigaction(): runtime/signals.hpp.
void signal_caught(int sig, bool restart) noexcept;
int kill_fiber(fiber* f, int sig) noexcept;
int runtime_sigaction(int sig, const struct sigaction* act, struct sigaction* old) noexcept;

}  // namespace weft::rt
