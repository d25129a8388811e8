// runtime/poller_uring.cpp — the io_uring backend of the poller contract.
//
// One ring per carrier thread, its fd moved to the runtime's high range,
// made by the probe (probe_uring(): io_uring_setup and every opcode used
// here) or at the thread's first fd wait, and kept by the thread across
// schedulers (kernel_ring below says why). Chosen at run time:
// config.backend / WEFT_BACKEND = "uring" (make_poller, poller_factory.cpp).
//
// perform() submits the operation itself on sockets and pipes (a write
// first tries once without blocking, as epoll's does) — the plain
// blocking-style call, on a description the program left blocking (rt.cpp
// routes non-blocking ones to the plain call): READ/WRITE (READV/WRITEV for
// several buffers, RECV/SEND for one buffer on a socket), RECV/SEND or
// RECVMSG/SENDMSG for recvfrom/sendto (a msghdr carries the address),
// RECVMSG, SENDMSG, ACCEPT, CONNECT. Other pollable files (ttys, eventfd,
// signalfd...), sendfile and custom operations keep epoll's model: a
// non-blocking attempt() (io_op.hpp), a POLL_ADD between attempts. wait_fd()
// is one POLL_ADD; a oneshot poll looks at the fd's state when armed, so no
// edge needs remembering.
//
// A request (struct request) lives on the waiting fiber's stack; its address
// is the SQE's user_data. SQEs are batched and reach the kernel at the next
// poll() (one io_uring_enter per scheduler round for all of them), except
// cancels made by forget(), which are submitted at once. Per fd (fd_state):
// the incarnation (fd_registry.hpp) under which its requests were submitted
// and the list of requests in flight.
//
// The end of a wait, in two phases:
//   1. the fiber parks on the request's waiter, claimable by its completion
//      (notified), forget() (closed), its deadline, weft::timeout, cancel()
//      or a signal;
//   2. if anything but the completion ended phase 1 and the request is
//      still in flight, the fiber submits IORING_OP_ASYNC_CANCEL for it and
//      parks again, uninterruptibly, until its final CQE: no kernel write
//      into a buffer whose owner has left. If that CQE carries a result
//      (the operation finished before the cancel), the result is returned,
//      not lost; -ECANCELED / -EINTR mean it did not run, and the reason of
//      phase 1 is returned.
// forget(fd) (before close) claims the phase-1 waiters with `closed` and
// submits io_uring_prep_cancel_fd(fd, ALL), so the file's last reference
// goes and a socket sends FIN at once; forget_incarnation() (the file was
// closed on another thread, so the number no longer names it) cancels each
// request by its user_data instead.
//
// interrupt() writes an eventfd on which the ring keeps one READ pending.
// fork: the ring's mappings are marked MADV_DONTFORK (io_uring_ring_dontfork),
// so the child never shares the parent's queues; a pthread_atfork child
// handler and after_fork() close the child's ring fd and eventfd, and
// after_fork() forgets every request; a fresh ring comes at the child's
// next wait. liburing makes its own syscalls (no libc, so no
// hooks); setup and probing are raw syscalls here, so that a seccomp filter
// or sysctl refusal is seen as the kernel's errno.
#include "poller.hpp"
#include "poller_parts.hpp"
#include "fd_registry.hpp"
#include "raw_syscall.hpp"
#include "sched_registry.hpp"
#include "scheduler.hpp"
#include "wait_ctx.hpp"

#include <weft/errors.hpp>

#include <liburing.h>
#include <linux/futex.h>
#include <poll.h>
#include <pthread.h>
#include <sys/eventfd.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace weft::detail {
namespace {

constexpr std::uint64_t ignore_tag = 0;  // cancels: their CQEs say nothing we need
constexpr std::uint64_t wake_tag = 1;    // the eventfd read
constexpr unsigned sq_entries = 256;
constexpr unsigned cq_entries = 4096;

// The opcodes this backend submits; the probe requires all of them.
constexpr int needed_ops[] = {IORING_OP_READ,    IORING_OP_WRITE,   IORING_OP_READV,   IORING_OP_WRITEV,
                              IORING_OP_RECV,    IORING_OP_SEND,    IORING_OP_RECVMSG, IORING_OP_SENDMSG,
                              IORING_OP_ACCEPT,  IORING_OP_CONNECT, IORING_OP_POLL_ADD, IORING_OP_ASYNC_CANCEL,
                              IORING_OP_FSYNC,   IORING_OP_SYNC_FILE_RANGE};

void sys_close(int fd) { sys(SYS_close, fd); }

// One submitted operation, on the waiting fiber's stack.
struct request {
  waiter* cur = nullptr;      // the waiter its completion claims
  request* next = nullptr;    // in its fd's in-flight list
  request* prev = nullptr;
  int fd = -1;
  int res = 0;                // the CQE's result
  bool done = false;          // its final CQE came
  bool linked = false;        // in the fd's list
  bool cancel_sent = false;   // an ASYNC_CANCEL covers it
  bool draining = false;      // phase 2: only its CQE may wake the fiber
};

struct fd_state {
  std::uint32_t inc = 0;      // the fd number's incarnation of the requests below
  bool watched = false;       // note_watch() ran for this registration
  request* head = nullptr;    // requests in flight on fd
};

// The ring and its wake eventfd, kept per thread across schedulers: closing
// a ring makes the kernel's exit work queue task work on every thread that
// submitted to it, which ends that thread's next blocking syscall with EINTR
// (a plain accept with SO_RCVTIMEO after weft::run returned). So a ring is
// closed only when its thread exits, and the next scheduler on the thread
// takes it over, with its eventfd read still pending.
struct kernel_ring {
  io_uring ring{};
  int fd = -1;
  int evfd = -1;
  std::uint64_t wake_buf = 0;  // the eventfd read's buffer
  kernel_ring() = default;
  kernel_ring(const kernel_ring&) = delete;
  ~kernel_ring() {
    if (fd < 0) return;
    runtime_fd_closed(fd);
    io_uring_queue_exit(&ring);
    runtime_fd_closed(evfd);
    sys_close(evfd);
  }
};
thread_local kernel_ring tl_ring;

// drop_thread_ring() forgets the calling thread's ring in a fork()ed child,
// with or without a scheduler: the mappings did not come along
// (MADV_DONTFORK), and the child never submitted to the ring, so closing
// its fds brings no task work back. (A pthread_atfork child handler.)
void drop_thread_ring() noexcept {
  kernel_ring& t = tl_ring;
  for (int fd : {t.fd, t.evfd}) {
    if (fd < 0) continue;
    runtime_fd_closed(fd);
    sys_close(fd);
  }
  t.fd = t.evfd = -1;
  std::memset(&t.ring, 0, sizeof t.ring);
}

// prep_wake() makes e the eventfd read that interrupt() completes.
void prep_wake(io_uring_sqe* e, kernel_ring& t) noexcept {
  io_uring_prep_read(e, t.evfd, &t.wake_buf, sizeof t.wake_buf, 0);
  io_uring_sqe_set_data64(e, wake_tag);
}

// supported() checks the features and opcodes this backend needs on ring fd:
// 0, or EINVAL (an old kernel), or the registration's errno.
int supported(int fd, const io_uring_params& p) noexcept {
  if (!(p.features & IORING_FEAT_EXT_ARG) || !(p.features & IORING_FEAT_NODROP)) return EINVAL;
  constexpr unsigned nops = 256;
  auto* probe = static_cast<io_uring_probe*>(std::calloc(1, sizeof(io_uring_probe) + nops * sizeof(io_uring_probe_op)));
  if (!probe) return ENOMEM;
  long r = sys(SYS_io_uring_register, fd, IORING_REGISTER_PROBE, probe, nops);
  int err = r < 0 ? static_cast<int>(-r) : 0;
  for (int op : needed_ops)
    if (!err && (op > probe->last_op || !(probe->ops[op].flags & IO_URING_OP_SUPPORTED))) err = EINVAL;
  std::free(probe);
  return err;
}

// open_thread_ring() makes the calling thread's ring and wake eventfd (as
// the runtime's own high fds, the eventfd read queued) unless it has them:
// 0, or the errno that refused io_uring (ENOSYS, EPERM: a seccomp filter or
// kernel.io_uring_disabled; ENOMEM: RLIMIT_MEMLOCK; EINVAL: an opcode or
// feature missing). This is also the probe: made once per thread, the ring
// is then kept (kernel_ring), so probing costs no second ring.
int open_thread_ring() noexcept {
  kernel_ring& t = tl_ring;
  if (t.fd >= 0) return 0;
  static std::once_flag atfork;
  std::call_once(atfork, [] { pthread_atfork(nullptr, nullptr, drop_thread_ring); });
  io_uring_params p{};
  // DEFER_TASKRUN: completion work runs only when poll() enters the ring,
  // never as a notification that would end a blocking syscall of this
  // thread with EINTR. SINGLE_ISSUER, which it needs, holds: only the
  // thread that made the ring submits to it.
  p.flags = IORING_SETUP_CQSIZE | IORING_SETUP_SUBMIT_ALL | IORING_SETUP_SINGLE_ISSUER |
            IORING_SETUP_DEFER_TASKRUN | IORING_SETUP_TASKRUN_FLAG;
  // WEFT_URING_CQ (tests): a smaller completion queue, e.g. 64, so that
  // completions overflow into the kernel's list (IORING_FEAT_NODROP).
  unsigned cq = cq_entries, sq = sq_entries;
  if (const char* v = std::getenv("WEFT_URING_CQ"); v && std::atoi(v) >= 2) {
    cq = static_cast<unsigned>(std::atoi(v));
    sq = std::min(sq, cq / 2);
  }
  p.cq_entries = cq;
  long fd = sys(SYS_io_uring_setup, sq, &p);
  if (fd == -EINVAL) {
    p = io_uring_params{};
    fd = sys(SYS_io_uring_setup, sq, &p);
  }
  if (fd < 0) return static_cast<int>(-fd);
  int rfd = runtime_fd(static_cast<int>(fd));
  int err = supported(rfd, p);
  if (!err) err = -io_uring_queue_mmap(rfd, &p, &t.ring);
  long ev = err ? -1 : sys(SYS_eventfd2, 0, EFD_CLOEXEC);
  if (!err && ev < 0) {
    runtime_fd_closed(rfd);
    io_uring_queue_exit(&t.ring);  // unmaps, closes rfd
    std::memset(&t.ring, 0, sizeof t.ring);
    return static_cast<int>(-ev);
  }
  if (err) {
    runtime_fd_closed(rfd);
    sys_close(rfd);
    std::memset(&t.ring, 0, sizeof t.ring);
    return err;
  }
  for (unsigned i = 0; i < *t.ring.sq.kring_entries; ++i) t.ring.sq.array[i] = i;  // flush_sq() relies on it
  t.ring.features = p.features;  // io_uring_queue_mmap leaves it 0: EXT_ARG waits need it
  io_uring_ring_dontfork(&t.ring);
  t.fd = rfd;
  t.evfd = runtime_fd(static_cast<int>(ev));
  prep_wake(io_uring_get_sqe(&t.ring), t);  // the SQ is empty: there is an SQE
  return 0;
}

class uring_poller final : public poller {
 public:
  explicit uring_poller(scheduler& s) : s_(s) {}

  // The ring stays with the thread (kernel_ring); no fiber is left, so no
  // request of this poller can still be in flight.
  // Requests still in flight here belong to fibers that never run again (a
  // Boost.Fiber host abandoned them at its end): abandon_in_flight().
  ~uring_poller() override {
    if (in_flight_ > 0) abandon_in_flight();
    WEFT_ASSERT(in_flight_ == 0, "uring poller destroyed with %zu requests in flight", in_flight_);
  }

  void after_fork() noexcept override {
    drop_thread_ring();  // already done by the atfork handler, unless _Fork
    k_ = &none_;
    evfd_.store(-1, std::memory_order_relaxed);
    fds_.reset();
    in_flight_ = 0;
  }

  std::string_view name() const noexcept override { return "uring"; }

  // ---- waits ---------------------------------------------------------------

  wake wait_fd(int fd, io_event ev, const wait_opts& o) override {
    if (fd < 0) return wake::closed;
    if (!open_kernel_objects()) return wait_retry(o);
    request rq;
    io_uring_prep_poll_add(sqe(rq), fd, ev == io_event::readable ? POLLIN | POLLRDHUP : POLLOUT);
    io_result r = finish(rq, fd, o);
    if (r.ended != wake::notified) return r.ended;
    return r.value == -EBADF ? wake::closed : wake::notified;  // other errors: the caller's retry says
  }

  io_result perform(io_op& op, fd_facts& f, const wait_opts& o) override {
    bool native = (f.kind == fd_kind::socket || f.kind == fd_kind::pipe) && op.code <= op_code::connect &&
                  !op.connecting;
    if (!native || !open_kernel_objects()) return poll_then_attempt(op, f, o);
    // A write that can proceed is made at once, as with epoll (the fiber
    // does not yield, and SIGPIPE comes from the syscall); only one that
    // would block goes to the ring.
    const bool w_dir = direction(op) == io_event::writable && op.code != op_code::connect;
    if (w_dir) {
      ssize_t r = attempt(op, f, false);
      if (r != -EAGAIN) return {r, wake::notified};
    }
    request rq;
    msghdr m{};    // recvfrom/sendto with an address
    iovec one{};
    io_uring_sqe* e = sqe(rq);
    const int fd = op.fd;
    const bool sock = f.kind == fd_kind::socket;
    switch (op.code) {
      case op_code::read:
      case op_code::write: {
        bool w = op.code == op_code::write;
        if (op.iovcnt == 1 && sock && (w || op.iov[0].iov_len > 0)) {
          if (w) io_uring_prep_send(e, fd, op.iov[0].iov_base, op.iov[0].iov_len, f.seqpacket ? MSG_EOR : 0);
          else io_uring_prep_recv(e, fd, op.iov[0].iov_base, op.iov[0].iov_len, 0);
        } else if (op.iovcnt == 1) {
          if (w) io_uring_prep_write(e, fd, op.iov[0].iov_base, static_cast<unsigned>(op.iov[0].iov_len), -1);
          else io_uring_prep_read(e, fd, op.iov[0].iov_base, static_cast<unsigned>(op.iov[0].iov_len), -1);
        } else if (w && sock) {
          // sock_write_iter's MSG_EOR for seqpacket needs sendmsg here.
          m.msg_iov = const_cast<iovec*>(op.iov);
          m.msg_iovlen = static_cast<std::size_t>(op.iovcnt);
          io_uring_prep_sendmsg(e, fd, &m, f.seqpacket ? MSG_EOR : 0);
        } else {
          if (w) io_uring_prep_writev(e, fd, op.iov, static_cast<unsigned>(op.iovcnt), -1);
          else io_uring_prep_readv(e, fd, op.iov, static_cast<unsigned>(op.iovcnt), -1);
        }
        break;
      }
      case op_code::recvfrom:
      case op_code::sendto: {
        bool w = op.code == op_code::sendto;
        if (!op.addr || (!w && !op.addrlen)) {
          if (w) io_uring_prep_send(e, fd, op.buf, op.len, op.flags);
          else io_uring_prep_recv(e, fd, op.buf, op.len, op.flags);
          break;
        }
        one = {op.buf, op.len};
        m.msg_iov = &one;
        m.msg_iovlen = 1;
        m.msg_name = op.addr;
        m.msg_namelen = w ? op.alen : *op.addrlen;
        if (w) io_uring_prep_sendmsg(e, fd, &m, static_cast<unsigned>(op.flags));
        else io_uring_prep_recvmsg(e, fd, &m, static_cast<unsigned>(op.flags));
        break;
      }
      case op_code::recvmsg: io_uring_prep_recvmsg(e, fd, op.msg, static_cast<unsigned>(op.flags)); break;
      case op_code::sendmsg: io_uring_prep_sendmsg(e, fd, op.msg, static_cast<unsigned>(op.flags)); break;
      case op_code::accept: io_uring_prep_accept(e, fd, op.addr, op.addrlen, op.flags); break;
      case op_code::connect: io_uring_prep_connect(e, fd, op.addr, op.alen); break;
      default: WEFT_ASSERT(false, "uring: op %d is not native", int(op.code));
    }
    io_result r = finish(rq, fd, o);
    // The ring's socket sends never raise SIGPIPE (MSG_NOSIGNAL); the
    // syscall would have, on the calling thread.
    if (w_dir && sock && r.ended == wake::notified && r.value == -EPIPE && !(op.flags & MSG_NOSIGNAL))
      sys(SYS_tgkill, sys(SYS_getpid), sys(SYS_gettid), SIGPIPE);
    if (r.ended == wake::notified && r.value >= 0 && op.code == op_code::recvfrom && m.msg_name)
      *op.addrlen = m.msg_namelen;
    // connect: an earlier connect (interrupted) still runs in the kernel; wait
    // for its end as epoll's attempt does (writability, then SO_ERROR).
    if (op.code == op_code::connect && r.ended == wake::notified && r.value == -EALREADY) {
      op.connecting = true;
      return poll_then_attempt(op, f, o);
    }
    return r;
  }

  // file_op() submits a regular-file read, write or sync (poller.hpp): the
  // kernel reads through the page cache asynchronously, without a thread
  // of ours. The wait is not interruptible, as on the pool: the kernel
  // writes into the caller's buffers. A close() meanwhile cancels it
  // (forget), and the final CQE still ends the wait.
  bool file_op(const file_req& q, long* res) noexcept override {
    if (!open_kernel_objects()) return false;
    request rq;
    io_uring_sqe* e = sqe(rq);
    const auto n = static_cast<unsigned>(q.iovcnt);
    switch (q.what) {
      case file_req::kind::readv:
        if (n == 1) io_uring_prep_read(e, q.fd, q.iov[0].iov_base, static_cast<unsigned>(q.iov[0].iov_len), q.pos);
        else io_uring_prep_readv(e, q.fd, q.iov, n, q.pos);
        break;
      case file_req::kind::writev:
        if (n == 1) io_uring_prep_write(e, q.fd, q.iov[0].iov_base, static_cast<unsigned>(q.iov[0].iov_len), q.pos);
        else io_uring_prep_writev(e, q.fd, q.iov, n, q.pos);
        break;
      case file_req::kind::fsync: io_uring_prep_fsync(e, q.fd, 0); break;
      case file_req::kind::fdatasync: io_uring_prep_fsync(e, q.fd, IORING_FSYNC_DATASYNC); break;
      case file_req::kind::sync_range:
        io_uring_prep_sync_file_range(e, q.fd, static_cast<unsigned>(q.len), q.off, static_cast<int>(q.flags));
        break;
    }
    bool w = q.what != file_req::kind::readv;
    io_result r = finish(rq, q.fd, {.interruptible = false, .reason = w ? wait_reason::fd_write : wait_reason::fd_read,
                                    .arg = static_cast<std::uint64_t>(q.fd)},
                         false);
    *res = r.ended == wake::notified ? r.value : -EBADF;
    return true;
  }

  // ---- close and fork -----------------------------------------------------

  void forget(int fd) noexcept override { drop(fd, true); }

  void forget_incarnation(int fd, std::uint32_t inc) noexcept override {
    fd_state* st = find(fd);
    if (st && st->head && st->inc == inc) drop(fd, false);
  }

  // ---- the loop ---------------------------------------------------------------

  int poll(ns_t timeout_ns, const sigset_t* mask) override {
    if (k_->fd < 0 && (mask == nullptr || !open_kernel_objects())) return futex_sleep(timeout_ns);
    if (mask && timeout_ns == 0) timeout_ns = 1;  // a 0 timeout would not look at signals
    int saved = errno;  // idle work runs on a parking fiber, before its errno is saved
    unsigned submit = flush_sq();
    // Nothing to submit and no deferred completion work: look at the CQ only.
    if (timeout_ns != 0 || submit || (IO_URING_READ_ONCE(*k_->ring.sq.kflags) & (IORING_SQ_TASKRUN | IORING_SQ_CQ_OVERFLOW)))
      enter(submit, timeout_ns != 0 ? 1 : 0, timeout_ns, mask);
    errno = saved;
    int woken = 0;
    unsigned head, n = 0;
    io_uring_cqe* cqe;
    io_uring_for_each_cqe(&k_->ring, head, cqe) {
      woken += dispatch(cqe->user_data, cqe->res);
      ++n;
    }
    io_uring_cq_advance(&k_->ring, n);
    return woken;
  }

  void interrupt() noexcept override {
    int ev = evfd_.load(std::memory_order_acquire);
    if (ev >= 0) {
      std::uint64_t one = 1;
      sys(SYS_write, ev, &one, sizeof one);
      return;
    }
    idle_.wake();
  }

 private:
  scheduler& s_;
  kernel_ring none_;                    // k_ until the first fd wait
  kernel_ring* k_ = &none_;             // then the thread's ring (tl_ring)
  std::atomic<int> evfd_{-1};           // idem; read by interrupt() on other threads
  idle_futex idle_;                     // the idle wait before the ring exists
  std::size_t in_flight_ = 0;           // requests submitted whose final CQE has not come
  bool abandoning_ = false;             // the destructor drains abandoned requests
  fd_table<fd_state> fds_;

  // open_kernel_objects() makes the ring and the wake eventfd, as the
  // runtime's own high fds, with the eventfd read pending; false (errno
  // set) if the kernel refuses now.
  // open_kernel_objects() takes the thread's ring (open_thread_ring());
  // false (errno set) if the kernel refuses it now.
  bool open_kernel_objects() noexcept {
    if (k_->fd >= 0) return true;
    if (int e = open_thread_ring()) {
      errno = e;
      return false;
    }
    k_ = &tl_ring;
    evfd_.store(k_->evfd, std::memory_order_release);
    return true;
  }

  // enter() submits `submit` SQEs and waits for wait_nr CQEs, up to
  // timeout_ns (-1: no limit), with the signal mask `mask` if given.
  void enter(unsigned submit, unsigned wait_nr, ns_t timeout_ns, const sigset_t* mask) noexcept {
    __kernel_timespec ts{timeout_ns / 1000000000, timeout_ns % 1000000000};
    io_uring_getevents_arg arg{};
    arg.sigmask = reinterpret_cast<std::uintptr_t>(mask);
    arg.sigmask_sz = _NSIG / 8;
    arg.ts = timeout_ns > 0 ? reinterpret_cast<std::uintptr_t>(&ts) : 0;
    int r = io_uring_enter2(k_->fd, submit, wait_nr, IORING_ENTER_GETEVENTS | IORING_ENTER_EXT_ARG,
                            reinterpret_cast<sigset_t*>(&arg), sizeof arg);
    WEFT_ASSERT(r >= 0 || r == -ETIME || r == -EINTR || r == -EAGAIN || r == -EBUSY,
                "io_uring_enter failed: %s", std::strerror(-r));
  }

  // flush_sq() makes the queued SQEs visible to the kernel and returns how
  // many it has not consumed: liburing 2.3's submit-and-wait loses its
  // timeout when it must enter twice, so poll() enters by itself.
  unsigned flush_sq() noexcept {
    io_uring_sq& sq = k_->ring.sq;
    unsigned tail = sq.sqe_tail;
    if (sq.sqe_head != tail) {
      sq.sqe_head = tail;
      io_uring_smp_store_release(sq.ktail, tail);
    }
    return tail - io_uring_smp_load_acquire(sq.khead);
  }

  // raw_sqe() is a free SQE, submitting the queued ones if the ring is full.
  io_uring_sqe* raw_sqe() noexcept {
    for (;;) {
      if (io_uring_sqe* e = io_uring_get_sqe(&k_->ring)) return e;
      int r = io_uring_submit(&k_->ring);
      WEFT_ASSERT(r >= 0 || r == -EAGAIN || r == -EBUSY || r == -EINTR, "io_uring_submit failed: %s", std::strerror(-r));
    }
  }

  // sqe() is a free SQE whose user_data is rq.
  io_uring_sqe* sqe(request& rq) noexcept {
    io_uring_sqe* e = raw_sqe();
    io_uring_sqe_set_data(e, &rq);
    return e;
  }

  // cancel() queues an ASYNC_CANCEL for rq.
  void cancel(request& rq) noexcept {
    io_uring_sqe* e = raw_sqe();
    io_uring_prep_cancel(e, &rq, 0);
    io_uring_sqe_set_data64(e, ignore_tag);
    rq.cancel_sent = true;
  }

  // finish() tracks rq (its SQE queued) under its fd, parks the fiber until
  // the wait ends, and cancels and drains the request if the completion did
  // not end it (file comment). Returns the result, or why the wait ended.
  // A file operation (counted = false) is not a readiness wait: it does
  // not count in rt::parks(), as on the offload pool.
  io_result finish(request& rq, int fd, const wait_opts& o, bool counted = true) {
    rq.fd = fd;
    fd_state& st = at(fd);
    std::uint32_t inc = fd_incarnation(fd);
    if (st.head && st.inc != inc) drop(fd, false);  // requests of a file closed on another thread
    if (!st.head) st.inc = inc;
    if (!st.watched) {
      note_watch(fd, s_.slot());
      st.watched = true;
    }
    rq.next = st.head;
    if (st.head) st.head->prev = &rq;
    st.head = &rq;
    rq.linked = true;
    ++in_flight_;
    waiter w;
    rq.cur = &w;
    if (counted) s_.note_io_park();
    wake r = block_local(w, o);
    if (r == wake::notified) return {rq.res, wake::notified};
    if (!rq.done) {
      if (!rq.cancel_sent) cancel(rq);
      waiter w2;
      rq.cur = &w2;
      rq.draining = true;
      block_local(w2, {.interruptible = false, .reason = o.reason, .arg = o.arg});
    }
    if (rq.res != -ECANCELED && rq.res != -EINTR && !(r == wake::closed && rq.res == -EBADF))
      return {rq.res, wake::notified};  // it finished anyway: its result is not lost
    return {0, r};
  }

  // abandon_in_flight() cancels every request still in flight and takes
  // their final CQEs without waking anyone (their fibers never run again;
  // their stacks, which hold the requests, are never freed), so that the
  // next scheduler of this thread, which takes the ring over, never sees
  // them. Up to 1 s; the destructor's assert reports what is left.
  void abandon_in_flight() noexcept {
    abandoning_ = true;
    fds_.for_each([&](int, fd_state& st) {
      for (request* rq = st.head; rq; rq = rq->next)
        if (!rq->cancel_sent) cancel(*rq);
    });
    ns_t until = now_ns() + 1000000000;
    while (in_flight_ > 0 && now_ns() < until) poll(1000000, nullptr);
  }

  // dispatch() takes one CQE: the request's final result, and its wake-up.
  int dispatch(std::uint64_t ud, int res) noexcept {
    if (ud == ignore_tag || ud == LIBURING_UDATA_TIMEOUT) return 0;
    if (ud == wake_tag) {
      if (evfd_.load(std::memory_order_relaxed) >= 0) prep_wake(raw_sqe(), *k_);
      return 0;
    }
    auto* rq = reinterpret_cast<request*>(ud);
    rq->res = res;
    rq->done = true;
    --in_flight_;
    if (rq->linked) unlink(*rq);
    if (abandoning_) return 0;
    wait_ctx* who = claim_locked(*rq->cur, wake::notified);
    if (!who) return 0;
    wake_up(who);
    return 1;
  }

  void unlink(request& rq) noexcept {
    fd_state& st = at(rq.fd);
    if (rq.prev) rq.prev->next = rq.next; else st.head = rq.next;
    if (rq.next) rq.next->prev = rq.prev;
    rq.next = rq.prev = nullptr;
    rq.linked = false;
  }

  // drop() wakes fd's phase-1 waiters with `closed`, cancels every request
  // in flight on fd (by the fd: it still names the file; else one by one)
  // and submits the cancels at once, then forgets the registration.
  void drop(int fd, bool by_fd) noexcept {
    fd_state* found = find(fd);
    if (!found) return;
    fd_state& st = *found;
    bool any = false;
    while (request* rq = st.head) {
      unlink(*rq);
      if (!rq->cancel_sent) {
        if (by_fd) rq->cancel_sent = true;
        else cancel(*rq);
      }
      any = true;
      if (!rq->draining)
        if (wait_ctx* who = claim_locked(*rq->cur, wake::closed)) wake_up(who);
    }
    if (any && by_fd) {
      io_uring_sqe* e = raw_sqe();
      io_uring_prep_cancel_fd(e, fd, IORING_ASYNC_CANCEL_ALL);
      io_uring_sqe_set_data64(e, ignore_tag);
    }
    if (any) io_uring_submit(&k_->ring);
    if (st.watched) clear_watch(fd, s_.slot());
    st.watched = false;
  }

  // poll_then_attempt() is epoll's model over POLL_ADD: non-blocking attempts,
  // a readiness wait in between.
  io_result poll_then_attempt(io_op& op, fd_facts& f, const wait_opts& o) {
    for (;;) {
      ssize_t r = attempt(op, f, false);
      if (r != -EAGAIN) return {r, wake::notified};
      wake w = op.backoff || k_->fd < 0 ? wait_retry(o) : wait_fd(op.fd, direction(op), o);
      if (w != wake::notified) return {0, w};
    }
  }

  int futex_sleep(ns_t timeout_ns) noexcept {
    idle_.sleep(timeout_ns);
    return 0;
  }

  fd_state* find(int fd) noexcept { return fds_.find(fd); }
  fd_state& at(int fd) { return fds_.at(fd); }
};

}  // namespace

int probe_uring() noexcept { return open_thread_ring(); }

std::unique_ptr<poller> make_uring_poller(scheduler& s) { return std::make_unique<uring_poller>(s); }

}  // namespace weft::detail
