// hooks/hook_core.hpp — the one try / park / retry path of every hooked call.
//
// A hook acts only when it runs on a fiber (a scheduler is bound to the
// thread and the running context is not run()'s own stack). Off a fiber it
// calls libc straight away, unless a fiber already made the fd non-blocking
// behind the user's back: then hooked_io emulates the blocking call with a
// real poll(2), so the fd keeps its blocking behaviour on every thread.
#pragma once
#include "fd_table.hpp"
#include "real.hpp"
#include "scheduler.hpp"  // runtime/: tl_sched, scheduler::io(), block_local

#include <cerrno>
#include <cstddef>
#include <sys/types.h>

// WEFT_HOOK marks a definition that interposes a libc symbol.
#define WEFT_HOOK extern "C" __attribute__((visibility("default")))

namespace weft::hooks {

using detail::ns_t;

// fiber_sched() is the calling thread's scheduler while a fiber runs on it,
// else nullptr. Callable anywhere; a TLS load and, on a scheduler thread, a
// field load.
inline detail::scheduler* fiber_sched() noexcept {
  detail::scheduler* s = detail::tl_sched;
  if (__builtin_expect(s == nullptr, 1)) return nullptr;
  return s->running()->is_main_ctx ? nullptr : s;
}

// passthrough() is true when a call on fd can go straight to libc: no
// fiber runs on this thread and weft never made fd non-blocking behind the
// user's back. The hot hooks test it first, before building their retry
// closure, so that such a call costs a TLS load and a table lookup.
inline bool passthrough(int fd) noexcept {
  if (__builtin_expect(detail::tl_sched != nullptr, 0)) return false;
  fd_entry* e = fds.peek(fd);
  return !e || !e->emulating();
}

// wake_errno() is the errno of a wait that ended without readiness:
// closed -> EBADF, own deadline -> expiry, weft::timeout -> ETIMEDOUT,
// cancel -> ECANCELED, caught signal -> EINTR.
int wake_errno(detail::wake r, int expiry) noexcept;

using detail::sig_mode;

// park_fd() parks the running fiber until fd is ready for ev (or the
// deadline / a weft::timeout / a cancel ends the wait, or a caught signal
// as `sig` says; `sigmask` is the call's own signal mask, if it has one).
// Fiber only.
detail::wake park_fd(int fd, io_event ev, ns_t deadline, sig_mode sig = sig_mode::none,
                     const sigset_t* sigmask = nullptr);
// park_until() parks the running fiber until the deadline; a caught signal
// ends it too (sleeps and poll are never restarted). Fiber only.
detail::wake park_until(ns_t deadline, const sigset_t* sigmask = nullptr);

// parks() counts the waits that parked a fiber (tests, WEFT_HOOKS_STATS).
unsigned long parks() noexcept;

// hooked_io() runs one blocking-style I/O call.
//   attempt(done) makes the real, non-blocking call and returns its result
//     (-1 with errno on failure); `done` is the byte count already moved.
//   again_errno is the errno meaning "would block" (EAGAIN, or EINPROGRESS
//     for connect); it is also the errno when SO_RCVTIMEO/SO_SNDTIMEO pass.
//   want > 0 asks for a full transfer (blocking write, MSG_WAITALL): the
//     call continues until `want` bytes moved, and returns the partial count
//     if it fails or times out after some progress.
//   ask > 0 is the byte count of a plain read (read, readv, recv without
//     MSG_PEEK...). On a byte stream (pipe, FIFO, SOCK_STREAM) a read that
//     returns less than asked emptied the receive queue: the poller marks
//     the fd drained, and the next read parks first, until an input edge,
//     instead of making a syscall that would fail with EAGAIN. The edge is
//     certain: every arrival after the short read raises one.
// Callable anywhere; parks only on a fiber.
template <class F>
ssize_t hooked_io(int fd, io_event ev, F&& attempt, std::size_t want = 0, int again_errno = EAGAIN,
                  std::size_t ask = 0) {
  detail::scheduler* s = fiber_sched();
  fd_entry* e;
  if (__builtin_expect(s == nullptr, 1)) {
    e = fds.peek(fd);
    if (__builtin_expect(!e || !e->emulating(), 1)) return attempt(std::size_t{0});
  } else {
    e = prepare(fd);
    if (!e) return attempt(std::size_t{0});
  }
  int saved = errno;
  ns_t deadline = detail::no_deadline;
  bool have_deadline = false;
  std::size_t done = 0;
  bool stream_read = s && ask && e->has(fd_stream);
  bool try_first = !stream_read || !s->io().drained(fd);
  for (;;) {
    ssize_t r;
    if (__builtin_expect(try_first, 1)) {
      r = attempt(done);
    } else {
      r = -1;  // drained: park before the first try
      errno = again_errno;
      try_first = true;
    }
    if (r >= 0) {
      if (want == 0) {
        if (stream_read && r > 0 && static_cast<std::size_t>(r) < ask) s->io().note_drained(fd);
        errno = saved;
        return r;
      }
      done += static_cast<std::size_t>(r);
      if (r == 0 || done >= want) break;
      continue;
    }
    if (errno != again_errno) {
      if (done) break;
      return -1;
    }
    if (!have_deadline) {
      deadline = e->deadline(ev);
      have_deadline = true;
    }
    // signal(7): a socket call with SO_RCVTIMEO/SO_SNDTIMEO set always
    // fails with EINTR; otherwise SA_RESTART restarts it.
    sig_mode sm = deadline == detail::no_deadline ? sig_mode::restartable : sig_mode::always;
    detail::wake w = s ? park_fd(fd, ev, deadline, sm) : detail::wait_fd(fd, ev, deadline, sm);
    if (w == detail::wake::notified) continue;
    if (done) break;
    errno = wake_errno(w, again_errno);
    return -1;
  }
  errno = saved;
  return static_cast<ssize_t>(done);
}

}  // namespace weft::hooks
