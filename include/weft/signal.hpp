// weft/signal.hpp — caught signals as channel values and as fibers (Go's
// signal.Notify, gevent's signal_handler).
//
//   weft::signal_channel sigs({SIGINT, SIGTERM});
//   int sig = *sigs.recv();                         // parks until one arrives
//
//   auto h = weft::on_signal(SIGHUP, [](int) { reload(); });  // a new fiber per SIGHUP
//
// Any weft call may be made where the signal is received, which a C
// signal handler cannot do. Every receiver of a signal gets each delivery;
// the program's own sigaction handlers keep running beside them (the
// runtime's handler calls a handler installed before it, and a handler the
// program installs later through weft's sigaction hook reports to the
// runtime as well). A signal with receivers is caught: its default action
// (ending the process, for SIGINT or SIGTERM) does not happen while they
// live. Deliveries are counted, not queued per sender: signals of one kind
// that arrive together may come as one, as the kernel merges them.
#pragma once
#include <weft/channel.hpp>
#include <weft/detail/export.hpp>
#include <weft/errors.hpp>
#include <weft/fiber.hpp>
#include <weft/group.hpp>

#include <signal.h>

#include <cstddef>
#include <cstdio>
#include <exception>
#include <initializer_list>
#include <memory>
#include <type_traits>
#include <utility>

namespace weft {

namespace detail {
// A receiver of caught signals. deliver() runs on the runtime's signal
// thread (a plain thread), never in a signal handler, and must not block.
struct signal_sink {
  virtual void deliver(int sig) noexcept = 0;
  virtual ~signal_sink() = default;
};
// signal_subscribe() makes s receive sig (the runtime's handler is
// installed on the first receiver); usage_error for a signal that cannot
// be caught or that weft keeps (SIGKILL, SIGSTOP, SIGSEGV, SIGBUS, SIGFPE,
// SIGILL, SIGTRAP, SIGSYS, out of range). Any thread.
WEFT_API void signal_subscribe(signal_sink* s, int sig);
// signal_unsubscribe() stops every delivery to s; once it returns, none is
// in progress. The last receiver of a signal puts back the action the
// runtime found, if the runtime's handler is still installed. Any thread.
WEFT_API void signal_unsubscribe(signal_sink* s) noexcept;
}  // namespace detail

// signal_channel is a channel<int> that receives the listed signals'
// numbers while it lives. Buffered (capacity, default 16): a delivery that
// finds it full is dropped, as Go drops it. Receive from fibers or plain
// threads, or in a select.
class signal_channel : public channel<int> {
  struct sink final : detail::signal_sink {
    signal_channel* ch;
    explicit sink(signal_channel* c) noexcept : ch(c) {}
    void deliver(int sig) noexcept override { (void)ch->try_send(sig); }
  };
  sink sink_{this};

 public:
  // signal_channel(sigs, capacity) starts receiving sigs. Any thread;
  // usage_error for a signal weft cannot deliver (detail::signal_subscribe).
  explicit signal_channel(std::initializer_list<int> sigs, std::size_t capacity = 16) : channel<int>(capacity) {
    if (capacity == 0) throw usage_error("weft::signal_channel: capacity must be at least 1");
    try {
      for (int s : sigs) detail::signal_subscribe(&sink_, s);
    } catch (...) {
      detail::signal_unsubscribe(&sink_);
      throw;
    }
  }
  // stop() ends the deliveries and closes the channel (receivers drain what
  // is buffered, then get nullopt). Idempotent; any thread.
  void stop() noexcept {
    detail::signal_unsubscribe(&sink_);
    close();
  }
  ~signal_channel() { detail::signal_unsubscribe(&sink_); }
};

// The handle on_signal() returns: while it lives (or until cancel()),
// every delivery of the signal starts a new fiber running fn. Dropping it
// (or cancel()) stops the deliveries, cancels the fn fibers still running
// and waits for them, so none outlives the handle.
class [[nodiscard("dropping the handle stops the handler")]] signal_handler {
 public:
  struct state {
    signal_channel ch;
    group fibers;  // the listener and the fn fibers; destroyed (waited for) before ch
    explicit state(int sig) : ch({sig}) {}
  };
  signal_handler() noexcept = default;
  explicit signal_handler(std::unique_ptr<state> s) noexcept : st_(std::move(s)) {}
  signal_handler(signal_handler&&) noexcept = default;
  signal_handler& operator=(signal_handler&& o) noexcept {
    if (this != &o) {
      cancel();
      st_ = std::move(o.st_);
    }
    return *this;
  }
  // cancel() is what the destructor does; idempotent. Fiber or plain
  // thread (it waits for the fn fibers to unwind).
  void cancel() noexcept {
    if (!st_) return;
    st_->ch.stop();
    st_.reset();
  }
  ~signal_handler() { cancel(); }

 private:
  std::unique_ptr<state> st_;
};

// on_signal(sig, fn) runs fn(sig) (or fn()) in a new fiber for each
// delivery of sig, on the caller's scheduler (spread over its carriers),
// until the handle is dropped. A listener fiber waits for the deliveries.
// An exception escaping fn is reported on stderr. Fiber only (inside
// weft::run); usage_error elsewhere and for signals weft cannot deliver.
template <class F>
signal_handler on_signal(int sig, F&& fn) {
  using Fn = std::decay_t<F>;
  static_assert(std::is_invocable_v<Fn&, int> || std::is_invocable_v<Fn&>,
                "weft::on_signal: fn must be callable as fn(int) or fn()");
  if (!in_fiber()) throw usage_error("weft::on_signal: call it from a fiber (inside weft::run)");
  auto st = std::make_unique<signal_handler::state>(sig);
  signal_handler::state* p = st.get();
  p->fibers.spawn(spawn_options{.name = "weft::on_signal", .stack_size = 0},
                  [p, f = std::make_shared<Fn>(std::forward<F>(fn))] {
                    while (std::optional<int> s = p->ch.recv())
                      p->fibers.spawn([f, n = *s] {
                        try {
                          if constexpr (std::is_invocable_v<Fn&, int>) (*f)(n);
                          else (*f)();
                        } catch (const std::exception& e) {
                          std::fprintf(stderr, "weft::on_signal(%d): fn threw: %s\n", n, e.what());
                        }
                      });
                  });
  return signal_handler(std::move(st));
}

}  // namespace weft
