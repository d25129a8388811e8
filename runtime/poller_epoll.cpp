// runtime/poller_epoll.cpp — the epoll backend of the poller contract.
//
// Each fd is registered once, edge-triggered for in+out (Go's netpoller
// model), on its first wait. Per-fd state holds a "ready" token per
// direction — an edge that arrived while nobody waited — and the queue of
// waiters per direction. An edge wakes every waiter of that direction (they
// retry their syscall; losers wait again), so several fibers may wait on one
// fd (accept on a shared listener). forget() wakes waiters with `closed` and
// bumps the fd's generation, so an event still queued for the old file is
// ignored and nothing leaks into a later fd that reuses the number.
// An eventfd in the set makes poll() return when another thread calls interrupt().
#include "poller.hpp"
#include "sched_registry.hpp"
#include "scheduler.hpp"
#include "wait_ctx.hpp"

#include <weft/errors.hpp>

#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <algorithm>
#include <cstring>
#include <memory>
#include <vector>

namespace weft::detail {
namespace {

constexpr std::uint64_t wake_tag = ~std::uint64_t(0);
constexpr int chunk_bits = 10;
constexpr int chunk_size = 1 << chunk_bits;
constexpr int max_events = 256;

// The runtime makes its own syscalls directly, so that libc hooks (hooks/)
// never see them.
int sys_epoll_ctl(int ep, int op, int fd, epoll_event* e) { return static_cast<int>(syscall(SYS_epoll_ctl, ep, op, fd, e)); }

struct fd_state {
  std::uint32_t gen = 0;
  std::uint32_t inc = 0;  // the fd number's incarnation when registered
  bool registered = false;
  bool drained = false;  // a short read emptied it; no input edge since
  bool ready[2] = {false, false};
  wait_queue q[2];
};

class epoll_poller final : public poller {
 public:
  explicit epoll_poller(scheduler& s) : s_(s) { open_kernel_objects(); }

  ~epoll_poller() override {
    ::close(evfd_);
    ::close(ep_);
  }

  // after_fork() gives the child its own epoll set and eventfd (the
  // inherited ones are shared with the parent) and re-registers every fd the
  // parent had registered, so parked fibers keep waiting correctly.
  void after_fork() noexcept override {
    ::close(evfd_);
    ::close(ep_);
    open_kernel_objects();
    for (std::size_t c = 0; c < chunks_.size(); ++c) {
      if (!chunks_[c]) continue;
      for (int i = 0; i < chunk_size; ++i) {
        fd_state& st = chunks_[c][i];
        if (!st.registered) continue;
        int fd = static_cast<int>(c << chunk_bits) + i;
        if (!add(fd, st)) st.registered = false;
      }
    }
  }

 private:
  // open_kernel_objects() creates the epoll set and the wake eventfd.
  void open_kernel_objects() {
    ep_ = epoll_create1(EPOLL_CLOEXEC);
    if (ep_ < 0) throw std::system_error(errno, std::generic_category(), "weft: epoll_create1");
    evfd_ = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (evfd_ < 0) {
      int e = errno;
      ::close(ep_);
      throw std::system_error(e, std::generic_category(), "weft: eventfd");
    }
    epoll_event e{};
    e.events = EPOLLIN;
    e.data.u64 = wake_tag;
    WEFT_ASSERT(sys_epoll_ctl(ep_, EPOLL_CTL_ADD, evfd_, &e) == 0, "epoll_ctl(eventfd): errno %d", errno);
  }

  // wait_unwatchable() stands in for readiness of an fd epoll refused for
  // lack of resources or nesting depth: it parks for up to 1 ms and reports
  // "ready", so the caller retries its syscall without spinning.
  static wake wait_unwatchable(const wait_opts& o) {
    constexpr ns_t retry_ns = 1000000;
    ns_t retry = now_ns() + retry_ns;
    wait_opts o2 = o;
    bool own_deadline = o.deadline <= retry;
    if (!own_deadline) o2.deadline = retry;
    waiter w;
    wake r = block_local(w, o2);
    return r == wake::timeout && !own_deadline ? wake::notified : r;
  }

  // add() registers fd edge-triggered for in and out; false if epoll refused.
  bool add(int fd, fd_state& st) noexcept {
    epoll_event e{};
    e.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET;
    e.data.u64 = static_cast<std::uint32_t>(fd) | (std::uint64_t(st.gen) << 32);
    st.inc = fd_incarnation(fd);
    if (sys_epoll_ctl(ep_, EPOLL_CTL_ADD, fd, &e) != 0 &&
        (errno != EEXIST || sys_epoll_ctl(ep_, EPOLL_CTL_MOD, fd, &e) != 0))
      return false;
    note_watch(fd, s_.slot());
    return true;
  }

 public:
  wake wait_fd(int fd, io_event ev, const wait_opts& o) override {
    if (fd < 0) return wake::closed;
    fd_state& st = at(fd);
    // Registered for a file another thread closed since: drop it (waking
    // its waiters with `closed`) and register the file now under fd.
    if (st.registered && __builtin_expect(st.inc != fd_incarnation(fd), 0)) forget(fd);
    if (!st.registered) {
      if (!add(fd, st)) {
        if (errno == EBADF) return wake::closed;
        if (errno == EPERM) return wake::notified;  // regular file etc.: always ready
        return wait_unwatchable(o);                 // ELOOP, ENOSPC, ENOMEM
      }
      st.registered = true;
      st.ready[0] = st.ready[1] = false;
    }
    int d = ev == io_event::readable ? 0 : 1;
    if (st.ready[d]) {
      st.ready[d] = false;
      if (d == 0) st.drained = false;
      return wake::notified;
    }
    waiter w;
    st.q[d].push(w);
    wake r = block_local(w, o);
    if (r != wake::notified && r != wake::closed) st.q[d].remove(w);
    return r;
  }

  // drained() / note_drained(): see poller.hpp. Only a registered fd can
  // count on the edge that clears the mark.
  bool drained(int fd) noexcept override {
    fd_state* st = find(fd);
    return st && st->drained;
  }
  void note_drained(int fd) noexcept override {
    fd_state* st = find(fd);
    if (st && st->registered) st->drained = true;
  }

  void forget_incarnation(int fd, std::uint32_t inc) noexcept override {
    fd_state* st = find(fd);
    if (st && st->registered && st->inc == inc) forget(fd);
  }

  void forget(int fd) noexcept override {
    fd_state* found = find(fd);
    if (!found) return;
    fd_state& st = *found;
    for (wait_queue& q : st.q) {
      wait_ctx* who;
      while (claim_first(q, wake::closed, &who)) wake_up(who);
    }
    if (st.registered) {
      sys_epoll_ctl(ep_, EPOLL_CTL_DEL, fd, nullptr);
      clear_watch(fd, s_.slot());
    }
    st.registered = false;
    st.drained = false;
    st.ready[0] = st.ready[1] = false;
    ++st.gen;
  }

  int poll(ns_t timeout_ns, const sigset_t* mask) override {
    // epoll with a zero timeout returns before it looks at signals: wait
    // 1 ns instead, so a pending signal the mask lets through is delivered.
    if (mask && timeout_ns == 0) timeout_ns = 1;
    int n = wait_events(timeout_ns, mask);
    if (n < 0) {
      WEFT_ASSERT(errno == EINTR, "epoll wait failed: %s", std::strerror(errno));
      return 0;
    }
    int woken = 0;
    for (int i = 0; i < n; ++i) woken += dispatch(events_[i]);
    return woken;
  }

  void interrupt() noexcept override {
    std::uint64_t one = 1;
    [[maybe_unused]] long r = syscall(SYS_write, evfd_, &one, sizeof one);
  }

  std::string_view name() const noexcept override { return "epoll"; }

 private:
  scheduler& s_;
  int ep_ = -1;
  int evfd_ = -1;
  std::vector<std::unique_ptr<fd_state[]>> chunks_;
  epoll_event events_[max_events];

  bool have_pwait2_ = true;  // false on kernels (or valgrind) without epoll_pwait2

  // wait_events() waits with nanosecond precision where the kernel allows,
  // else with epoll_wait's milliseconds, rounded up so timers never fire early.
  int wait_events(ns_t timeout_ns, const sigset_t* mask) {
    if (have_pwait2_) {
      timespec ts, *tsp = nullptr;
      if (timeout_ns >= 0) {
        ts.tv_sec = timeout_ns / 1000000000;
        ts.tv_nsec = timeout_ns % 1000000000;
        tsp = &ts;
      }
      int n = static_cast<int>(syscall(SYS_epoll_pwait2, ep_, events_, max_events, tsp, mask, _NSIG / 8));
      if (n >= 0 || errno != ENOSYS) return n;
      have_pwait2_ = false;
    }
    int ms = timeout_ns < 0 ? -1 : static_cast<int>(std::min<ns_t>((timeout_ns + 999999) / 1000000, 1 << 30));
    return static_cast<int>(syscall(SYS_epoll_pwait, ep_, events_, max_events, ms, mask, _NSIG / 8));
  }

  // find() is fd's state, or nullptr if none was ever made.
  fd_state* find(int fd) noexcept {
    if (fd < 0 || (fd >> chunk_bits) >= static_cast<int>(chunks_.size()) || !chunks_[fd >> chunk_bits]) return nullptr;
    return &chunks_[fd >> chunk_bits][fd & (chunk_size - 1)];
  }

  // at() is fd's state, made if needed.
  fd_state& at(int fd) {
    std::size_t c = static_cast<std::size_t>(fd) >> chunk_bits;
    if (c >= chunks_.size()) chunks_.resize(c + 1);
    if (!chunks_[c]) chunks_[c] = std::make_unique<fd_state[]>(chunk_size);
    return chunks_[c][fd & (chunk_size - 1)];
  }

  int dispatch(const epoll_event& e) noexcept {
    if (e.data.u64 == wake_tag) {
      std::uint64_t v;
      [[maybe_unused]] long r = syscall(SYS_read, evfd_, &v, sizeof v);
      return 0;
    }
    int fd = static_cast<int>(e.data.u64 & 0xffffffffu);
    fd_state& st = at(fd);
    if (!st.registered || st.gen != static_cast<std::uint32_t>(e.data.u64 >> 32)) return 0;
    int woken = 0;
    const std::uint32_t bits[2] = {EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR, EPOLLOUT | EPOLLHUP | EPOLLERR};
    for (int d = 0; d < 2; ++d) {
      if (!(e.events & bits[d])) continue;
      if (d == 0) st.drained = false;
      if (st.q[d].empty()) {
        st.ready[d] = true;
        continue;
      }
      wait_ctx* who;
      while (claim_first(st.q[d], wake::notified, &who)) {
        wake_up(who);
        ++woken;
      }
    }
    return woken;
  }
};

}  // namespace

std::unique_ptr<poller> make_poller(std::string_view name, scheduler& s) {
  if (!name.empty() && name != "epoll")
    throw usage_error("weft: poller backend \"" + std::string(name) + "\" is not built in; this build has: epoll");
  return std::make_unique<epoll_poller>(s);
}

}  // namespace weft::detail
