// hooks/fd_table.cpp — the per-fd state table and learning unknown fds.
#include "fd_table.hpp"

#include "real.hpp"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include <cerrno>

namespace weft::hooks {

constinit fd_table fds{};

detail::ns_t fd_entry::deadline(io_event ev) const noexcept {
  std::int64_t t = timeo_ns[ev == io_event::readable ? 0 : 1].load(std::memory_order_relaxed);
  if (t <= 0) return detail::no_deadline;
  detail::ns_t now = detail::now_ns();
  return t >= detail::no_deadline - now ? detail::no_deadline : now + t;
}

fd_entry* fd_table::at(int fd) noexcept {
  if (fd_entry* e = peek(fd)) return e;
  if (static_cast<unsigned>(fd) >= static_cast<unsigned>(max_fd)) return nullptr;
  // mmap, not malloc: at() may run inside any libc call of the program.
  constexpr std::size_t bytes = sizeof(fd_entry) << chunk_bits;
  void* m = ::mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (m == MAP_FAILED) return nullptr;
  auto* fresh = static_cast<fd_entry*>(m);  // zero pages: every entry is "unknown"
  fd_entry* expected = nullptr;
  if (!chunks_[fd >> chunk_bits].compare_exchange_strong(expected, fresh, std::memory_order_acq_rel))
    ::munmap(m, bytes);
  return peek(fd);
}

void fd_table::created(int fd, bool socket, bool stream, bool user_nb, bool real_nb) noexcept {
  if (!real_nb) {
    // The kernel's flags are the user's: learning at the first use on a
    // fiber finds the same. Keep no entry, so that a raw close() (one the
    // hooks never see, as UBSan's own pipe() + internal close) leaves
    // nothing stale behind for the next fd with this number.
    forget(fd);
    return;
  }
  fd_entry* e = at(fd);
  if (!e) return;
  e->timeo_ns[0].store(0, std::memory_order_relaxed);
  e->timeo_ns[1].store(0, std::memory_order_relaxed);
  e->bits.store(fd_known | fd_managed | (socket ? fd_socket : 0) | (stream ? fd_stream : 0) |
                    (user_nb ? fd_user_nb : 0) | (real_nb ? fd_real_nb : 0),
                std::memory_order_relaxed);
}

void fd_table::forget(int fd) noexcept {
  if (fd_entry* e = peek(fd)) e->bits.store(0, std::memory_order_relaxed);
}

void fd_table::copy(int from, int to) noexcept {
  fd_entry* src = peek(from);
  if (!src || !src->has(fd_known)) {
    forget(to);
    return;
  }
  fd_entry* dst = at(to);
  if (!dst) return;
  dst->timeo_ns[0].store(src->timeo_ns[0].load(std::memory_order_relaxed), std::memory_order_relaxed);
  dst->timeo_ns[1].store(src->timeo_ns[1].load(std::memory_order_relaxed), std::memory_order_relaxed);
  dst->bits.store(src->bits.load(std::memory_order_relaxed), std::memory_order_relaxed);
}

namespace {

// timeo() reads SO_RCVTIMEO / SO_SNDTIMEO from the kernel, in ns.
std::int64_t timeo(int fd, int opt) noexcept {
  timeval tv{};
  socklen_t len = sizeof tv;
  if (::getsockopt(fd, SOL_SOCKET, opt, &tv, &len) != 0) return 0;
  return std::int64_t(tv.tv_sec) * 1000000000 + std::int64_t(tv.tv_usec) * 1000;
}

// learn() fills e for an fd no hook created: sockets and FIFOs are managed,
// O_NONBLOCK and the timeouts come from the kernel. False for a bad fd.
// Inherited stdin/stdout/stderr are never managed: their open file is
// usually shared with other processes, and stdio writes to them bypass the
// hooks, so they must stay blocking.
bool learn(int fd, fd_entry& e) noexcept {
  struct stat st;
  if (::fstat(fd, &st) != 0) return false;
  std::uint32_t b = fd_known;
  if (fd > 2 && (S_ISSOCK(st.st_mode) || S_ISFIFO(st.st_mode))) {
    int fl = real::fns().fcntl(fd, F_GETFL);
    if (fl < 0) return false;
    b |= fd_managed | ((fl & O_NONBLOCK) ? fd_user_nb : 0);
    if (S_ISFIFO(st.st_mode)) b |= fd_stream;
    if (S_ISSOCK(st.st_mode)) {
      int type = 0;
      socklen_t len = sizeof type;
      if (::getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &len) == 0 && type == SOCK_STREAM) b |= fd_stream;
      b |= fd_socket;
      e.timeo_ns[0].store(timeo(fd, SO_RCVTIMEO), std::memory_order_relaxed);
      e.timeo_ns[1].store(timeo(fd, SO_SNDTIMEO), std::memory_order_relaxed);
    }
  }
  e.bits.store(b, std::memory_order_relaxed);
  return true;
}

}  // namespace

fd_entry* prepare(int fd) noexcept {
  fd_entry* e = fds.at(fd);
  if (!e) return nullptr;
  std::uint32_t b = e->bits.load(std::memory_order_relaxed);
  if (__builtin_expect(!(b & fd_known), 0)) {
    int saved = errno;
    bool ok = learn(fd, *e);
    errno = saved;
    if (!ok) return nullptr;
    b = e->bits.load(std::memory_order_relaxed);
  }
  if ((b & (fd_managed | fd_user_nb)) != fd_managed) return nullptr;
  if (!(b & fd_real_nb)) {
    int saved = errno;
    int fl = real::fns().fcntl(fd, F_GETFL);
    bool ok = fl >= 0 && real::fns().fcntl(fd, F_SETFL, fl | O_NONBLOCK) == 0;
    errno = saved;
    if (!ok) return nullptr;
    e->set(fd_real_nb, true);
  }
  return e;
}

}  // namespace weft::hooks
