// runtime/rt.cpp — the hooks' narrow API (rt.hpp), on top of the scheduler,
// the fd registry and the poller.
#include "rt.hpp"

#include "fd_registry.hpp"
#include "file_io.hpp"
#include "offload_pool.hpp"
#include "log.hpp"
#include "os_thread.hpp"
#include "process.hpp"
#include "sched_registry.hpp"
#include "scheduler.hpp"
#include "signals.hpp"
#include "wait_ctx.hpp"
#include "workers.hpp"

#include <cstring>


namespace weft::rt {

__attribute__((tls_model("initial-exec"))) constinit thread_local int tl_vfork asm("weft_tl_vfork") = 0;

namespace {

using detail::scheduler;

// running_fiber() is the executing fiber's block, or nullptr (rt.hpp note 1).
detail::fiber_ctl* running_fiber() noexcept {
  scheduler* s = detail::tl_sched;
  if (!s || tl_vfork) return nullptr;
  detail::fiber_ctl* f = s->running();
  return (f->is_main_ctx || f->state != detail::fiber_state::running) ? nullptr : f;
}

}  // namespace

bool on_fiber() noexcept { return running_fiber() != nullptr; }

bool in_idle_work() noexcept {
  scheduler* s = detail::tl_sched;
  return s && s->running()->state != detail::fiber_state::running;
}

fiber* self() noexcept { return running_fiber(); }

std::uint64_t id(const fiber* f) noexcept { return f->id; }

void*& user_slot(fiber* f) noexcept { return f->thread_rec; }

void stack_of(const fiber* f, void** lo, std::size_t* size) noexcept {
  *lo = static_cast<char*>(f->stack.sp) - f->stack.size;
  *size = f->stack.size;
}

unsigned carriers() noexcept {
  scheduler* s = detail::tl_sched;
  detail::worker_group* g = s ? s->group() : nullptr;
  return g ? static_cast<unsigned>(g->size()) : 1;
}

void yield() noexcept { detail::tl_sched->yield(); }

void safe_point() noexcept {
  if (running_fiber()) detail::tl_sched->safe_point();
}

wake park_fd(int fd, io_event ev, ns_t deadline, sig_mode sig, const sigset_t* mask) {
  return detail::wait_fd(fd, ev, deadline, sig, mask);
}

wake park_until(ns_t deadline, const sigset_t* mask, sig_mode sig) {
  detail::tl_sched->note_io_park();
  detail::waiter w;
  return detail::block_local(w, {.deadline = deadline, .reason = detail::wait_reason::sleep, .sig = sig, .sigmask = mask});
}

unsigned long parks() noexcept { return detail::io_parks(); }

io_call perform(io_op& op, io_wait& w) {
  detail::fd_entry* e;
  fd_facts f = detail::facts_of(op.fd, &e);
  if (f.kind == fd_kind::file && (op.code == op_code::read || op.code == op_code::write))
    return {detail::file_rw(op, f), wake::notified, true};  // page cache, else the offload pool
  if (!f.pollable() || f.nonblock) return {detail::attempt(op, f, true), wake::notified, true};
  io_event ev = detail::direction(op);
  if (w.from_fd) {
    w.from_fd = false;
    if (f.kind == fd_kind::socket && e) {
      w.deadline = detail::deadline_of(*e, ev == io_event::writable);
      if (w.deadline != detail::no_deadline) w.sig = sig_mode::always;
    }
  }
  detail::io_result r = detail::tl_sched->io().perform(
      op, f,
      {.deadline = w.deadline,
       .reason = ev == io_event::readable ? detail::wait_reason::fd_read : detail::wait_reason::fd_write,
       .arg = static_cast<std::uint64_t>(op.fd),
       .sig = w.sig});
  return {r.value, r.ended, false};
}

ssize_t file_pio(int fd, const iovec* iov, int n, off_t pos, bool write) noexcept {
  io_op op{.code = write ? op_code::write : op_code::read, .fd = fd, .iov = iov, .iovcnt = n};
  fd_facts f = detail::facts_of(fd);
  return detail::file_rw(op, f, pos);
}

long file_sync(int fd, int which, off_t off, off_t len, unsigned flags) noexcept {
  using k = detail::file_req::kind;
  return detail::file_sync(
      {.what = which == 0 ? k::fsync : which == 1 ? k::fdatasync : k::sync_range, .fd = fd, .off = off, .len = len, .flags = flags});
}


fd_facts facts(int fd) noexcept { return detail::facts_of(fd); }

ns_t deadline(int fd, bool writable) noexcept { return detail::fd_deadline(fd, writable); }

void fd_created(int fd, fd_kind kind, bool stream, bool nonblock, bool seqpacket) noexcept {
  if (tl_vfork) return;
  detail::set_facts(fd, {.kind = kind, .stream = stream, .nonblock = nonblock, .seqpacket = seqpacket});
}

void fd_forgotten(int fd) noexcept {
  if (!tl_vfork) detail::clear_facts(fd);
}

void fd_closing(int fd) noexcept {
  if (tl_vfork) return;
  detail::forget_fd(fd);
}

void fd_copied(int from, int to) noexcept {
  if (tl_vfork) return;
  detail::copy_facts(from, to);
}

bool weft_fd(int fd) noexcept { return detail::is_runtime_fd(fd); }
int own_fd(int fd) noexcept { return detail::runtime_fd(fd); }
void disown_fd(int fd) noexcept { detail::runtime_fd_closed(fd); }
std::size_t weft_fds(int* out, std::size_t n) noexcept { return detail::runtime_fds(out, n); }

void flags_changed() noexcept {
  if (tl_vfork) return;
  detail::bump_flags_epoch();
}

void child_started(pid_t pid) noexcept {
  if (!tl_vfork && pid > 0) detail::child_started(pid);
}

void child_reaped(pid_t pid) noexcept {
  if (!tl_vfork && pid > 0) detail::child_reaped(pid);
}

std::size_t children(pid_t* out, std::size_t n) noexcept { return detail::children(out, n); }

void after_fork_child() noexcept { detail::fork_child(); }

void exec_sigmask(sigset_t* m) noexcept { detail::exec_mask(m); }
void set_sigmask_provider(bool (*fn)(sigset_t*)) noexcept { detail::set_mask_provider(fn); }
void real_sigmask(sigset_t* m) noexcept { detail::thread_sigmask(SIG_BLOCK, nullptr, m); }
void apply_sigmask(const sigset_t* m) noexcept { detail::thread_sigmask(SIG_SETMASK, m, nullptr); }

void log(const char* text) noexcept { detail::log_write(text, std::strlen(text)); }

void signal_caught(int sig, bool restart) noexcept { detail::signal_caught(sig, restart); }

int kill_fiber(fiber* f, int sig) noexcept { return detail::kill_fiber(f, sig); }

int runtime_sigaction(int sig, const struct sigaction* act, struct sigaction* old) noexcept {
  return detail::runtime_sigaction(sig, act, old);
}

}  // namespace weft::rt
