// hooks/sleep_hooks.cpp — sleep, usleep, nanosleep, clock_nanosleep.
//
// On a fiber they park it on the scheduler's timer, so other fibers run.
// A zero-length sleep yields once. A weft::timeout scope ends the sleep
// with ETIMEDOUT, a cancel with ECANCELED (clock_nanosleep returns these
// numbers, as it returns its errors); nanosleep and clock_nanosleep then
// store the time left in *rem (relative sleeps only, as libc does).
// A caught signal ends a parked sleep as it ends the real one: EINTR with
// the time left in *rem; sleep() returns the whole seconds left, truncated,
// as glibc's does.
#include "hook_core.hpp"

#include <time.h>

namespace hk = weft::hooks;
namespace rt = weft::rt;
using weft::detail::ns_t;
using weft::detail::wake;

namespace {

constexpr ns_t ns_per_s = 1000000000;

// ts_ns() converts a timespec to ns, saturating.
ns_t ts_ns(const timespec& t) noexcept {
  if (t.tv_sec >= (weft::detail::no_deadline - t.tv_nsec) / ns_per_s) return weft::detail::no_deadline;
  return ns_t(t.tv_sec) * ns_per_s + t.tv_nsec;
}

// valid() is nanosleep's EINVAL check.
bool valid(const timespec* t) noexcept { return t->tv_sec >= 0 && t->tv_nsec >= 0 && t->tv_nsec < ns_per_s; }

// after() is now + d, saturating.
ns_t after(ns_t d) noexcept {
  ns_t now = weft::detail::now_ns();
  return d >= weft::detail::no_deadline - now ? weft::detail::no_deadline : now + d;
}

// sleep_until() parks the running fiber until `deadline` (monotonic ns), or
// yields once if it already passed. Returns 0, or EINTR / ETIMEDOUT /
// ECANCELED.
int sleep_until(ns_t deadline) {
  if (deadline <= weft::detail::now_ns()) {
    rt::yield();
    return 0;
  }
  wake r = rt::park_until(deadline);
  return r == wake::timeout ? 0 : hk::wake_errno(r, 0);
}

// left() stores the time until deadline in *rem.
void left(ns_t deadline, timespec* rem) noexcept {
  if (!rem) return;
  ns_t l = deadline - weft::detail::now_ns();
  if (l < 0) l = 0;
  rem->tv_sec = static_cast<time_t>(l / ns_per_s);
  rem->tv_nsec = static_cast<long>(l % ns_per_s);
}

}  // namespace

WEFT_HOOK unsigned sleep(unsigned sec) {
  if (!rt::on_fiber()) return WEFT_REAL(sleep)(sec);
  ns_t deadline = after(ns_t(sec) * ns_per_s);
  int err = sleep_until(deadline);
  if (!err) return 0;
  timespec rem;
  left(deadline, &rem);
  errno = err;
  return static_cast<unsigned>(rem.tv_sec);
}

WEFT_HOOK int usleep(useconds_t us) {
  if (!rt::on_fiber()) return WEFT_REAL(usleep)(us);
  int err = sleep_until(after(ns_t(us) * 1000));
  if (!err) return 0;
  errno = err;
  return -1;
}

WEFT_HOOK int nanosleep(const timespec* req, timespec* rem) {
  if (!req || !rt::on_fiber()) return WEFT_REAL(nanosleep)(req, rem);
  if (!valid(req)) {
    errno = EINVAL;
    return -1;
  }
  ns_t deadline = after(ts_ns(*req));
  int err = sleep_until(deadline);
  if (!err) return 0;
  left(deadline, rem);
  errno = err;
  return -1;
}

WEFT_HOOK int clock_nanosleep(clockid_t clock, int flags, const timespec* req, timespec* rem) {
  bool known = clock == CLOCK_MONOTONIC || clock == CLOCK_REALTIME || clock == CLOCK_BOOTTIME || clock == CLOCK_TAI;
  if (!req || !known || !rt::on_fiber()) return WEFT_REAL(clock_nanosleep)(clock, flags, req, rem);
  if (!valid(req)) return EINVAL;
  ns_t deadline;
  if (flags & TIMER_ABSTIME) {
    // An absolute time on `clock` becomes a monotonic deadline now; a later
    // jump of CLOCK_REALTIME is not followed.
    timespec now;
    clock_gettime(clock, &now);
    ns_t d = ts_ns(*req) - ts_ns(now);
    deadline = after(d < 0 ? 0 : d);
    rem = nullptr;
  } else {
    deadline = after(ts_ns(*req));
  }
  int err = sleep_until(deadline);
  if (err) left(deadline, rem);
  return err;
}
