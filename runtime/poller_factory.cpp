// runtime/poller_factory.cpp — make_poller(): the backend of each scheduler,
// chosen at run time by config.backend / WEFT_BACKEND.
//
//   "" / "epoll"  the epoll backend (the default);
//   "auto"        epoll too: the backends see only pollable fds (sockets,
//                 pipes, ttys; rt.cpp gives regular files the plain call),
//                 and on sockets io_uring did not beat epoll here
//                 (docs/performance.md), so auto needs no probe;
//   "uring"       the io_uring backend, after probe_uring() found it usable;
//                 a refusal (seccomp, kernel.io_uring_disabled,
//                 RLIMIT_MEMLOCK, an old kernel) is a usage_error naming it.
#include "poller.hpp"

#include <weft/errors.hpp>

#include <cstring>
#include <string>

namespace weft::detail {

#ifndef WEFT_HAVE_URING
std::unique_ptr<poller> make_uring_poller(scheduler&) { return nullptr; }
int probe_uring() noexcept { return ENOSYS; }
#endif

namespace {

// why_refused() explains errno e of probe_uring() for a usage_error.
std::string why_refused(int e) {
  std::string s = "io_uring_setup/probe failed: ";
  s += std::strerror(e);
  switch (e) {
    case ENOSYS: s += " (no io_uring in this kernel, or a seccomp filter refuses it)"; break;
    case EPERM: s += " (kernel.io_uring_disabled, or a seccomp filter refuses it)"; break;
    case ENOMEM: s += " (RLIMIT_MEMLOCK too small for the ring)"; break;
    case EINVAL: s += " (the kernel lacks an opcode or feature weft needs)"; break;
    default: break;
  }
  return s;
}

}  // namespace

std::unique_ptr<poller> make_poller(std::string_view name, scheduler& s) {
  if (name.empty() || name == "epoll" || name == "auto") return make_epoll_poller(s);
  if (name == "uring") {
#ifndef WEFT_HAVE_URING
    throw usage_error("weft: backend \"uring\": this build has no io_uring backend (liburing was not found, or -During=disabled); use epoll");
#else
    if (int e = probe_uring())
      throw usage_error("weft: backend \"uring\" is unavailable: " + why_refused(e) + "; use epoll or auto");
    return make_uring_poller(s);
#endif
  }
  throw usage_error("weft: poller backend \"" + std::string(name) + "\" is unknown; choose epoll, uring or auto");
}

}  // namespace weft::detail
