// hooks/sendfile_hooks.cpp — sendfile and sendfile64 (the same function on
// x86-64) on fibers: they move everything like the blocking call, parked
// while the socket or pipe written to is full; *offset (or in_fd's file
// position) is advanced by the kernel. The attempt is io_op's sendfile
// (O_NONBLOCK for the one syscall: there is no per-call flag).

// sendfile and sendfile64 are separate symbols; without this, the header
// renames sendfile to sendfile64 (meson builds with _FILE_OFFSET_BITS=64).
#undef _FILE_OFFSET_BITS
#include "hook_core.hpp"

#include <sys/sendfile.h>

namespace rt = weft::rt;

namespace {

// fiber_sendfile() is sendfile on a fiber, blocking-style.
ssize_t fiber_sendfile(int out, int in, off_t* offset, size_t count) {
  rt::io_op op{.code = rt::op_code::sendfile, .fd = out, .len = count, .in_fd = in, .offset = offset};
  return weft::hooks::blocking_call(op, count, EAGAIN, [&](rt::io_op& o, std::size_t done) { o.len = count - done; });
}

bool parks_here() noexcept { return rt::maybe_fiber() && rt::on_fiber(); }

}  // namespace

WEFT_HOOK ssize_t sendfile(int out, int in, off_t* offset, size_t count) {
  if (!parks_here()) return WEFT_REAL(sendfile)(out, in, offset, count);
  return fiber_sendfile(out, in, offset, count);
}

WEFT_HOOK ssize_t sendfile64(int out, int in, off_t* offset, size_t count) {
  if (!parks_here()) return WEFT_REAL_AS(ssize_t (*)(int, int, off_t*, size_t), "sendfile64")(out, in, offset, count);
  return fiber_sendfile(out, in, offset, count);
}
