// runtime/fd_registry.cpp — see fd_registry.hpp.
#include "fd_registry.hpp"

#include <fcntl.h>
#include <linux/magic.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>

namespace weft::detail {

constinit std::atomic<fd_entry*> g_fd_chunks[fd_max_chunks] = {};
constinit std::atomic<std::uint32_t> g_flags_epoch{1};

namespace {

constexpr int chunk_size = 1 << fd_chunk_bits;

std::uint64_t encode(const fd_facts& f) noexcept { return std::bit_cast<std::uint64_t>(f); }

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

// in_memory() is true when fd's file lives on a file system kept in memory
// (procfs, sysfs, tmpfs, cgroup...): reading or writing it never waits for
// a disk, and procfs/sysfs refuse RWF_NOWAIT, so it needs no offload.
bool in_memory(int fd) noexcept {
  struct statfs s;
  if (syscall(SYS_fstatfs, fd, &s) != 0) return false;
  switch (static_cast<unsigned long>(s.f_type)) {
    case PROC_SUPER_MAGIC: case SYSFS_MAGIC: case TMPFS_MAGIC: case RAMFS_MAGIC:
    case CGROUP_SUPER_MAGIC: case CGROUP2_SUPER_MAGIC: case DEBUGFS_MAGIC:
    case TRACEFS_MAGIC: case SECURITYFS_MAGIC: case BPF_FS_MAGIC:
      return true;
    default:
      return false;
  }
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
      if (sys_getsockopt(fd, SO_TYPE, &type, &len) == 0) {
        f.stream = type == SOCK_STREAM;
        f.seqpacket = type == SOCK_SEQPACKET;
      }
      break;
    }
    case S_IFIFO: f.kind = fd_kind::pipe, f.stream = true; break;
    case S_IFCHR: f.kind = fd_kind::device; break;
    case S_IFREG:
    case S_IFDIR:
    case S_IFBLK:
    case S_IFLNK: f.kind = fd_kind::file, f.in_memory = in_memory(fd); break;
    default: f.kind = fd_kind::anon; break;  // anonymous inodes have no file type
  }
  if (f.kind != fd_kind::socket) {
    e.timeo_ns[0].store(0, std::memory_order_relaxed);
    e.timeo_ns[1].store(0, std::memory_order_relaxed);
  }
  return read_flags(fd, e, f, epoch);
}

}  // namespace

fd_entry* fd_at(int fd) noexcept {
  if (fd_entry* e = fd_lookup(fd)) return e;
  if (static_cast<unsigned>(fd) >= unsigned(fd_max_chunks) << fd_chunk_bits) return nullptr;
  // mmap, not malloc: this may run inside any libc call of the program.
  constexpr std::size_t bytes = sizeof(fd_entry) << fd_chunk_bits;
  void* m = reinterpret_cast<void*>(
      syscall(SYS_mmap, nullptr, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0));
  if (m == MAP_FAILED) return nullptr;
  auto* fresh = static_cast<fd_entry*>(m);  // zero pages: every entry unknown, incarnation 0
  fd_entry* expected = nullptr;
  if (!g_fd_chunks[fd >> fd_chunk_bits].compare_exchange_strong(expected, fresh, std::memory_order_acq_rel))
    syscall(SYS_munmap, m, bytes);
  return fd_lookup(fd);
}

fd_facts learn_facts(int fd, fd_entry** entry) noexcept {
  fd_entry* e = fd_at(fd);
  if (entry) *entry = e;
  if (!e) return {};
  std::uint64_t w = e->facts.load(std::memory_order_acquire);
  fd_facts f = std::bit_cast<fd_facts>(w);
  std::uint32_t epoch = g_flags_epoch.load(std::memory_order_acquire);
  if (f.kind != fd_kind::unknown && e->epoch.load(std::memory_order_relaxed) == epoch) return f;
  int saved = errno;
  bool ok = f.kind == fd_kind::unknown ? learn(fd, *e, f, epoch) : read_flags(fd, *e, f, epoch);
  errno = saved;
  return ok ? f : fd_facts{};
}

ns_t deadline_of(const fd_entry& e, bool writable) noexcept {
  std::int64_t t = e.timeo_ns[writable ? 1 : 0].load(std::memory_order_relaxed);
  if (t <= 0) return no_deadline;
  ns_t now = now_ns();
  return t >= no_deadline - now ? no_deadline : now + t;
}

ns_t fd_deadline(int fd, bool writable) noexcept {
  fd_entry* e = fd_lookup(fd);
  return e ? deadline_of(*e, writable) : no_deadline;
}

void set_facts(int fd, const fd_facts& f) noexcept {
  fd_entry* e = fd_at(fd);
  if (!e) return;
  e->timeo_ns[0].store(0, std::memory_order_relaxed);
  e->timeo_ns[1].store(0, std::memory_order_relaxed);
  e->epoch.store(g_flags_epoch.load(std::memory_order_acquire), std::memory_order_relaxed);
  e->facts.store(encode(f), std::memory_order_release);
}

void copy_facts(int from, int to) noexcept {
  fd_entry* src = fd_lookup(from);
  std::uint64_t b = src ? src->facts.load(std::memory_order_acquire) : 0;
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
  fd_entry* e = fd_lookup(fd);
  if (!e) return;
  std::uint64_t w = e->facts.load(std::memory_order_acquire);
  if (!w) return;
  fd_facts f = std::bit_cast<fd_facts>(w);
  f.no_nowait = true;
  e->facts.compare_exchange_strong(w, encode(f), std::memory_order_acq_rel);  // lost to a change: learned again
}

void bump_flags_epoch() noexcept { g_flags_epoch.fetch_add(1, std::memory_order_acq_rel); }

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
