// runtime/fd_registry.cpp — see fd_registry.hpp.
#include "fd_registry.hpp"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>

namespace weft::detail {
namespace {

constexpr int chunk_bits = 10;
constexpr int chunk_size = 1 << chunk_bits;
constexpr int max_chunks = 4096;  // fds below 4M: beyond any RLIMIT_NOFILE Linux allows by default

constinit std::atomic<fd_entry*> g_chunks[max_chunks] = {};
constinit std::atomic<std::uint32_t> g_epoch{1};

// Bits of fd_entry::facts.
constexpr std::uint32_t f_known = 1, f_stream = 16, f_nonblock = 32, f_no_nowait = 64;
constexpr int kind_shift = 1;
constexpr std::uint32_t kind_mask = 7u << kind_shift;

std::uint32_t encode(const fd_facts& f) noexcept {
  return f_known | (std::uint32_t(f.kind) << kind_shift) | (f.stream ? f_stream : 0) |
         (f.nonblock ? f_nonblock : 0) | (f.no_nowait ? f_no_nowait : 0);
}

fd_facts decode(std::uint32_t b) noexcept {
  if (!(b & f_known)) return {};
  return {static_cast<fd_kind>((b & kind_mask) >> kind_shift), bool(b & f_stream), bool(b & f_nonblock),
          bool(b & f_no_nowait)};
}

// Raw syscalls: the runtime never goes through the hooks.
long sys_fcntl(int fd, int cmd) noexcept { return syscall(SYS_fcntl, fd, cmd, 0); }
int sys_getsockopt(int fd, int opt, void* v, socklen_t* len) noexcept {
  return static_cast<int>(syscall(SYS_getsockopt, fd, SOL_SOCKET, opt, v, len));
}

// timeo() reads SO_RCVTIMEO / SO_SNDTIMEO from the kernel, in ns.
std::int64_t timeo(int fd, int opt) noexcept {
  timeval tv{};
  socklen_t len = sizeof tv;
  if (sys_getsockopt(fd, opt, &tv, &len) != 0) return 0;
  return std::int64_t(tv.tv_sec) * 1000000000 + std::int64_t(tv.tv_usec) * 1000;
}

// read_flags() refreshes what belongs to the open file description (and, for
// sockets, to the socket): O_NONBLOCK and the timeouts. False for a bad fd.
bool read_flags(int fd, fd_entry& e, fd_facts& f, std::uint32_t epoch) noexcept {
  long fl = sys_fcntl(fd, F_GETFL);
  if (fl < 0) return false;
  f.nonblock = fl & O_NONBLOCK;
  if (f.kind == fd_kind::socket) {
    e.timeo_ns[0].store(timeo(fd, SO_RCVTIMEO), std::memory_order_relaxed);
    e.timeo_ns[1].store(timeo(fd, SO_SNDTIMEO), std::memory_order_relaxed);
  }
  e.epoch.store(epoch, std::memory_order_relaxed);
  e.facts.store(encode(f), std::memory_order_release);
  return true;
}

// learn() fills e for an fd whose facts are unknown. False for a bad fd.
bool learn(int fd, fd_entry& e, fd_facts& f, std::uint32_t epoch) noexcept {
  struct stat st;
  if (syscall(SYS_fstat, fd, &st) != 0) return false;
  f = {};
  switch (st.st_mode & S_IFMT) {
    case S_IFSOCK: {
      f.kind = fd_kind::socket;
      int type = 0;
      socklen_t len = sizeof type;
      f.stream = sys_getsockopt(fd, SO_TYPE, &type, &len) == 0 && type == SOCK_STREAM;
      break;
    }
    case S_IFIFO: f.kind = fd_kind::pipe, f.stream = true; break;
    case S_IFCHR: f.kind = fd_kind::device; break;
    case S_IFREG:
    case S_IFDIR:
    case S_IFBLK:
    case S_IFLNK: f.kind = fd_kind::file; break;
    default: f.kind = fd_kind::anon; break;  // anonymous inodes have no file type
  }
  if (f.kind != fd_kind::socket) {
    e.timeo_ns[0].store(0, std::memory_order_relaxed);
    e.timeo_ns[1].store(0, std::memory_order_relaxed);
  }
  return read_flags(fd, e, f, epoch);
}

}  // namespace

fd_entry* fd_lookup(int fd) noexcept {
  if (static_cast<unsigned>(fd) >= unsigned(max_chunks) << chunk_bits) return nullptr;
  fd_entry* c = g_chunks[fd >> chunk_bits].load(std::memory_order_acquire);
  return c ? &c[fd & (chunk_size - 1)] : nullptr;
}

fd_entry* fd_at(int fd) noexcept {
  if (fd_entry* e = fd_lookup(fd)) return e;
  if (static_cast<unsigned>(fd) >= unsigned(max_chunks) << chunk_bits) return nullptr;
  // mmap, not malloc: this may run inside any libc call of the program.
  constexpr std::size_t bytes = sizeof(fd_entry) << chunk_bits;
  void* m = reinterpret_cast<void*>(
      syscall(SYS_mmap, nullptr, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0));
  if (m == MAP_FAILED) return nullptr;
  auto* fresh = static_cast<fd_entry*>(m);  // zero pages: every entry unknown, incarnation 0
  fd_entry* expected = nullptr;
  if (!g_chunks[fd >> chunk_bits].compare_exchange_strong(expected, fresh, std::memory_order_acq_rel))
    syscall(SYS_munmap, m, bytes);
  return fd_lookup(fd);
}

std::uint32_t fd_incarnation(int fd) noexcept {
  fd_entry* e = fd_lookup(fd);
  return e ? e->inc.load(std::memory_order_acquire) : 0;
}

fd_facts facts_of(int fd) noexcept {
  fd_entry* e = fd_at(fd);
  if (!e) return {};
  fd_facts f = decode(e->facts.load(std::memory_order_acquire));
  std::uint32_t epoch = g_epoch.load(std::memory_order_acquire);
  if (__builtin_expect(f.kind != fd_kind::unknown && e->epoch.load(std::memory_order_relaxed) == epoch, 1))
    return f;
  int saved = errno;
  bool ok = f.kind == fd_kind::unknown ? learn(fd, *e, f, epoch) : read_flags(fd, *e, f, epoch);
  errno = saved;
  return ok ? f : fd_facts{};
}

ns_t fd_deadline(int fd, bool writable) noexcept {
  fd_entry* e = fd_lookup(fd);
  std::int64_t t = e ? e->timeo_ns[writable ? 1 : 0].load(std::memory_order_relaxed) : 0;
  if (t <= 0) return no_deadline;
  ns_t now = now_ns();
  return t >= no_deadline - now ? no_deadline : now + t;
}

void set_facts(int fd, const fd_facts& f) noexcept {
  fd_entry* e = fd_at(fd);
  if (!e) return;
  e->timeo_ns[0].store(0, std::memory_order_relaxed);
  e->timeo_ns[1].store(0, std::memory_order_relaxed);
  e->epoch.store(g_epoch.load(std::memory_order_acquire), std::memory_order_relaxed);
  e->facts.store(encode(f), std::memory_order_release);
}

void copy_facts(int from, int to) noexcept {
  fd_entry* src = fd_lookup(from);
  std::uint32_t b = src ? src->facts.load(std::memory_order_acquire) : 0;
  if (!b) {
    clear_facts(to);
    return;
  }
  fd_entry* dst = fd_at(to);
  if (!dst) return;
  for (int d = 0; d < 2; ++d)
    dst->timeo_ns[d].store(src->timeo_ns[d].load(std::memory_order_relaxed), std::memory_order_relaxed);
  dst->epoch.store(src->epoch.load(std::memory_order_relaxed), std::memory_order_relaxed);
  dst->facts.store(b, std::memory_order_release);
}

void clear_facts(int fd) noexcept {
  if (fd_entry* e = fd_lookup(fd)) e->facts.store(0, std::memory_order_release);
}

void note_no_nowait(int fd) noexcept {
  if (fd_entry* e = fd_lookup(fd)) e->facts.fetch_or(f_no_nowait, std::memory_order_acq_rel);
}

void bump_flags_epoch() noexcept { g_epoch.fetch_add(1, std::memory_order_acq_rel); }

namespace {
constexpr std::size_t max_owned = 256;
spinlock g_owned_lk;  // guards g_owned, g_owned_n
int g_owned[max_owned];
std::size_t g_owned_n = 0;

// high_base() is where the runtime's fds start: 32 below the soft
// RLIMIT_NOFILE, capped so that the fd table stays small.
int high_base() noexcept {
  rlimit rl{};
  long lim = syscall(SYS_getrlimit, RLIMIT_NOFILE, &rl) == 0 ? static_cast<long>(rl.rlim_cur) : 1024;
  if (lim <= 0 || lim > 4096) lim = 4096;
  return lim > 64 ? static_cast<int>(lim - 32) : 3;
}
}  // namespace

int runtime_fd(int fd) noexcept {
  if (fd < 0) return fd;
  int saved = errno;
  int hi = static_cast<int>(syscall(SYS_fcntl, fd, F_DUPFD_CLOEXEC, high_base()));
  if (hi >= 0) {
    syscall(SYS_close, fd);
    fd = hi;
  }
  errno = saved;
  if (fd_entry* e = fd_at(fd)) e->owned.store(true, std::memory_order_release);
  locked(g_owned_lk, [&] {
    if (g_owned_n < max_owned) {
      std::size_t i = g_owned_n++;
      while (i > 0 && g_owned[i - 1] > fd) g_owned[i] = g_owned[i - 1], --i;
      g_owned[i] = fd;
    }
  });
  return fd;
}

void runtime_fd_closed(int fd) noexcept {
  if (fd_entry* e = fd_lookup(fd)) e->owned.store(false, std::memory_order_release);
  locked(g_owned_lk, [&] {
    for (std::size_t i = 0; i < g_owned_n; ++i)
      if (g_owned[i] == fd) {
        for (std::size_t j = i + 1; j < g_owned_n; ++j) g_owned[j - 1] = g_owned[j];
        --g_owned_n;
        break;
      }
  });
}

bool is_runtime_fd(int fd) noexcept {
  fd_entry* e = fd_lookup(fd);
  return e && e->owned.load(std::memory_order_acquire);
}

std::size_t runtime_fds(int* out, std::size_t n) noexcept {
  return locked(g_owned_lk, [&] {
    for (std::size_t i = 0; i < g_owned_n && i < n; ++i) out[i] = g_owned[i];
    return g_owned_n;
  });
}

}  // namespace weft::detail
