// runtime/offload_pool.hpp — the runtime's side of the offload pool
// (weft/offload.hpp; design notes in offload.cpp).
#pragma once

namespace weft::detail {

inline constexpr unsigned default_offload_threads = 10;   // gevent's pool size
inline constexpr unsigned default_offload_idle_ms = 5000;  // gevent retires idle threads after 5 s
inline constexpr unsigned max_offload_threads = 1024;

// configure_offload() sets the pool's thread limit and idle time from now
// on (running threads finish their jobs; a smaller limit takes effect as
// threads exit). Any thread; run_scope calls it with the resolved config.
void configure_offload(unsigned max_threads, unsigned idle_ms) noexcept;

// run_blocking() runs fn(ctx), a call that may block its thread (a file
// syscall; it returns a count or -errno), on the pool while the calling
// fiber waits, not interruptibly: fn may write into the caller's memory.
// Off a fiber, or when no pool thread can be started, fn runs here.
// Returns fn's result. Any thread.
long run_blocking(long (*fn)(void*), void* ctx) noexcept;

// offload_busy() is true while a job is queued or a pool thread is not
// idle (running a job, starting, or about to exit): such a thread may wake
// fibers. Any thread (deadlock.hpp).
bool offload_busy() noexcept;

}  // namespace weft::detail
