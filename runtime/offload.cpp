// runtime/offload.cpp — the offload pool behind weft::offload (weft/offload.hpp).
//
// Design notes
//  1. One pool per process, made at the first offload and never freed
//     (pool threads may still run when exit() runs destructors). Its state
//     sits under one spinlock held for a few instructions: a FIFO of queued
//     jobs, a stack of idle threads, the thread count and the settings.
//  2. Threads are started lazily, one per job that finds no idle thread,
//     up to max_threads; past that, jobs queue. They are real OS threads
//     (os_thread.hpp: libc's real pthread_create, async signals blocked),
//     with no scheduler bound, so the hooks treat every call made on them as
//     a plain thread's (rt::maybe_fiber() is false) even under
//     weft-run --threads=fibers, and offload() called on one runs fn itself.
//     They are named "weft-offload".
//  3. Hand-off: a submitter that finds an idle thread pops it, gives it the
//     job and wakes its own futex word; so one wake-up per job, no thundering
//     herd, no lost job. An idle thread waits idle_ns on its word; when it
//     times out it leaves only if it is still on the idle stack (checked under
//     the lock); if a submitter popped it meanwhile it takes that job. A
//     new idle_ns wakes the idle threads, which measure it from when they
//     became idle.
//  4. The caller parks with the common wait protocol (weft/detail/wait.hpp):
//     the job holds the waiter under its lock; the pool thread claims and
//     wakes it when fn returns. A cancel or scope timeout claims the waiter
//     first: the caller unhooks it from the job, requests stop and leaves;
//     the job's second reference keeps the outcome alive until the pool
//     thread drops it.
//  5. fork(): the child has none of the pool threads; the atfork handler
//     forgets them and the queue (those jobs' callers were other fibers,
//     orphaned in the child, process.hpp).
#include "offload_pool.hpp"

#include "os_thread.hpp"
#include "scheduler.hpp"

#include <weft/errors.hpp>
#include <weft/offload.hpp>

#include <linux/futex.h>
#include <linux/prctl.h>
#include <pthread.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <ctime>
#include <new>
#include <system_error>

namespace weft::detail {
namespace {

// An idle pool thread, on its own stack while it waits.
struct idle_thread {
  idle_thread* next = nullptr;
  offload_job* job = nullptr;           // handed over by a submitter
  bool on_stack = false;                // in pool::idle (pool lock)
  std::atomic<std::uint32_t> word{0};   // futex: 1 once job is set
};

struct pool {
  spinlock lk;
  offload_job* head = nullptr;  // queued jobs, FIFO
  offload_job* tail = nullptr;
  idle_thread* idle = nullptr;
  unsigned threads = 0;  // started and not yet exited
  unsigned max_threads = default_offload_threads;
  // Read by idle threads without the lock at each wake-up: a new setting
  // applies to threads already idle (configure_offload() wakes them).
  std::atomic<ns_t> idle_ns{ns_t(default_offload_idle_ms) * 1000000};
};

void fork_child_pool() noexcept;

pool& the_pool() noexcept {
  static pool* p = [] {
    auto* q = new pool;  // never freed (note 1)
    pthread_atfork(nullptr, nullptr, &fork_child_pool);
    return q;
  }();
  return *p;
}

void fork_child_pool() noexcept {
  pool& p = the_pool();
  ::new (&p.lk) spinlock();  // a pool thread may have held it
  p.head = p.tail = nullptr;
  p.idle = nullptr;
  p.threads = 0;
}

long futex(std::atomic<std::uint32_t>* a, int op, std::uint32_t v, const timespec* ts) noexcept {
  return syscall(SYS_futex, reinterpret_cast<std::uint32_t*>(a), op, v, ts, nullptr, 0);
}

// finish() publishes j's end and wakes its caller if it still waits. The
// pool's reference goes first: a caller being woken still holds its own, so
// the outcome is destroyed on the caller's thread, after it took it (an
// exception's refcount, in uninstrumented libstdc++, orders nothing for
// TSan); a caller that left already makes this the last reference.
void finish(offload_job* j) noexcept {
  j->lk.lock();
  j->done = true;
  wait_ctx* who = j->w ? claim(*j->w, wake::notified) : nullptr;
  j->w = nullptr;
  j->lk.unlock();
  offload_release(j);  // the pool's reference; j is not touched after this
  if (who) wake_up(who);
}

// next_job() takes the queue's head or waits on the idle stack for a job;
// nullptr when the thread should exit. Called with p.lk held; returns with
// it released.
offload_job* next_job(pool& p) noexcept {
  if (offload_job* j = p.head) {
    if (!(p.head = j->next)) p.tail = nullptr;
    p.lk.unlock();
    return j;
  }
  idle_thread me;
  me.on_stack = true;
  me.next = p.idle;
  p.idle = &me;
  ns_t since = now_ns();
  p.lk.unlock();
  while (me.word.load(std::memory_order_acquire) == 0) {
    ns_t left = since + p.idle_ns.load(std::memory_order_relaxed) - now_ns();
    if (left <= 0) {
      p.lk.lock();
      if (me.on_stack) {  // nobody picked this thread: leave (note 3)
        for (idle_thread** pp = &p.idle; *pp; pp = &(*pp)->next)
          if (*pp == &me) {
            *pp = me.next;
            break;
          }
        --p.threads;
        p.lk.unlock();
        return nullptr;
      }
      p.lk.unlock();
      while (me.word.load(std::memory_order_acquire) == 0) futex(&me.word, FUTEX_WAIT_PRIVATE, 0, nullptr);
      break;
    }
    timespec ts{static_cast<time_t>(left / 1000000000), static_cast<long>(left % 1000000000)};
    futex(&me.word, FUTEX_WAIT_PRIVATE, 0, &ts);
  }
  return me.job;
}

void* pool_main(void*) noexcept {
  syscall(SYS_prctl, PR_SET_NAME, "weft-offload", 0, 0, 0);  // ps, top and dumps show it
  pool& p = the_pool();
  p.lk.lock();
  while (offload_job* j = next_job(p)) {
    j->call(j->stop.get_token());
    finish(j);
    p.lk.lock();
  }
  return nullptr;
}

// submit() gives j to an idle thread, or queues it and starts a thread if
// the pool may grow. Throws std::system_error when no thread exists to run
// it and none can be started (j is then not queued).
void submit(offload_job* j) {
  pool& p = the_pool();
  p.lk.lock();
  if (idle_thread* t = p.idle) {
    p.idle = t->next;
    t->on_stack = false;
    t->job = j;
    p.lk.unlock();
    t->word.store(1, std::memory_order_release);
    futex(&t->word, FUTEX_WAKE_PRIVATE, 1, nullptr);
    return;
  }
  j->next = nullptr;
  if (p.tail) p.tail->next = j; else p.head = j;
  p.tail = j;
  bool grow = p.threads < p.max_threads;
  if (grow) ++p.threads;
  p.lk.unlock();
  if (!grow) return;
  try {
    detach_os_thread(start_os_thread(&pool_main, nullptr));
  } catch (...) {
    p.lk.lock();
    --p.threads;
    bool orphan = p.threads == 0;  // nobody will ever take j: unqueue it
    if (orphan) {
      offload_job** pp = &p.head;
      offload_job* prev = nullptr;
      while (*pp && *pp != j) prev = *pp, pp = &(*pp)->next;
      if (*pp) {
        *pp = j->next;
        if (p.tail == j) p.tail = prev;
      } else {
        orphan = false;  // already taken
      }
    }
    p.lk.unlock();
    if (orphan) throw;
  }
}

}  // namespace

offload_job::~offload_job() = default;

bool offload_direct() noexcept { return scheduler::current() == nullptr; }

void offload_release(offload_job* j) noexcept {
  if (j->refs.fetch_sub(1, std::memory_order_acq_rel) == 1) delete j;
}

void offload_wait(offload_job* j) {
  try {
    interruption_point();  // cancelled or past the scope deadline: fn never runs
    submit(j);
  } catch (...) {
    delete j;  // both references are still ours
    throw;
  }
  waiter w;
  j->lk.lock();
  if (j->done) {
    j->lk.unlock();
    return;
  }
  j->w = &w;
  wake r = block(w, j->lk, {.interruptible = true, .reason = wait_reason::other});
  if (r == wake::notified) return;
  // Cancelled or timed out: the waiter was claimed by someone else, so the
  // pool thread will not touch it; unhook it and leave fn running (note 4).
  j->lk.lock();
  if (j->w == &w) j->w = nullptr;
  j->lk.unlock();
  j->stop.request_stop();
  offload_release(j);
  raise(r);
  WEFT_ASSERT(false, "offload wait ended with reason %d", static_cast<int>(r));
}

namespace {
// A job of the runtime's own (run_blocking).
struct raw_job final : offload_job {
  long (*fn)(void*);
  void* ctx;
  long result = 0;
  raw_job(long (*f)(void*), void* c) : fn(f), ctx(c) {}
  void call(std::stop_token) noexcept override { result = fn(ctx); }
};
}  // namespace

long run_blocking(long (*fn)(void*), void* ctx) noexcept {
  if (offload_direct()) return fn(ctx);
  auto* j = new (std::nothrow) raw_job(fn, ctx);
  if (!j) return fn(ctx);
  try {
    submit(j);
  } catch (...) {
    delete j;
    return fn(ctx);  // no pool thread: block the carrier rather than fail the call
  }
  waiter w;
  j->lk.lock();
  if (j->done) {
    j->lk.unlock();
  } else {
    j->w = &w;
    block(w, j->lk, {.interruptible = false, .reason = wait_reason::other});
  }
  long r = j->result;
  offload_release(j);
  return r;
}

bool offload_busy() noexcept {
  pool& p = the_pool();
  return locked(p.lk, [&] {
    unsigned idle = 0;
    for (idle_thread* t = p.idle; t; t = t->next) ++idle;
    return p.head != nullptr || idle != p.threads;
  });
}

void configure_offload(unsigned max_threads, unsigned idle_ms) noexcept {
  pool& p = the_pool();
  ns_t idle = ns_t(idle_ms) * 1000000;
  locked(p.lk, [&] {
    p.max_threads = max_threads;
    if (p.idle_ns.exchange(idle, std::memory_order_relaxed) == idle) return;
    // Idle threads recompute their deadline when woken with their word
    // still 0; woken under the lock, so none leaves the stack meanwhile.
    for (idle_thread* t = p.idle; t; t = t->next) futex(&t->word, FUTEX_WAKE_PRIVATE, 1, nullptr);
  });
}

}  // namespace weft::detail
