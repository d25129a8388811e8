// weft/loop.hpp — loop watchers: callback-style code on a carrier's loop
// beside fibers (libev's watchers, gevent's hub.loop).
//
//   auto w = weft::loop::io(fd, weft::loop::readable, [&](unsigned ev) { parser.feed(fd); });
//   auto t = weft::loop::timer(100ms, 100ms, [&] { tick(); });   // every 100 ms
//   auto a = weft::loop::async([&] { drain_queue(); });
//   std::thread([&] { a.send(); });                              // from any thread
//
// A watcher calls its callback on the carrier that created it, from that
// carrier's one loop dispatcher (a fiber per carrier, not per watcher), in
// batches. Callbacks must not block: a weft call that would park (a sleep,
// a channel recv with nothing there, an event wait, a join, a hooked
// blocking read) throws weft::usage_error inside the callback instead.
// A hooked blocking call gets -1/ECANCELED (the hooks' answer to a
// refused wait) and the refusal is logged; a wait that cannot be refused
// (weft::mutex::lock on a held mutex) parks the whole loop and is logged.
// Non-blocking weft calls (try_recv, send on a channel with room, spawn,
// event::set) are fine. An exception escaping a callback is reported on
// the log and stops that watcher.
//
// Each function returns a move-only handle; the watcher runs until the
// handle's stop() or destruction. Creating a watcher outside weft::run
// (no scheduler on the thread) is a usage_error. stop() may be called from
// any thread; on the watcher's carrier (in or outside its callback) no
// callback runs after it returns; from another thread a callback already
// running may still finish. Semantics follow libev: io watchers are
// level-triggered (the callback runs again on the next loop pass while
// the fd stays ready); async sends coalesce (several send() before the
// callback runs make one call); signal deliveries coalesce likewise (the
// count of merged deliveries is not reported); a child watcher fires once.
#pragma once
#include <weft/detail/export.hpp>
#include <weft/detail/wait.hpp>

#include <sys/types.h>

#include <chrono>
#include <functional>
#include <memory>

namespace weft::loop {

// Readiness bits of io watchers: what to watch, and what the callback gets
// (an error or hang-up on the fd is reported as all the watched bits).
inline constexpr unsigned readable = 1;
inline constexpr unsigned writable = 2;

namespace detail {
struct watch;  // runtime/loop.cpp
// stop() ends w (see the file comment); any thread; idempotent.
WEFT_API void stop(watch* w) noexcept;
// send() is async_watcher::send(). Any thread, async-signal-unsafe.
WEFT_API void send(watch* w) noexcept;
// The constructors behind the functions below; usage_error outside a
// scheduler, std::system_error if the kernel refuses (epoll_ctl, pidfd).
WEFT_API std::shared_ptr<watch> make_io(int fd, unsigned events, std::function<void(unsigned)> cb);
WEFT_API std::shared_ptr<watch> make_timer(weft::detail::ns_t after, weft::detail::ns_t repeat,
                                           std::function<void()> cb);
WEFT_API std::shared_ptr<watch> make_signal(int sig, std::function<void(int)> cb);
WEFT_API std::shared_ptr<watch> make_async(std::function<void()> cb);
WEFT_API std::shared_ptr<watch> make_child(pid_t pid, std::function<void(pid_t, int)> cb);
WEFT_API std::shared_ptr<watch> make_idle(std::function<void()> cb);
// to_ns() converts a duration to nanoseconds, saturating, negative as 0.
template <class Rep, class Period>
weft::detail::ns_t to_ns(std::chrono::duration<Rep, Period> d) noexcept {
  if (d <= d.zero()) return 0;
  using fns = std::chrono::duration<long double, std::nano>;
  long double n = std::chrono::duration_cast<fns>(d).count();
  return n >= static_cast<long double>(weft::detail::no_deadline) ? weft::detail::no_deadline
                                                                  : static_cast<weft::detail::ns_t>(n);
}
}  // namespace detail

// A running watcher; stops it when destroyed. Move-only.
class [[nodiscard("dropping the handle stops the watcher")]] watcher {
 public:
  // An empty handle (stop() does nothing).
  watcher() noexcept = default;
  explicit watcher(std::shared_ptr<detail::watch> w) noexcept : w_(std::move(w)) {}
  watcher(watcher&&) noexcept = default;
  // Move-assigning stops the watcher this handle had.
  watcher& operator=(watcher&& o) noexcept {
    if (this != &o) {
      stop();
      w_ = std::move(o.w_);
    }
    return *this;
  }
  watcher(const watcher&) = delete;
  watcher& operator=(const watcher&) = delete;
  ~watcher() { stop(); }
  // stop() ends the watcher (see the file comment). Any thread; idempotent.
  void stop() noexcept {
    if (w_) detail::stop(w_.get());
  }

 protected:
  std::shared_ptr<detail::watch> w_;
};

// An async watcher's handle: send() wakes the callback.
class [[nodiscard("dropping the handle stops the watcher")]] async_watcher : public watcher {
 public:
  async_watcher() noexcept = default;
  explicit async_watcher(std::shared_ptr<detail::watch> w) noexcept : watcher(std::move(w)) {}
  // send() makes the callback run soon on the watcher's carrier; sends
  // before it runs coalesce into one call. Any thread, also after stop()
  // (then nothing runs); not in a signal handler.
  void send() const noexcept {
    if (w_) detail::send(w_.get());
  }
};

// io(fd, events, cb) calls cb(ready) while fd is ready for some of
// `events` (readable | writable), level-triggered. One io watcher per fd
// and carrier (a second one is std::system_error(EEXIST); watch both
// directions with one). Closing the fd ends its events; stop the watcher
// before reusing the fd number. Fiber or run() thread.
inline watcher io(int fd, unsigned events, std::function<void(unsigned)> cb) {
  return watcher(detail::make_io(fd, events, std::move(cb)));
}

// timer(after, repeat, cb) calls cb() once `after` has passed, then every
// `repeat` (zero: once). Fiber or run() thread.
template <class R1, class P1, class R2, class P2>
watcher timer(std::chrono::duration<R1, P1> after, std::chrono::duration<R2, P2> repeat, std::function<void()> cb) {
  return watcher(detail::make_timer(detail::to_ns(after), detail::to_ns(repeat), std::move(cb)));
}

// signal(sig, cb) calls cb(sig) after each caught delivery of sig
// (deliveries that arrive together coalesce), as weft::on_signal does but
// without a fiber. usage_error for signals weft cannot catch (see
// weft/signal.hpp). Fiber or run() thread.
inline watcher signal(int sig, std::function<void(int)> cb) {
  return watcher(detail::make_signal(sig, std::move(cb)));
}

// async(cb) calls cb() after send() (any thread); sends coalesce. Fiber
// or run() thread.
inline async_watcher async(std::function<void()> cb) { return async_watcher(detail::make_async(std::move(cb))); }

// child(pid, cb) calls cb(pid, wstatus) once child `pid` has ended, and
// reaps it (wstatus as waitpid() reports it). The child must be this
// process's and not be reaped by anyone else. Fiber or run() thread;
// std::system_error(ESRCH/ECHILD) if pid is no child.
inline watcher child(pid_t pid, std::function<void(pid_t, int)> cb) {
  return watcher(detail::make_child(pid, std::move(cb)));
}

// idle(cb) calls cb() on every pass of the loop while the watcher lives,
// between the carrier's other work: the carrier never sleeps meanwhile
// (libev's idle watchers). Fiber or run() thread.
inline watcher idle(std::function<void()> cb) { return watcher(detail::make_idle(std::move(cb))); }

}  // namespace weft::loop
