// hooks/hook_core.hpp — what every hook shares: the WEFT_HOOK marker, the
// real libc functions (WEFT_REAL), and the one driver of blocking-style
// calls on top of the runtime's rt::perform().
//
// A hook acts only when it runs on a fiber (rt::on_fiber()). Anywhere else
// it calls libc at once: the hooks never change a file description's flags,
// so off a fiber the kernel already behaves as the program asked.
#pragma once
#include "libc_next.hpp"  // runtime/: WEFT_REAL
#include "rt.hpp"         // runtime/: the hooks' narrow API

#include <cerrno>
#include <cstddef>
#include <sys/types.h>
#include <sys/uio.h>

#include <vector>

// WEFT_HOOK marks a definition that interposes a libc symbol.
#define WEFT_HOOK extern "C" __attribute__((visibility("default")))

namespace weft::hooks {

using rt::ns_t;
using rt::sig_mode;
using rt::wake;

// wake_errno() is the errno of a wait that ended without the operation
// running: closed -> EBADF, own deadline -> expiry, weft::timeout ->
// ETIMEDOUT, cancel -> ECANCELED, caught signal -> EINTR.
int wake_errno(wake r, int expiry) noexcept;

// parks() counts the hooked waits that parked a fiber (tests,
// WEFT_HOOKS_STATS).
unsigned long parks() noexcept;

// iov_rest is a copy of an iovec array that can drop bytes from its front:
// the rest of a transfer after partial progress.
struct iov_rest {
  std::vector<iovec> v;
  // from() copies iov[0..n) without its first `skip` bytes.
  void from(const iovec* iov, std::size_t n, std::size_t skip);
};

// total() sums the iovec lengths.
inline std::size_t total(const iovec* iov, std::size_t n) noexcept {
  std::size_t t = 0;
  for (std::size_t i = 0; i < n; ++i) t += iov[i].iov_len;
  return t;
}

// blocking_call() runs one blocking-style I/O call on a fiber through
// rt::perform, with the semantics of the blocking call:
//   want > 0 asks for a full transfer (blocking write, MSG_WAITALL on a
//     stream socket): it continues until `want` bytes moved, calling
//     next(op, done) to point op at the rest, and returns the partial count
//     if it fails, times out or is interrupted after some progress;
//   the deadline is the socket's SO_RCVTIMEO / SO_SNDTIMEO at the start
//     (rt::io_wait); when it passes the call fails with again_errno
//     (EAGAIN; connect: EINPROGRESS);
//   signal(7): a caught signal without SA_RESTART ends the wait with EINTR,
//     and always does when the socket has a timeout.
// errno is what the plain call would set; success leaves it untouched.
// Fiber only.
template <class Next>
ssize_t blocking_call(rt::io_op& op, std::size_t want, int again_errno, Next&& next) {
  int saved = errno;
  rt::io_wait w;  // deadline and signal rule from the fd, at the first perform
  std::size_t done = 0;
  for (;;) {
    rt::io_call r = rt::perform(op, w);
    if (r.ended != wake::notified || r.value < 0) {
      if (done) break;
      errno = r.ended != wake::notified ? wake_errno(r.ended, again_errno) : static_cast<int>(-r.value);
      return -1;
    }
    if (want == 0) {
      errno = saved;
      return r.value;
    }
    done += static_cast<std::size_t>(r.value);
    if (r.value == 0 || done >= want || r.single) break;
    next(op, done);
  }
  errno = saved;
  return static_cast<ssize_t>(done);
}

// blocking_call() without a full transfer.
inline ssize_t blocking_call(rt::io_op& op, int again_errno = EAGAIN) {
  return blocking_call(op, 0, again_errno, [](rt::io_op&, std::size_t) {});
}

}  // namespace weft::hooks
