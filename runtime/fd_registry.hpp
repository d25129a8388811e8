// runtime/fd_registry.hpp — the one table of what the runtime knows about
// each fd number.
//
// Design notes
//  1. Process-wide and indexed by fd number. Entries live in fixed chunks
//     made with mmap on first use and never freed, so any thread may read an
//     entry without a lock, at any time (even before constructors ran, and
//     from inside any libc call of the program).
//  2. `inc` is the fd number's incarnation: forget_fd() bumps it each time
//     the file under the number goes away (close, dup2/dup3 onto it,
//     close_range). Pollers store the incarnation they registered and carry
//     it in their kernel events; an older one is stale. It is the only
//     "a new file under this number" counter of the runtime.
//  3. `watchers` has one bit per scheduler slot (sched_registry.hpp) whose
//     poller registered this incarnation; forget_fd() tells those carriers.
//  4. `facts` is what is known of the file now under the number: its kind,
//     whether it is a byte stream, whether RWF_NOWAIT works on it, and the
//     O_NONBLOCK flag of its open file description as last read. Hooks that
//     create an fd state the facts; any other fd is learned at its first
//     operation (fstat, F_GETFL, getsockopt, as raw syscalls). forget_fd()
//     clears them. O_NONBLOCK and the socket timeouts belong to the open
//     file description (shared by dup'ed fds and by other processes), so a
//     change made through a hook bumps a process-wide epoch and every entry
//     learned under an older epoch reads them again at its next use.
//  5. The runtime never changes a file description's flags behind the
//     program's back: non-blocking attempts use per-call flags (io_op.hpp).
//  6. The runtime's own fds (epoll sets, eventfds, its pipes) are made only
//     when first needed and moved near the top of the fd range the program
//     may use (runtime_fd()), out of the way of "the lowest free number" and
//     of shells' own high fds; the hooks never close them for the program
//     (close, close_range, closefrom skip them; dup2 onto one fails).
#pragma once
#include <weft/detail/wait.hpp>

#include <atomic>
#include <cstdint>
#include <bit>

namespace weft::detail {

// What kind of file an fd is, as far as waiting goes.
enum class fd_kind : std::uint8_t {
  unknown,   // not learned yet
  file,      // regular file, directory, block device: never waits for readiness
  socket,    // a socket: per-call MSG_DONTWAIT / RWF_NOWAIT
  pipe,      // pipe or FIFO: per-call RWF_NOWAIT
  device,    // character device (tty, /dev/null...): poll first, then the plain call
  anon,      // eventfd, timerfd, signalfd, epoll, inotify, pidfd: pollable
};

// A snapshot of an entry's facts. Eight bytes, stored as one atomic word
// (fd_entry::facts, copied in and out with memcpy); all zero = unknown.
struct fd_facts {
  fd_kind kind = fd_kind::unknown;
  bool stream = false;     // a byte stream (pipe, FIFO, SOCK_STREAM): a short read emptied it
  bool nonblock = false;   // the description has O_NONBLOCK (the program set it)
  bool no_nowait = false;  // RWF_NOWAIT was refused: poll first, then the plain call
  bool seqpacket = false;  // a SOCK_SEQPACKET socket (write() sends with MSG_EOR)
  bool in_memory = false;  // a file of procfs, sysfs, tmpfs...: its plain call never waits for a disk
  std::uint8_t pad[2] = {};
  // pollable() is true when a blocking call on the fd can wait for readiness.
  bool pollable() const noexcept { return kind >= fd_kind::socket; }
};
static_assert(sizeof(fd_facts) == sizeof(std::uint64_t));

struct fd_entry {
  std::atomic<std::uint32_t> inc{0};        // incarnation (note 2)
  std::atomic<std::uint32_t> epoch{0};      // flags epoch the facts were read at
  std::atomic<std::uint64_t> facts{0};      // an fd_facts; 0 = unknown
  std::atomic<std::uint64_t> watchers{0};   // scheduler slots that registered inc
  std::atomic<std::int64_t> timeo_ns[2] = {0, 0};  // SO_RCVTIMEO, SO_SNDTIMEO; 0 = none
  std::atomic<std::uint32_t> busy{0};       // accept in progress on some carrier (io_attempt.cpp)
  std::atomic<bool> owned{false};           // the runtime's own fd (note 6)
};

constexpr int fd_chunk_bits = 10;
constexpr int fd_max_chunks = 4096;  // fds below 4M: beyond any RLIMIT_NOFILE Linux allows by default
extern std::atomic<fd_entry*> g_fd_chunks[fd_max_chunks];
extern std::atomic<std::uint32_t> g_flags_epoch;

// fd_lookup() is fd's entry if its chunk exists, else nullptr. Any thread.
inline fd_entry* fd_lookup(int fd) noexcept {
  if (static_cast<unsigned>(fd) >= unsigned(fd_max_chunks) << fd_chunk_bits) return nullptr;
  fd_entry* c = g_fd_chunks[fd >> fd_chunk_bits].load(std::memory_order_acquire);
  return c ? &c[fd & ((1 << fd_chunk_bits) - 1)] : nullptr;
}
// fd_at() is fd's entry, its chunk made if needed; nullptr for a negative
// or huge fd, or when memory is short. Any thread.
fd_entry* fd_at(int fd) noexcept;

// fd_incarnation() is fd's current incarnation (0 until first bumped).
// Any thread; one atomic load.
inline std::uint32_t fd_incarnation(int fd) noexcept {
  fd_entry* e = fd_lookup(fd);
  return e ? e->inc.load(std::memory_order_acquire) : 0;
}

// facts_of() returns fd's facts, learning them (or the description's flags,
// after an epoch change) with raw syscalls if needed. kind stays unknown
// for a bad fd. *entry (if asked) is the fd's entry, or nullptr. Any
// thread; keeps errno. The known, current case is inline: a lookup, two
// loads and a compare.
fd_facts learn_facts(int fd, fd_entry** entry) noexcept;
inline fd_facts facts_of(int fd, fd_entry** entry = nullptr) noexcept {
  fd_entry* e = fd_lookup(fd);
  if (__builtin_expect(e != nullptr, 1)) {
    std::uint64_t w = e->facts.load(std::memory_order_acquire);
    if (__builtin_expect(w != 0 && e->epoch.load(std::memory_order_relaxed) ==
                                       g_flags_epoch.load(std::memory_order_relaxed), 1)) {
      if (entry) *entry = e;
      return std::bit_cast<fd_facts>(w);
    }
  }
  return learn_facts(fd, entry);
}
// deadline_of() is now + e's SO_RCVTIMEO (readable) or SO_SNDTIMEO
// (writable), or no_deadline.
ns_t deadline_of(const fd_entry& e, bool writable) noexcept;
// fd_deadline() is now + fd's SO_RCVTIMEO (readable) or SO_SNDTIMEO
// (writable), or no_deadline. Call after facts_of(). Any thread.
ns_t fd_deadline(int fd, bool writable) noexcept;

// set_facts() records the facts of an fd a hook just created (socket,
// accept, pipe...): no timeouts, the current epoch. Any thread.
void set_facts(int fd, const fd_facts& f) noexcept;
// copy_facts() gives `to` what is known of `from` (dup and friends).
void copy_facts(int from, int to) noexcept;
// clear_facts() forgets the facts of fd (a new file may come under it).
void clear_facts(int fd) noexcept;
// note_no_nowait() records that RWF_NOWAIT does not work on fd.
void note_no_nowait(int fd) noexcept;
// runtime_fd() moves a new fd of the runtime's own to a high number (note 6),
// close-on-exec, and marks it; returns the new fd (fd itself if it cannot be
// moved). runtime_fd_closed() unmarks it before the runtime closes it.
// is_runtime_fd() says whether fd is one. runtime_fds() copies up to n of
// them, ascending, into out and returns how many there are. Any thread.
int runtime_fd(int fd) noexcept;
void runtime_fd_closed(int fd) noexcept;
bool is_runtime_fd(int fd) noexcept;
std::size_t runtime_fds(int* out, std::size_t n) noexcept;
// bump_flags_epoch() says O_NONBLOCK or a socket timeout of some
// description changed: every entry reads them again at its next use.
void bump_flags_epoch() noexcept;

}  // namespace weft::detail
