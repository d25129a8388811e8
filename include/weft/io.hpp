// weft/io.hpp — waiting for file descriptors from fibers.
//
// wait_readable/wait_writable park the calling fiber until the fd is ready
// (as seen by the scheduler's poller) — the building block under the hooks.
// Readiness is a hint: retry the non-blocking call and wait again on EAGAIN.
// On a plain thread they block in poll(2).
#pragma once
#include <weft/detail/export.hpp>
#include <weft/detail/wait.hpp>

#include <chrono>

namespace weft {

enum class io_event : unsigned char { readable, writable };

namespace detail {
// wait_fd() parks until fd is ready for ev or the deadline passes; returns
// the reason. `closed` means weft::close_fd() closed it meanwhile. `sig`
// and `sigmask` (a sigset_t*) are for the hooks: whether a caught signal
// ends the wait with `interrupted`, and the signal mask while parked.
WEFT_API wake wait_fd(int fd, io_event ev, ns_t deadline, sig_mode sig = sig_mode::none,
                      const void* sigmask = nullptr);
}  // namespace detail

// wait_io(fd, ev) waits without a deadline of its own. Throws
// std::system_error(EBADF) if the fd is closed through close_fd() meanwhile,
// weft::cancelled / weft::timed_out at cancellation or scope expiry.
WEFT_API void wait_io(int fd, io_event ev);

// wait_io_for(fd, ev, d) is wait_io with a deadline; false when it passes.
template <class Rep, class Period>
bool wait_io_for(int fd, io_event ev, std::chrono::duration<Rep, Period> d);

WEFT_API bool wait_io_until_ns(int fd, io_event ev, detail::ns_t deadline);

template <class Rep, class Period>
bool wait_io_for(int fd, io_event ev, std::chrono::duration<Rep, Period> d) {
  return wait_io_until_ns(fd, ev, detail::deadline_after(d));
}

// close_fd(fd) wakes every fiber of this thread's scheduler waiting on fd
// (they see EBADF), forgets the poller's state for it, then closes it.
// Returns close(2)'s result.
WEFT_API int close_fd(int fd) noexcept;

}  // namespace weft
