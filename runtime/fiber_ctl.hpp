// runtime/fiber_ctl.hpp — a fiber's control block and its states.
//
// Fiber states and where a fiber in each state sits:
//   created  — spawned, not yet run: in the run queue of the carrier that
//              started it (one carrier, the root fiber), or unstarted in a
//              spawn queue (sched still nullptr), from which carriers steal.
//   ready    — runnable; in the run queue (or the remote queue, if woken
//              from another thread, until the scheduler drains it).
//   running  — on its carrier; scheduler::running_ points at it.
//   parked   — blocked in block(); its waiter sits in some primitive's
//              queue, its deadline (if any) in the timer heap.
//   done     — its function returned or threw; waiting for the last
//              reference (handle or run) to be dropped.
// Transitions are asserted: created->running, ready->running,
// running->{ready, parked, done}, parked->ready.
//
// A fiber never moves to another thread once it has run (compilers cache
// the addresses of thread-locals and errno across calls): `sched` is fixed
// at its first run, when the carrier that runs it gives it a stack from its
// own pool. Before that it may be stolen. Readers of `sched` that hold no
// lock: fiber_cancel() (a Dekker pair with scheduler::prepare(); nullptr
// means "not started, it will see cancel_requested"), kill_fiber() (waits
// until it is set), wake_up()/claim_locked() (a parked fiber has started).
// The block is one allocation together with the fiber's task; the stack is
// separate, pooled.
#pragma once
#include "assert.hpp"
#include "sanitizer.hpp"
#include "wait_ctx.hpp"

#include <weft/detail/wait.hpp>
#include <weft/fiber.hpp>

#include <boost/context/stack_context.hpp>

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <exception>
#include <source_location>
#include <string>

namespace weft::detail {

class scheduler;

enum class fiber_state : std::uint8_t { created, ready, running, parked, done };
const char* state_name(fiber_state s) noexcept;
const char* reason_name(wait_reason r) noexcept;

struct fiber_ctl : wait_ctx {
  void* fctx = nullptr;                 // saved fcontext while not running
  scheduler* sched = nullptr;           // owner: fixed at first run (scheduler::prepare), nullptr before
  fiber_ctl* run_next = nullptr;        // run queue / remote queue link
  // The switch reads and writes only the fields up to saved_eh (with
  // wait_ctx's cancel_requested): the first 64 bytes of the block.
  int saved_errno = 0;                  // errno while switched out
  fiber_state state = fiber_state::created;
  sig_mode sig = sig_mode::none;        // current wait: do caught signals end it?
  volatile bool sig_hit = false;        // a caught signal ends the current wait (signals.hpp)
  bool is_main_ctx = false;             // the run() thread's own stack
  alignas(16) void* saved_eh[2] = {nullptr, nullptr};  // __cxa_eh_globals while switched out
  fiber_ctl* all_prev = nullptr;        // scheduler's list of live fibers
  fiber_ctl* all_next = nullptr;
  std::atomic<std::uint32_t> refs{0};   // handle + running
  std::uint32_t spawn_line = 0;
  bool detached = false;                // under lk
  bool error_reported = false;          // under lk
  bool cancelled_exit = false;          // ended by weft::cancelled
  bool interruptible = false;           // current wait honours cancel/scope
  bool scope_armed = false;             // the armed deadline is the scope's
  bool shutdown_marked = false;         // cancelled by a shutdown round
  bool orphaned = false;                // left behind in a fork()ed child; never runs again
  const void* wait_sigmask = nullptr;   // sigset_t of the current wait, if it has one
  std::atomic<bool> finished{false};    // done() without the lock
  spinlock lk;                          // guards joiner, detached
  wait_reason reason = wait_reason::none;
  std::uint32_t timer_index = UINT32_MAX;  // in scheduler's timer heap
  waiter* joiner = nullptr;             // the one join() in progress
  waiter* cur_waiter = nullptr;         // while parked
  ns_t deadline = no_deadline;          // armed deadline while parked
  ns_t wait_since = 0;                  // coarse time the wait began
  std::uint64_t wait_arg = 0;           // fd, etc.
  fiber_id id = 0;
  task_base* task = nullptr;
  boost::context::stack_context stack{};  // for dumps and overflow reports
  std::size_t stack_request = 0;        // requested usable size (0 = default)
  const char* spawn_file = "";          // with spawn_line (above, to fill a hole)
  std::exception_ptr error;             // what escaped the function
  void* thread_rec = nullptr;           // hooks/threads: the pthread record of a fiber that
                                        // pthread_create made (preload mode); owner thread only
  void* locals = nullptr;               // fiber_local values (fiber_local.cpp); own thread only
  std::string name;
  [[no_unique_address]] fiber_san san;  // ASan/TSan switch state; empty normally

  fiber_ctl() : wait_ctx{true} {}
};
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Winvalid-offsetof"  // GCC lays out fiber_ctl like a standard-layout type
static_assert(offsetof(fiber_ctl, saved_eh) + sizeof(fiber_ctl::saved_eh) <= 64,
              "the fields the switch touches fit in the block's first 64 bytes");
#pragma GCC diagnostic pop

// set_state() moves f to `to`, asserting the transition is legal.
[[noreturn]] void bad_transition(const fiber_ctl* f, fiber_state to) noexcept;
inline void set_state(fiber_ctl* f, fiber_state to) noexcept {
  // Legal moves: created->running, ready->running, running->{ready,parked,done}, parked->ready.
  constexpr unsigned R = 1u << unsigned(fiber_state::ready), P = 1u << unsigned(fiber_state::parked),
                     U = 1u << unsigned(fiber_state::running), D = 1u << unsigned(fiber_state::done);
  constexpr unsigned legal = (U << 0) | (U << 5) | ((R | P | D) << 10) | (R << 15);
  if (__builtin_expect(!((legal >> (5 * unsigned(f->state))) & (1u << unsigned(to))), 0)) bad_transition(f, to);
  f->state = to;
}

// ctl_from_task()/task_area() convert between a block and its task memory.
constexpr std::size_t task_offset = (sizeof(fiber_ctl) + 63) & ~std::size_t(63);
inline void* task_area(fiber_ctl* c) noexcept { return reinterpret_cast<char*>(c) + task_offset; }
inline fiber_ctl* ctl_from_task(void* mem) noexcept {
  return reinterpret_cast<fiber_ctl*>(static_cast<char*>(mem) - task_offset);
}

// release_ref() drops one reference; the last one destroys task and block.
void release_ref(fiber_ctl* c) noexcept;

}  // namespace weft::detail
