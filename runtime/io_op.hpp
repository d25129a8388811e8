// runtime/io_op.hpp — one blocking-style I/O operation, described as data.
//
// The hooks describe the call they must make as an io_op and hand it to
// rt::perform() (rt.hpp), which runs it on the carrier's poller
// (poller::perform). The epoll backend makes one non-blocking attempt at a
// time (attempt() below) and parks on readiness between attempts; a
// completion backend can submit the same description as it is.
//
// Non-blocking attempts never touch the file description's flags, which
// other processes share: RWF_NOWAIT (preadv2/pwritev2 at offset -1) for
// read/write on pipes, sockets and eventfd-like files, MSG_DONTWAIT for the
// socket calls. Where no per-call flag exists:
//   * ttys and other character devices, and files refusing RWF_NOWAIT:
//     poll(2) with a zero timeout first, then the plain call;
//   * accept: the same, with the listener's entry marked busy across the
//     pair so that two carriers never both take the last connection;
//   * connect: O_NONBLOCK is set for the one connect() syscall and cleared
//     again before anything else runs; the handshake goes on in the kernel
//     and the fiber waits for writability (a socket being connected is not
//     in use anywhere else; the flag is never seen outside that syscall);
//   * sendfile: the same window around the one sendfile() syscall (the
//     socket or pipe written to blocks otherwise until all is sent).
#pragma once
#include "fd_registry.hpp"

#include <weft/io.hpp>

#include <sys/socket.h>
#include <sys/types.h>
#include <sys/uio.h>

#include <cstddef>

namespace weft::detail {

enum class op_code : std::uint8_t { read, write, recvfrom, sendto, recvmsg, sendmsg, accept, connect, sendfile, custom };

struct io_op {
  op_code code;
  int fd;
  int flags = 0;                 // recv*/send*: MSG_*; accept: SOCK_NONBLOCK | SOCK_CLOEXEC
  const iovec* iov = nullptr;    // read, write
  int iovcnt = 0;
  void* buf = nullptr;           // recvfrom, sendto
  std::size_t len = 0;
  msghdr* msg = nullptr;         // recvmsg, sendmsg
  sockaddr* addr = nullptr;      // recvfrom/accept: the peer's address goes here; sendto/connect: the address
  socklen_t* addrlen = nullptr;  // recvfrom, accept (in/out)
  socklen_t alen = 0;            // sendto, connect
  int in_fd = -1;                // sendfile: the file read from (fd is the one written, len the count)
  off_t* offset = nullptr;       // sendfile: where to read (nullptr: in_fd's file position)
  // custom: one attempt made by the caller; result or -errno, -EAGAIN when it
  // would block (blocking == false) — perform() then waits for `custom_dir`.
  ssize_t (*custom)(void* ctx, bool blocking) = nullptr;
  void* ctx = nullptr;
  io_event custom_dir = io_event::readable;
  // Set by attempt():
  bool connecting = false;  // connect: started; wait for writability, then read SO_ERROR
  bool backoff = false;     // -EAGAIN with no readiness to wait for (AF_UNIX connect to a full backlog)
};

// direction() is the readiness that lets op proceed.
inline io_event direction(const io_op& op) noexcept {
  switch (op.code) {
    case op_code::write:
    case op_code::sendto:
    case op_code::sendmsg:
    case op_code::sendfile:
    case op_code::connect: return io_event::writable;
    case op_code::custom: return op.custom_dir;
    default: return io_event::readable;
  }
}

// plain_read_size() is the byte count a plain read asks for (read, recv*
// without MSG_PEEK, MSG_OOB or MSG_WAITALL), else 0: on a byte stream a
// shorter result means the receive queue is now empty. One-buffer reads
// inline, the rest out of line.
std::size_t plain_read_size_slow(const io_op& op) noexcept;
inline std::size_t plain_read_size(const io_op& op) noexcept {
  if (op.code == op_code::read && op.iovcnt == 1) return op.iov[0].iov_len;
  return plain_read_size_slow(op);
}

// attempt() makes op once. blocking = false: without blocking (the strategies
// above), -EAGAIN if it would block; blocking = true: the plain call as the
// program asked (a non-blocking description, or a file that never waits).
// Returns the call's result or -errno; never changes errno. f may be
// updated (RWF_NOWAIT found refused). Any thread.
ssize_t attempt(io_op& op, fd_facts& f, bool blocking) noexcept;

}  // namespace weft::detail
