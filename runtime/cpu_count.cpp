// runtime/cpu_count.cpp — see cpu_count.hpp.
#include "cpu_count.hpp"

#include <fcntl.h>
#include <sched.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <vector>

namespace weft::detail {
namespace {

// read_small() reads up to cap-1 bytes of a file into buf, NUL-terminated;
// false if it cannot be opened.
bool read_small(const std::string& file, char* buf, std::size_t cap) noexcept {
  int fd = static_cast<int>(syscall(SYS_openat, AT_FDCWD, file.c_str(), O_RDONLY | O_CLOEXEC));
  if (fd < 0) return false;
  std::size_t n = 0;
  while (n + 1 < cap) {
    long r = syscall(SYS_read, fd, buf + n, cap - 1 - n);
    if (r <= 0) break;
    n += static_cast<std::size_t>(r);
  }
  syscall(SYS_close, fd);
  buf[n] = '\0';
  return true;
}

// self_cgroup_path() is the cgroup v2 path in /proc/self/cgroup (the
// "0::/path" line), or empty.
std::string self_cgroup_path() {
  char buf[4096];
  if (!read_small("/proc/self/cgroup", buf, sizeof buf)) return {};
  for (char* line = buf; *line;) {
    char* end = std::strchr(line, '\n');
    if (end) *end = '\0';
    if (std::strncmp(line, "0::", 3) == 0) return line + 3;
    if (!end) break;
    line = end + 1;
  }
  return {};
}

}  // namespace

unsigned parse_cpu_max(const char* text) noexcept {
  char* end;
  if (std::strncmp(text, "max", 3) == 0) return 0;
  long long quota = std::strtoll(text, &end, 10);
  if (end == text || quota <= 0 || *end != ' ') return 0;
  const char* p = end + 1;
  long long period = std::strtoll(p, &end, 10);
  if (end == p || period <= 0) return 0;
  long long cpus = (quota + period - 1) / period;
  return cpus > 4096 ? 4096 : static_cast<unsigned>(cpus);
}

unsigned cgroup_cpu_quota(const std::string& root, const std::string& path) noexcept {
  try {
    unsigned best = 0;
    std::string p = path;
    for (;;) {
      char buf[128];
      if (read_small(root + (p == "/" ? "" : p) + "/cpu.max", buf, sizeof buf)) {
        unsigned q = parse_cpu_max(buf);
        if (q && (!best || q < best)) best = q;
      }
      if (p.empty() || p == "/") break;
      std::size_t slash = p.rfind('/');
      p = slash == 0 || slash == std::string::npos ? "/" : p.substr(0, slash);
    }
    return best;
  } catch (...) {  // std::bad_alloc: no limit known
    return 0;
  }
}

unsigned affinity_cpus() noexcept {
  // Masks bigger than the default cpu_set_t exist on machines past 1,024
  // CPUs: grow until the kernel accepts the size.
  for (std::size_t ncpu = 1024; ncpu <= (1u << 20); ncpu *= 2) {
    std::size_t size = CPU_ALLOC_SIZE(ncpu);
    std::vector<unsigned long> mask(size / sizeof(unsigned long) + 1);
    long r = syscall(SYS_sched_getaffinity, 0, size, mask.data());
    if (r > 0) {
      int n = CPU_COUNT_S(static_cast<std::size_t>(r), reinterpret_cast<cpu_set_t*>(mask.data()));
      return n > 0 ? static_cast<unsigned>(n) : 1;
    }
    if (errno != EINVAL) break;
  }
  return 1;
}

unsigned usable_cpus() noexcept {
  unsigned n = affinity_cpus();
  std::string path;
  try {
    path = self_cgroup_path();
  } catch (...) {
  }
  if (!path.empty()) {
    unsigned q = cgroup_cpu_quota("/sys/fs/cgroup", path);
    if (q && q < n) n = q;
  }
  return n ? n : 1;
}

}  // namespace weft::detail
