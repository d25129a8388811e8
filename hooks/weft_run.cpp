// hooks/weft_run.cpp — weft-run: run an unmodified, dynamically linked
// program with libweft_preload.so in LD_PRELOAD, so its blocking calls
// become fiber yields and its main() runs as the root fiber.
//
//   weft-run [options] [--] program [args...]      (see `usage` below)
//
// Options become WEFT_* environment variables, which the hooks and the
// runtime read (and which children started by the program inherit, with
// LD_PRELOAD): --workers WEFT_WORKERS, --threads WEFT_THREADS, --no-dns
// WEFT_DNS=off, --no-signals WEFT_SIGNALS=off, --monitor WEFT_MONITOR_MS,
// --log WEFT_LOG. weft itself adds nothing to the program's output: the
// blocking monitor is off unless --monitor asks for it, and reports go to
// --log's file (stderr by default). --verbose says on stderr what is hooked.
//
// The program replaces weft-run (execv), so its exit status is weft-run's.
// Programs the hooks could not reach are refused with a one-line error
// instead of running silently unhooked: a missing program (127), a static
// binary, a binary of another ELF class/machine, a setuid/setgid binary
// (the loader ignores LD_PRELOAD for them) (126).
// The library is found through WEFT_PRELOAD_LIB, beside the weft-run
// executable (build tree), or at the install's libdir relative to bindir.
#include <elf.h>
#include <fcntl.h>
#include <limits.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#ifndef WEFT_VERSION
#define WEFT_VERSION "unknown"
#endif
#ifndef WEFT_RUN_LIBDIR
#define WEFT_RUN_LIBDIR "../lib"  // libdir, relative to bindir unless absolute
#endif

namespace {

const char usage[] =
    "usage: weft-run [options] [--] program [args...]\n"
    "Runs a dynamically linked program with weft's libc hooks preloaded:\n"
    "its main() runs as a weft fiber, and blocking socket, pipe, poll, sleep,\n"
    "DNS and process calls made on fibers park the fiber instead of the thread.\n"
    "\n"
    "  --workers N      carrier threads, 1..64, or auto: one per usable CPU\n"
    "                   (WEFT_WORKERS; default 1)\n"
    "  --threads=fibers|os\n"
    "                   fibers (default): pthread_create makes a fiber, and\n"
    "                   pthread mutexes, condvars, rwlocks, barriers, spin locks,\n"
    "                   semaphores, keys and joins park fibers, not carriers;\n"
    "                   os: the program's threads stay OS threads\n"
    "  --no-threads     the same as --threads=os\n"
    "  --no-dns         getaddrinfo & co. are glibc's own (they block the carrier)\n"
    "  --no-signals     sigaction & co. are glibc's own: a caught signal then\n"
    "                   ends no parked call with EINTR\n"
    "  --monitor[=MS]   report a fiber that holds its carrier MS ms (default 100)\n"
    "                   without switching (WEFT_MONITOR_MS; off by default)\n"
    "  --log FILE       weft's own reports go to FILE (WEFT_LOG; default stderr)\n"
    "  --verbose        say on stderr what is hooked, before the program starts\n"
    "  --help           show this help\n"
    "  --version        show the version\n"
    "\n"
    "Environment: WEFT_PRELOAD_LIB overrides the path of libweft_preload.so;\n"
    "WEFT_HOOKS_STATS=1 prints the number of fiber parks at exit.\n"
    "Exit status: the program's own; 126/127 when it cannot be run, 2 for a\n"
    "bad option.\n";

[[noreturn]] void fail(int code, const std::string& msg) {
  std::fprintf(stderr, "weft-run: %s\n", msg.c_str());
  std::exit(code);
}

bool exists(const std::string& p) { return ::access(p.c_str(), F_OK) == 0; }

// self_dir() is the directory of this executable.
std::string self_dir() {
  char buf[PATH_MAX];
  ssize_t n = ::readlink("/proc/self/exe", buf, sizeof buf - 1);
  if (n <= 0) return ".";
  std::string p(buf, static_cast<std::size_t>(n));
  return p.substr(0, p.rfind('/'));
}

// preload_lib() finds libweft_preload.so.
std::string preload_lib() {
  if (const char* e = std::getenv("WEFT_PRELOAD_LIB"); e && *e) {
    char abs[PATH_MAX];
    if (!::realpath(e, abs)) fail(127, std::string("WEFT_PRELOAD_LIB=") + e + ": " + std::strerror(errno));
    return abs;
  }
  std::string dir = self_dir();
  std::string beside = dir + "/libweft_preload.so";
  if (exists(beside)) return beside;
  std::string libdir = WEFT_RUN_LIBDIR;
  std::string installed = (libdir[0] == '/' ? libdir : dir + "/" + libdir) + "/libweft_preload.so";
  if (exists(installed)) return installed;
  fail(127, "cannot find libweft_preload.so (looked in " + beside + " and " + installed +
                "); set WEFT_PRELOAD_LIB");
}

// find_program() resolves a name like execvp does; exits 127 if missing.
std::string find_program(const std::string& name) {
  if (name.find('/') != std::string::npos) {
    if (!exists(name)) fail(127, name + ": no such file");
    return name;
  }
  const char* path = std::getenv("PATH");
  std::string dirs = path ? path : "/usr/local/bin:/usr/bin:/bin";
  std::size_t start = 0;
  for (;;) {
    std::size_t end = dirs.find(':', start);
    std::string d = dirs.substr(start, end == std::string::npos ? std::string::npos : end - start);
    std::string cand = (d.empty() ? "." : d) + "/" + name;
    struct stat st;
    if (::stat(cand.c_str(), &st) == 0 && S_ISREG(st.st_mode) && ::access(cand.c_str(), X_OK) == 0) return cand;
    if (end == std::string::npos) break;
    start = end + 1;
  }
  fail(127, name + ": command not found");
}

// check_binary() refuses what LD_PRELOAD cannot reach: static binaries and
// binaries of another class or machine. Scripts are checked through their
// interpreter (one level).
void check_binary(const std::string& path, int depth = 0) {
  struct stat st;
  if (::stat(path.c_str(), &st) != 0) fail(127, path + ": " + std::strerror(errno));
  if (!S_ISREG(st.st_mode)) fail(126, path + ": not a regular file");
  if (::access(path.c_str(), X_OK) != 0) fail(126, path + ": permission denied");
  if (st.st_mode & (S_ISUID | S_ISGID))
    fail(126, path + ": setuid/setgid program; the loader would ignore LD_PRELOAD, refusing to run it unhooked");
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) fail(126, path + ": " + std::strerror(errno));
  unsigned char head[256] = {};
  ssize_t n = ::pread(fd, head, sizeof head, 0);
  if (n >= 2 && head[0] == '#' && head[1] == '!') {
    ::close(fd);
    std::string line(reinterpret_cast<char*>(head) + 2, static_cast<std::size_t>(n) - 2);
    line = line.substr(0, line.find('\n'));
    std::size_t b = line.find_first_not_of(" \t");
    if (b == std::string::npos || depth > 0) return;
    std::string interp = line.substr(b, line.find_first_of(" \t", b) - b);
    check_binary(interp, depth + 1);
    return;
  }
  if (n < static_cast<ssize_t>(sizeof(Elf64_Ehdr)) || std::memcmp(head, ELFMAG, SELFMAG) != 0) {
    ::close(fd);
    return;  // not ELF: execv reports what it is
  }
  const auto* eh = reinterpret_cast<const Elf64_Ehdr*>(head);
  if (eh->e_ident[EI_CLASS] != ELFCLASS64 || eh->e_machine != EM_X86_64) {
    ::close(fd);
    fail(126, path + ": not an x86-64 ELF binary; libweft_preload.so cannot be loaded into it");
  }
  bool interp = false;
  for (unsigned i = 0; i < eh->e_phnum && !interp; ++i) {
    Elf64_Phdr ph;
    off_t off = static_cast<off_t>(eh->e_phoff + std::uint64_t(i) * eh->e_phentsize);
    if (::pread(fd, &ph, sizeof ph, off) != static_cast<ssize_t>(sizeof ph)) break;
    interp = ph.p_type == PT_INTERP;
  }
  ::close(fd);
  if (!interp) fail(126, path + ": statically linked; the hooks cannot be preloaded into it");
}

// value_of() is the value of option `name` at argv[i]: "--name=V" or
// "--name V" (then i advances); "" when missing.
std::string value_of(const std::string& a, const char* name, int& i, int argc, char** argv) {
  std::string n = name;
  if (a.size() > n.size() && a.compare(0, n.size() + 1, n + "=") == 0) return a.substr(n.size() + 1);
  return i + 1 < argc ? argv[++i] : "";
}

// is() is true when argument a is option `name`, alone or as "name=...".
bool is(const std::string& a, const char* name) {
  std::string n = name;
  return a == n || a.compare(0, n.size() + 1, n + "=") == 0;
}

}  // namespace

int main(int argc, char** argv) {
  std::string threads = "fibers";
  bool verbose = false;
  int i = 1;
  for (; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--") {
      ++i;
      break;
    }
    if (a == "--help" || a == "-h") {
      std::fputs(usage, stdout);
      return 0;
    }
    if (a == "--version") {
      std::printf("weft-run (weft) %s\n", WEFT_VERSION);
      return 0;
    }
    if (is(a, "--workers")) {
      std::string v = value_of(a, "--workers", i, argc, argv);
      char* end = nullptr;
      long n = std::strtol(v.c_str(), &end, 10);
      if (v != "auto" && (v.empty() || *end || n < 1)) fail(2, "--workers needs a positive number or 'auto' (see --help)");
      ::setenv("WEFT_WORKERS", v.c_str(), 1);
    } else if (is(a, "--threads")) {
      threads = value_of(a, "--threads", i, argc, argv);
      if (threads != "fibers" && threads != "os") fail(2, "--threads needs 'fibers' or 'os' (see --help)");
    } else if (a == "--no-threads") {
      threads = "os";
    } else if (a == "--no-dns") {
      ::setenv("WEFT_DNS", "off", 1);
    } else if (a == "--no-signals") {
      ::setenv("WEFT_SIGNALS", "off", 1);
    } else if (a == "--monitor" || a.rfind("--monitor=", 0) == 0) {
      std::string v = a == "--monitor" ? "100" : a.substr(10);
      char* end = nullptr;
      long n = std::strtol(v.c_str(), &end, 10);
      if (v.empty() || *end || n < 1) fail(2, "--monitor=MS needs a positive number of milliseconds (see --help)");
      ::setenv("WEFT_MONITOR_MS", v.c_str(), 1);
    } else if (is(a, "--log")) {
      std::string v = value_of(a, "--log", i, argc, argv);
      if (v.empty()) fail(2, "--log needs a file name (see --help)");
      char abs[PATH_MAX];
      // An absolute path: the program may change its directory.
      std::string full = v[0] == '/' ? v : std::string(::getcwd(abs, sizeof abs) ? abs : ".") + "/" + v;
      ::setenv("WEFT_LOG", full.c_str(), 1);
    } else if (a == "--verbose") {
      verbose = true;
    } else if (a.size() > 1 && a[0] == '-') {
      fail(2, "unknown option '" + a + "' (see --help)");
    } else {
      break;
    }
  }
  if (i >= argc) fail(2, "no program given (see --help)");

  std::string prog = find_program(argv[i]);
  check_binary(prog);
  std::string lib = preload_lib();
  const char* old = std::getenv("LD_PRELOAD");
  std::string preload = old && *old ? lib + ":" + old : lib;
  ::setenv("LD_PRELOAD", preload.c_str(), 1);
  if (threads == "fibers") ::setenv("WEFT_THREADS", "fibers", 1);
  else ::unsetenv("WEFT_THREADS");
  if (verbose) {
    auto on = [](const char* var) { const char* v = std::getenv(var); return !(v && std::strcmp(v, "off") == 0); };
    const char* w = std::getenv("WEFT_WORKERS");
    const char* m = std::getenv("WEFT_MONITOR_MS");
    const char* l = std::getenv("WEFT_LOG");
    std::fprintf(stderr,
                 "weft-run: %s with %s\n"
                 "weft-run: hooked: sockets, pipes, poll/select/epoll, sleeps, processes and waits%s%s; "
                 "threads: %s; carriers: %s\n"
                 "weft-run: monitor: %s%s; reports to %s\n",
                 prog.c_str(), lib.c_str(), on("WEFT_DNS") ? ", DNS" : "", on("WEFT_SIGNALS") ? ", signals" : "",
                 threads == "fibers" ? "fibers" : "OS threads", w && *w ? w : "1",
                 m && *m ? m : "off", m && *m ? " ms" : "", l && *l ? l : "stderr");
  }
  ::execv(prog.c_str(), argv + i);
  fail(errno == ENOENT ? 127 : 126, prog + ": " + std::strerror(errno));
}
