// hooks/threads/thread_hooks.cpp — pthread lifecycle on fibers:
// pthread_create/join/tryjoin/timedjoin/detach/exit/self/once, and the
// pthread_t-taking calls that would dereference a fiber's pthread_t
// (setname/getname, kill/sigqueue, cancel, getattr_np, sched params,
// affinity, CPU clock).
//
// On a fiber, pthread_create spawns a weft fiber on the caller's scheduler
// (the runtime decides the carrier; a started fiber never migrates) with the
// attribute's stack size when one was set (clamped to [16 KiB, 8 MiB]),
// else the scheduler's default (256 KiB in fibers mode). Off a fiber
// (constructors before main, plain threads) threads stay OS threads.
// pthread_exit unwinds the fiber with a private exception (a C++ catch(...)
// that does not rethrow swallows it; docs/porting.md). pthread_exit on the
// main fiber waits for every other thread, then exits with status 0, as
// glibc's process does when its last thread ends (both --threads modes). A
// fiber joining an OS thread polls pthread_tryjoin_np with a backoff.
#include "parking.hpp"
#include "thread_rec.hpp"

#include <weft/fiber.hpp>

#include <dirent.h>
#include <sched.h>
#include <signal.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <new>

namespace weft::hooks::threads {
namespace {

// The exception pthread_exit throws on a thread fiber.
struct thread_exit {
  void* result;
};

std::atomic<long> g_live{0};  // thread fibers not yet ended
std::atomic<bool> g_warn_cancel{false}, g_warn_sigqueue{false};

constexpr std::size_t min_stack = 16 * 1024, max_stack = 8 * 1024 * 1024;

// attr_stack_size() is the stack size set in a (0 when none was set): glibc
// keeps it at offset 32 of struct pthread_attr, 0 meaning "default".
std::size_t attr_stack_size(const pthread_attr_t* a) noexcept {
  static_assert(sizeof(pthread_attr_t) == 56, "glibc x86-64 pthread_attr_t");
  std::size_t n;
  std::memcpy(&n, reinterpret_cast<const char*>(a) + 32, sizeof n);
  if (n == 0) return 0;
  return n < min_stack ? min_stack : n > max_stack ? max_stack : n;
}

// finish() publishes r's result, wakes joiners, and frees r if detached.
// On r's fiber, as its last act.
void finish(thread_rec* r, void* result) {
  run_key_destructors(r);
  rt::fiber* self = rt::self();
  bool free_it;
  {
    bucket_lock g(r);
    r->result = result;
    r->done = true;
    r->ctl = nullptr;
    rt::user_slot(self) = nullptr;
    free_it = r->detached;
    unpark_locked(g.b, r, SIZE_MAX);
  }
  if (free_it) delete r;
  if (g_live.fetch_sub(1, std::memory_order_acq_rel) == 1) unpark(&g_live, SIZE_MAX);
}

// thread_body() is the fiber function of a pthread_create'd thread.
void thread_body(thread_rec* r) {
  rt::fiber* self = rt::self();
  rt::user_slot(self) = r;
  r->ctl = self;
  void* result = nullptr;
  try {
    result = r->fn(r->arg);
  } catch (const thread_exit& e) {
    result = e.result;
  } catch (...) {
    std::terminate();  // what an exception leaving a real thread's start routine does
  }
  finish(r, result);
}

// os_threads() counts this process's OS threads (/proc/self/task).
long os_threads() noexcept {
  DIR* d = opendir("/proc/self/task");
  if (!d) return -1;
  long n = 0;
  while (dirent* e = readdir(d))
    if (e->d_name[0] != '.') ++n;
  closedir(d);
  return n;
}

// main_fiber_exit() is pthread_exit on the main fiber: glibc's would unwind
// the fiber's stack into the runtime, so instead wait, as the process
// would, until every other thread of the program has ended (thread fibers;
// with --threads=os, OS threads beyond the carriers, polled every 10 ms),
// then exit with status 0.
[[noreturn]] void main_fiber_exit() {
  if (fibers_mode()) {
    bucket_lock g(&g_live);
    while (g_live.load(std::memory_order_acquire) != 0) g.park(&g_live, detail::no_deadline);
  } else {
    long carriers = static_cast<long>(rt::carriers());
    while (os_threads() > carriers) (void)rt::park_until(rt::now_ns() + 10000000);
  }
  std::exit(0);
}

// join() waits for r until the monotonic deadline; try_only: EBUSY at once.
int join(thread_rec* r, void** result, ns_t deadline, bool try_only) {
  if (r == self_rec()) return EDEADLK;
  {
    bucket_lock g(r);
    if (r->detached || r->joining) return EINVAL;
    if (!r->done) {
      if (try_only) return EBUSY;
      r->joining = true;
      while (!r->done) {
        if (g.park(r, deadline, detail::wait_reason::join) != detail::wake::notified && !r->done) {
          r->joining = false;
          return ETIMEDOUT;
        }
      }
    }
  }
  if (result) *result = r->result;
  delete r;
  return 0;
}

}  // namespace

void threads_after_fork_child() noexcept { g_live.store(self_rec() ? 1 : 0, std::memory_order_relaxed); }

}  // namespace weft::hooks::threads

using namespace weft::hooks::threads;
namespace wd = weft::detail;
namespace rt = weft::rt;

WEFT_HOOK int pthread_create(pthread_t* t, const pthread_attr_t* attr, void* (*fn)(void*), void* arg) {
  if (!fibers_mode() || !current_fiber()) return WEFT_REAL(pthread_create)(t, attr, fn, arg);
  auto* r = new (std::nothrow) thread_rec;
  if (!r) return EAGAIN;
  r->fn = fn;
  r->arg = arg;
  caller_sigmask(&r->mask);  // a new thread starts with its creator's mask
  if (attr) {
    int ds = PTHREAD_CREATE_JOINABLE;
    pthread_attr_getdetachstate(attr, &ds);
    r->detached = ds == PTHREAD_CREATE_DETACHED;
    r->stack_size = attr_stack_size(attr);
  }
  g_live.fetch_add(1, std::memory_order_relaxed);
  *t = reinterpret_cast<pthread_t>(r);  // before the fiber can run (and maybe end)
  try {
    weft::spawn(weft::spawn_options{.name = "pthread", .stack_size = r->stack_size}, [r] { thread_body(r); })
        .detach();
  } catch (...) {
    g_live.fetch_sub(1, std::memory_order_relaxed);
    delete r;
    return EAGAIN;
  }
  return 0;
}

WEFT_HOOK int pthread_join(pthread_t t, void** result) {
  thread_rec* r = fibers_mode() ? rec_of(t) : nullptr;
  if (!r) {
    if (!fibers_mode() || !current_fiber()) return WEFT_REAL(pthread_join)(t, result);
    // A fiber joining an OS thread: glibc's join would block the carrier on
    // the thread's tid futex, so try it with a 1-10 ms backoff instead.
    wd::ns_t backoff = 1000000;
    for (;;) {
      int e = WEFT_REAL(pthread_tryjoin_np)(t, result);
      if (e != EBUSY) return e;
      (void)rt::park_until(wd::now_ns() + backoff);
      if (backoff < 10000000) backoff *= 2;
    }
  }
  return join(r, result, wd::no_deadline, false);
}

WEFT_HOOK int pthread_tryjoin_np(pthread_t t, void** result) {
  thread_rec* r = fibers_mode() ? rec_of(t) : nullptr;
  if (!r) return WEFT_REAL(pthread_tryjoin_np)(t, result);
  return join(r, result, wd::no_deadline, true);
}

WEFT_HOOK int pthread_clockjoin_np(pthread_t t, void** result, clockid_t clock, const timespec* abstime) {
  thread_rec* r = fibers_mode() ? rec_of(t) : nullptr;
  if (!r) return WEFT_REAL(pthread_clockjoin_np)(t, result, clock, abstime);
  if (clock != CLOCK_REALTIME && clock != CLOCK_MONOTONIC) return EINVAL;
  ns_t dl = abstime ? deadline_from(clock, abstime) : wd::no_deadline;
  if (dl < 0) return EINVAL;
  return join(r, result, dl, false);
}

WEFT_HOOK int pthread_timedjoin_np(pthread_t t, void** result, const timespec* abstime) {
  if (!fibers_mode() || !rec_of(t)) return WEFT_REAL(pthread_timedjoin_np)(t, result, abstime);
  return pthread_clockjoin_np(t, result, CLOCK_REALTIME, abstime);
}

WEFT_HOOK int pthread_detach(pthread_t t) {
  thread_rec* r = fibers_mode() ? rec_of(t) : nullptr;
  if (!r) return WEFT_REAL(pthread_detach)(t);
  {
    bucket_lock g(r);
    if (r->detached || r->joining) return EINVAL;
    if (!r->done) {
      r->detached = true;
      return 0;
    }
  }
  delete r;
  return 0;
}

WEFT_HOOK __attribute__((noreturn)) void pthread_exit(void* result) {
  if (fibers_mode() && self_rec()) throw thread_exit{result};
  if (current_fiber()) main_fiber_exit();  // the main fiber, or another fiber without a record
  WEFT_REAL(pthread_exit)(result);
  __builtin_unreachable();
}

WEFT_HOOK pthread_t pthread_self() {
  if (fibers_mode())
    if (thread_rec* r = self_rec()) return reinterpret_cast<pthread_t>(r);
  return WEFT_REAL(pthread_self)();
}

WEFT_HOOK int pthread_once(pthread_once_t* once, void (*init)()) {
  if (!fibers_mode()) return WEFT_REAL(pthread_once)(once, init);
  // 0: not run, 1: running, 2: done. A throwing init resets it to 0.
  std::atomic_ref<int> st(*once);
  for (;;) {
    if (st.load(std::memory_order_acquire) == 2) return 0;
    int expected = 0;
    if (st.compare_exchange_strong(expected, 1, std::memory_order_acq_rel)) {
      struct reset {
        std::atomic_ref<int>& st;
        pthread_once_t* once;
        int to = 0;
        ~reset() {
          st.store(to, std::memory_order_release);
          unpark(once, SIZE_MAX);
        }
      } guard{st, once};
      init();
      guard.to = 2;
      return 0;
    }
    bucket_lock g(once);
    while (st.load(std::memory_order_acquire) == 1) g.park(once, wd::no_deadline);
  }
}

// ---- calls that take a pthread_t and would read glibc's thread block.

WEFT_HOOK int pthread_setname_np(pthread_t t, const char* name) {
  thread_rec* r = fibers_mode() ? rec_of(t) : nullptr;
  if (!r) return WEFT_REAL(pthread_setname_np)(t, name);
  if (std::strlen(name) >= sizeof r->name) return ERANGE;
  std::strcpy(r->name, name);
  return 0;
}

WEFT_HOOK int pthread_getname_np(pthread_t t, char* buf, size_t len) {
  thread_rec* r = fibers_mode() ? rec_of(t) : nullptr;
  if (!r) return WEFT_REAL(pthread_getname_np)(t, buf, len);
  if (len <= std::strlen(r->name)) return ERANGE;
  std::strcpy(buf, r->name);
  return 0;
}

// pthread_kill to a fiber thread: the runtime sends the signal to the
// fiber's carrier and ends the fiber's parked hooked call with EINTR if the
// signal would end it (runtime/signals.hpp kill_fiber).
WEFT_HOOK int pthread_kill(pthread_t t, int sig) {
  thread_rec* r = fibers_mode() ? rec_of(t) : nullptr;
  if (!r) return WEFT_REAL(pthread_kill)(t, sig);
  bucket_lock g(r);  // r->ctl stays alive while held (finish() takes it)
  if (r->done || !r->ctl) return ESRCH;
  if (sig == 0) return 0;
  return rt::kill_fiber(r->ctl, sig);
}

WEFT_HOOK int pthread_cancel(pthread_t t) {
  if (!fibers_mode() || !rec_of(t)) return WEFT_REAL(pthread_cancel)(t);
  warn_once(g_warn_cancel, "pthread_cancel is not supported on fiber threads (returns ENOTSUP); use --threads=os");
  return ENOTSUP;
}

WEFT_HOOK int pthread_getattr_np(pthread_t t, pthread_attr_t* a) {
  thread_rec* r = fibers_mode() ? rec_of(t) : nullptr;
  if (!r) return WEFT_REAL(pthread_getattr_np)(t, a);
  pthread_attr_init(a);
  rt::fiber* f = r->ctl;
  if (!f) return 0;
  if (r->detached) pthread_attr_setdetachstate(a, PTHREAD_CREATE_DETACHED);
  void* lo;
  std::size_t size;
  rt::stack_of(f, &lo, &size);
  pthread_attr_setstack(a, lo, size);
  return 0;
}

WEFT_HOOK int pthread_getschedparam(pthread_t t, int* policy, sched_param* p) {
  if (!fibers_mode() || !rec_of(t)) return WEFT_REAL(pthread_getschedparam)(t, policy, p);
  *policy = SCHED_OTHER;
  p->sched_priority = 0;
  return 0;
}

WEFT_HOOK int pthread_setschedparam(pthread_t t, int policy, const sched_param* p) {
  if (!fibers_mode() || !rec_of(t)) return WEFT_REAL(pthread_setschedparam)(t, policy, p);
  return 0;  // fibers have no scheduling policy of their own
}

WEFT_HOOK int pthread_setschedprio(pthread_t t, int prio) {
  if (!fibers_mode() || !rec_of(t)) return WEFT_REAL(pthread_setschedprio)(t, prio);
  return 0;
}

// Affinity and CPU clocks belong to carriers: a fiber thread reports its
// carrier's affinity and CPU clock, and setting affinity is ignored.
WEFT_HOOK int pthread_setaffinity_np(pthread_t t, size_t size, const cpu_set_t* set) {
  if (!fibers_mode() || !rec_of(t)) return WEFT_REAL(pthread_setaffinity_np)(t, size, set);
  return 0;
}

WEFT_HOOK int pthread_getaffinity_np(pthread_t t, size_t size, cpu_set_t* set) {
  if (!fibers_mode() || !rec_of(t)) return WEFT_REAL(pthread_getaffinity_np)(t, size, set);
  return sched_getaffinity(0, size, set) == 0 ? 0 : errno;
}

WEFT_HOOK int pthread_getcpuclockid(pthread_t t, clockid_t* clock) {
  if (!fibers_mode() || !rec_of(t)) return WEFT_REAL(pthread_getcpuclockid)(t, clock);
  *clock = CLOCK_THREAD_CPUTIME_ID;  // the calling carrier's CPU time
  return 0;
}

WEFT_HOOK int pthread_sigqueue(pthread_t t, int sig, const union sigval value) {
  thread_rec* r = fibers_mode() ? rec_of(t) : nullptr;
  if (!r) return WEFT_REAL(pthread_sigqueue)(t, sig, value);
  if (sig == 0) return r->done ? ESRCH : 0;
  warn_once(g_warn_sigqueue,
            "pthread_sigqueue to a fiber thread is sent to the caller's carrier thread, with its value (use "
            "pthread_kill, or --threads=os, to aim at the thread)");
  return WEFT_REAL(pthread_sigqueue)(WEFT_REAL(pthread_self)(), sig, value);
}
