// hooks/fd_table.hpp — what the hooks know about each file descriptor.
//
// Only sockets and pipes/FIFOs are "managed": on a fiber the hooks make the
// real fd non-blocking and park on EAGAIN. Per fd they keep the user's own
// view of O_NONBLOCK (SOCK_NONBLOCK, accept4/pipe2 flags, F_SETFL, FIONBIO),
// whether the hooks set O_NONBLOCK on the real fd, and SO_RCVTIMEO /
// SO_SNDTIMEO. Fds not created through a hook are learned (fstat, F_GETFL,
// getsockopt) at their first hooked call on a fiber; inherited fds 0-2 are
// left alone (shared with other processes, written by stdio unhooked).
//
// Entries are atomics in fixed chunks that are never freed, so lookups take
// no lock; fds >= max_fd are never managed (they pass straight through).
#pragma once
#include <weft/detail/wait.hpp>
#include <weft/io.hpp>

#include <atomic>
#include <cstdint>

namespace weft::hooks {

// Bits of fd_entry::bits.
inline constexpr std::uint32_t fd_known = 1;    // describes the fd now open under this number
inline constexpr std::uint32_t fd_managed = 2;  // a socket or pipe/FIFO
inline constexpr std::uint32_t fd_user_nb = 4;  // the user asked for O_NONBLOCK
inline constexpr std::uint32_t fd_real_nb = 8;  // the hooks set O_NONBLOCK on the real fd
inline constexpr std::uint32_t fd_socket = 16;  // a socket (has SO_RCVTIMEO/SO_SNDTIMEO)
inline constexpr std::uint32_t fd_stream = 32;  // a byte stream (pipe, FIFO, SOCK_STREAM): a short read drained it

struct fd_entry {
  std::atomic<std::uint32_t> bits{0};
  std::atomic<std::int64_t> timeo_ns[2] = {0, 0};  // SO_RCVTIMEO, SO_SNDTIMEO; 0 = none

  // emulating() is true when a blocking call on this fd must be emulated:
  // the user wants blocking I/O but the real fd is non-blocking.
  bool emulating() const noexcept {
    return (bits.load(std::memory_order_relaxed) & (fd_managed | fd_user_nb | fd_real_nb)) ==
           (fd_managed | fd_real_nb);
  }
  bool has(std::uint32_t b) const noexcept { return bits.load(std::memory_order_relaxed) & b; }
  void set(std::uint32_t b, bool on) noexcept {
    if (on) bits.fetch_or(b, std::memory_order_relaxed);
    else bits.fetch_and(~b, std::memory_order_relaxed);
  }
  // deadline() is now + the SO_RCVTIMEO (readable) / SO_SNDTIMEO (writable)
  // of the fd, or no_deadline.
  detail::ns_t deadline(io_event ev) const noexcept;
};

class fd_table {
 public:
  static constexpr int chunk_bits = 10;
  static constexpr int chunk_count = 1024;
  static constexpr int max_fd = chunk_count << chunk_bits;

  // peek() is fd's entry if one was ever made, else nullptr. Any thread.
  fd_entry* peek(int fd) const noexcept {
    if (static_cast<unsigned>(fd) >= static_cast<unsigned>(max_fd)) return nullptr;
    fd_entry* c = chunks_[fd >> chunk_bits].load(std::memory_order_acquire);
    return c ? &c[fd & ((1 << chunk_bits) - 1)] : nullptr;
  }
  // at() is fd's entry, made if needed; nullptr if fd is out of range or
  // memory is short. Any thread.
  fd_entry* at(int fd) noexcept;
  // created() records an fd a hook just created: managed, a socket or not,
  // a byte stream or not, the user's O_NONBLOCK, whether the real fd is
  // non-blocking, no timeouts. Only an fd the hooks made non-blocking
  // behind the user's back gets an entry; any other starts unknown (and is
  // learned at its first use on a fiber).
  void created(int fd, bool socket, bool stream, bool user_nb, bool real_nb) noexcept;
  // forget() drops what is known about fd (it is being closed).
  void forget(int fd) noexcept;
  // copy() gives `to` the state of `from` (dup, dup2, dup3, F_DUPFD).
  void copy(int from, int to) noexcept;

 private:
  std::atomic<fd_entry*> chunks_[chunk_count];
};

// The process-wide table (constant-initialised: usable before constructors).
extern fd_table fds;

// prepare() readies fd for a hooked blocking call on a fiber: learns it if
// unknown, and sets O_NONBLOCK on a managed fd the user wants blocking.
// Returns the entry to emulate blocking with, or nullptr when the call must
// simply pass through (regular file, user non-blocking, bad fd).
fd_entry* prepare(int fd) noexcept;

}  // namespace weft::hooks
