// runtime/dump_signal.cpp — the dump-on-signal listener. See dump_signal.hpp.
#include "dump_signal.hpp"
#include "fd_registry.hpp"
#include "log.hpp"

#include "scheduler.hpp"

#include <weft/dump.hpp>
#include <weft/errors.hpp>
#include <weft/fiber.hpp>
#include <weft/io.hpp>

#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdlib>
#include <mutex>
#include <sys/syscall.h>
#include <unistd.h>

#include <sstream>
#include <string>

namespace weft::detail {
namespace {

constexpr int max_listeners = 256;  // carriers that can listen at once
std::atomic<int> g_pipes[max_listeners];  // write ends; 0 = free slot
int g_signal = 0;

void on_dump_signal(int) {
  int saved = errno;
  for (auto& p : g_pipes)
    if (int fd = p.load(std::memory_order_acquire); fd > 0) (void)!syscall(SYS_write, fd, "d", 1);
  errno = saved;
}

// A listener's pipe, registered with the handler while the fiber lives.
struct listener_pipe {
  int rd = -1, wr = -1, slot = -1;
  listener_pipe() {
    int p[2];
    if (syscall(SYS_pipe2, p, O_CLOEXEC | O_NONBLOCK) != 0) return;
    rd = runtime_fd(p[0]), wr = runtime_fd(p[1]);
    for (int i = 0; i < max_listeners && slot < 0; ++i) {
      int expect = 0;
      if (g_pipes[i].compare_exchange_strong(expect, wr)) slot = i;
    }
  }
  ~listener_pipe() {
    if (slot >= 0) g_pipes[slot].store(0, std::memory_order_release);
    if (rd >= 0) {
      runtime_fd_closed(rd);
      weft::close_fd(rd);
    }
    if (wr >= 0) {
      runtime_fd_closed(wr);
      syscall(SYS_close, wr);
    }
  }
};

// listen() is the listener fiber's body: one dump per burst of signals.
void listen() {
  listener_pipe p;
  if (p.slot < 0) return;
  for (;;) {
    weft::wait_io(p.rd, io_event::readable);
    char buf[64];
    while (syscall(SYS_read, p.rd, buf, sizeof buf) > 0) {
    }
    std::ostringstream os;
    os << "weft: dump on signal " << g_signal << " (" << (sigabbrev_np(g_signal) ? sigabbrev_np(g_signal) : "?")
       << ")\n";
    weft::dump(os, dump_detail::backtraces);
    std::string text = os.str();
    for (std::size_t off = 0; off < text.size();) {
      ssize_t w = syscall(SYS_write, log_fd(), text.data() + off, text.size() - off);
      if (w <= 0) break;
      off += static_cast<std::size_t>(w);
    }
  }
}

}  // namespace

int parse_signal(const char* text, const char* var) {
  std::string t = text;
  char* end;
  long n = std::strtol(t.c_str(), &end, 10);
  if (!t.empty() && *end == '\0' && n > 0 && n < NSIG && n != SIGKILL && n != SIGSTOP) return static_cast<int>(n);
  if (t.rfind("SIG", 0) == 0) t = t.substr(3);
  for (int s = 1; s < NSIG; ++s)
    if (const char* name = sigabbrev_np(s); name && t == name && s != SIGKILL && s != SIGSTOP) return s;
  throw usage_error(std::string(var) + "=\"" + text +
                    "\": expected a catchable signal name (SIGQUIT, QUIT) or number");
}

void start_dump_listener(int sig) {
  static std::once_flag once;
  std::call_once(once, [sig] {
    g_signal = sig;
    struct sigaction sa {};
    sa.sa_handler = &on_dump_signal;
    sa.sa_flags = SA_RESTART;
    sigemptyset(&sa.sa_mask);
    runtime_sigaction(sig, &sa, nullptr);
  });
  weft::spawn(spawn_options{.name = "weft-dump-signal"}, &listen).detach();
}

}  // namespace weft::detail
