// runtime/poller_epoll.cpp — the epoll backend of the poller contract.
//
// Each fd is registered once, edge-triggered for in+out (Go's netpoller
// model), on its first wait. Per-fd state (fd_state below):
//   inc        the fd number's incarnation (fd_registry.hpp) at registration,
//              carried in the event's data with the fd: an event or a
//              registration of an older incarnation belongs to a closed file
//              and is ignored or dropped;
//   ready[d]   a token per direction: an edge that arrived while nobody
//              waited; the next wait consumes it and returns at once;
//   q[d]       the waiters per direction. An edge wakes every waiter of that
//              direction (they retry; losers wait again), so several fibers
//              may wait on one fd (accept on a shared listener);
//   drained    a plain read of a byte stream came back short: its receive
//              queue was empty, so the next perform() parks before trying,
//              saving the EAGAIN syscall. Every arrival after the short read
//              raises an edge, which clears the mark;
//   hup        a hang-up edge (EPOLLRDHUP/HUP/ERR) came: end of file stays
//              readable forever without another edge, so drained is never
//              trusted again for this registration.
// forget() wakes the waiters with `closed` and drops the registration.
// perform() is attempt() (io_op.hpp) until it does not say EAGAIN, parking
// on readiness in between. An eventfd in the set makes poll() return when
// another thread calls interrupt(). The runtime makes its epoll, eventfd and
// close calls as raw syscalls, so that libc hooks never see them.
#include "poller.hpp"
#include "poller_parts.hpp"
#include "fd_registry.hpp"
#include "sched_registry.hpp"
#include "scheduler.hpp"
#include "wait_ctx.hpp"

#include <weft/errors.hpp>

#include <linux/futex.h>
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
constexpr int max_events = 256;

int sys_epoll_ctl(int ep, int op, int fd, epoll_event* e) { return static_cast<int>(syscall(SYS_epoll_ctl, ep, op, fd, e)); }
void sys_close(int fd) { syscall(SYS_close, fd); }

struct fd_state {
  std::uint32_t inc = 0;  // the fd number's incarnation when registered
  bool registered = false;
  bool drained = false;  // a short read emptied it; no input edge since
  bool hup = false;      // a hang-up edge came: end of file needs no edge
  bool ready[2] = {false, false};
  wait_queue q[2];
};

class epoll_poller final : public poller {
 public:
  explicit epoll_poller(scheduler& s) : s_(s) {}

  ~epoll_poller() override { close_kernel_objects(); }

  // after_fork() closes the child's copies of the epoll set and eventfd
  // (shared with the parent) and forgets every registration and waiter: the
  // child's one fiber registers what it waits on anew.
  void after_fork() noexcept override {
    close_kernel_objects();
    fds_.reset();
  }

 private:
  // open_kernel_objects() creates the epoll set and the wake eventfd, as
  // the runtime's own high fds (fd_registry.hpp note 6), when the first
  // wait needs them; false if the kernel refuses (errno says why).
  bool open_kernel_objects() noexcept {
    if (ep_ >= 0) return true;
    int ep = runtime_fd(static_cast<int>(syscall(SYS_epoll_create1, EPOLL_CLOEXEC)));
    if (ep < 0) return false;
    int ev = runtime_fd(static_cast<int>(syscall(SYS_eventfd2, 0, EFD_CLOEXEC | EFD_NONBLOCK)));
    if (ev < 0) {
      int e = errno;
      runtime_fd_closed(ep);
      sys_close(ep);
      errno = e;
      return false;
    }
    epoll_event e{};
    e.events = EPOLLIN;
    e.data.u64 = wake_tag;
    WEFT_ASSERT(sys_epoll_ctl(ep, EPOLL_CTL_ADD, ev, &e) == 0, "epoll_ctl(eventfd): errno %d", errno);
    ep_ = ep;
    evfd_.store(ev, std::memory_order_release);
    return true;
  }

  // close_kernel_objects() closes them (destruction, fork child).
  void close_kernel_objects() noexcept {
    for (int fd : {evfd_.load(std::memory_order_relaxed), ep_}) {
      if (fd < 0) continue;
      runtime_fd_closed(fd);
      sys_close(fd);
    }
    ep_ = -1;
    evfd_.store(-1, std::memory_order_relaxed);
  }

  // add() registers fd edge-triggered for in and out, under its current
  // incarnation; false if epoll refused.
  bool add(int fd, fd_state& st) noexcept {
    if (!open_kernel_objects()) return false;
    epoll_event e{};
    e.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET;
    st.inc = fd_incarnation(fd);
    e.data.u64 = static_cast<std::uint32_t>(fd) | (std::uint64_t(st.inc) << 32);
    if (sys_epoll_ctl(ep_, EPOLL_CTL_ADD, fd, &e) != 0 &&
        (errno != EEXIST || sys_epoll_ctl(ep_, EPOLL_CTL_MOD, fd, &e) != 0))
      return false;
    note_watch(fd, s_.slot());
    return true;
  }

 public:
  wake wait_fd(int fd, io_event ev, const wait_opts& o) override {
    bool unwatchable = false;
    wake r = fd < 0 ? wake::closed : wait_ready(fd, at(fd), ev == io_event::readable ? 0 : 1, o, &unwatchable);
    return unwatchable ? wake::notified : r;  // regular file etc.: always ready
  }

  io_result perform(io_op& op, fd_facts& f, const wait_opts& o) override {
    const int fd = op.fd;
    const int d = direction(op) == io_event::readable ? 0 : 1;
    const std::size_t asked = f.stream && d == 0 ? plain_read_size(op) : 0;
    fd_state& st = at(fd);
    bool try_first = !(asked && st.registered && st.drained && !st.hup && st.inc == fd_incarnation(fd));
    for (;;) {
      if (__builtin_expect(try_first, 1)) {
        ssize_t r = attempt(op, f, false);
        if (r != -EAGAIN) {
          // A short read emptied the stream; only a registered fd can count
          // on the edge that clears the mark.
          if (asked && r > 0 && static_cast<std::size_t>(r) < asked && st.registered && !st.hup) st.drained = true;
          return {r, wake::notified};
        }
        if (op.backoff) {
          wake w = wait_retry(o);  // nothing to wait on (a full AF_UNIX backlog)
          if (w != wake::notified) return {0, w};
          continue;
        }
      }
      try_first = true;
      bool unwatchable = false;
      wake w = wait_ready(fd, st, d, o, &unwatchable);
      if (unwatchable) return {attempt(op, f, true), wake::notified};  // epoll refuses it: the plain call
      if (w != wake::notified) return {0, w};
    }
  }

 private:
  // wait_ready() parks until fd is ready in direction d (0 = in, 1 = out).
  // *unwatchable: epoll refused the fd (EPERM: regular files, /dev/null).
  wake wait_ready(int fd, fd_state& st, int d, const wait_opts& o, bool* unwatchable) {
    // Registered for a file another thread closed since: drop it (waking
    // its waiters with `closed`) and register the file now under fd.
    if (st.registered && __builtin_expect(st.inc != fd_incarnation(fd), 0)) forget(fd);
    if (!st.registered) {
      if (!add(fd, st)) {
        if (errno == EBADF) return wake::closed;
        if (errno == EPERM) {
          *unwatchable = true;
          return wake::notified;
        }
        return wait_retry(o);  // ELOOP, ENOSPC, ENOMEM
      }
      st.registered = true;
      st.hup = st.drained = false;
      st.ready[0] = st.ready[1] = false;
    }
    if (st.ready[d]) {
      st.ready[d] = false;
      if (d == 0) st.drained = false;
      return wake::notified;
    }
    waiter w;
    st.q[d].push(w);
    s_.note_io_park();
    wake r = block_local(w, o);
    if (r != wake::notified && r != wake::closed) st.q[d].remove(w);
    return r;
  }

 public:
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
    st.drained = st.hup = false;
    st.ready[0] = st.ready[1] = false;
  }

  int poll(ns_t timeout_ns, const sigset_t* mask) override {
    // Nothing registered yet: no fds of the runtime's own, wait on a futex.
    if (ep_ < 0 && (mask == nullptr || !open_kernel_objects())) return futex_sleep(timeout_ns);
    // epoll with a zero timeout returns before it looks at signals: wait
    // 1 ns instead, so a pending signal the mask lets through is delivered.
    if (mask && timeout_ns == 0) timeout_ns = 1;
    int saved = errno;  // idle work runs on a parking fiber, before its errno is saved
    int n = wait_events(timeout_ns, mask);
    if (n < 0) {
      WEFT_ASSERT(errno == EINTR, "epoll wait failed: %s", std::strerror(errno));
      errno = saved;
      return 0;
    }
    int woken = 0;
    for (int i = 0; i < n; ++i) woken += dispatch(events_[i]);
    return woken;
  }

  // interrupt(): the eventfd once it exists; before that the scheduler
  // sleeps on the futex word. (A scheduler blocked in poll() cannot make the
  // eventfd meanwhile: only its own thread does, outside poll().)
  void interrupt() noexcept override {
    int ev = evfd_.load(std::memory_order_acquire);
    if (ev >= 0) {
      std::uint64_t one = 1;
      [[maybe_unused]] long r = syscall(SYS_write, ev, &one, sizeof one);
      return;
    }
    idle_.wake();
  }

  std::string_view name() const noexcept override { return "epoll"; }

 private:
  scheduler& s_;
  int ep_ = -1;                        // made at the first fd wait
  std::atomic<int> evfd_{-1};          // idem; read by interrupt() on other threads
  idle_futex idle_;                    // the idle wait before the epoll set exists
  fd_table<fd_state> fds_;
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

  // futex_sleep() is poll() before any fd was registered: sleep until the
  // timeout, interrupt() or a signal. Returns 0 (no fd became ready).
  int futex_sleep(ns_t timeout_ns) noexcept {
    idle_.sleep(timeout_ns);
    return 0;
  }

  fd_state* find(int fd) noexcept { return fds_.find(fd); }
  fd_state& at(int fd) { return fds_.at(fd); }

  int dispatch(const epoll_event& e) noexcept {
    if (e.data.u64 == wake_tag) {
      std::uint64_t v;
      [[maybe_unused]] long r = syscall(SYS_read, evfd_.load(std::memory_order_relaxed), &v, sizeof v);
      return 0;
    }
    int fd = static_cast<int>(e.data.u64 & 0xffffffffu);
    fd_state& st = at(fd);
    if (!st.registered || st.inc != static_cast<std::uint32_t>(e.data.u64 >> 32)) return 0;
    int woken = 0;
    const std::uint32_t bits[2] = {EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR, EPOLLOUT | EPOLLHUP | EPOLLERR};
    for (int d = 0; d < 2; ++d) {
      if (!(e.events & bits[d])) continue;
      if (d == 0) {
        st.drained = false;
        if (e.events & (EPOLLRDHUP | EPOLLHUP | EPOLLERR)) st.hup = true;
      }
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

std::unique_ptr<poller> make_epoll_poller(scheduler& s) { return std::make_unique<epoll_poller>(s); }

}  // namespace weft::detail
