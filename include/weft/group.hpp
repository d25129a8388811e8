// weft/group.hpp — weft::group, a set of fibers with an optional
// concurrency limit (gevent's Pool, a structured nursery).
//
// spawn() waits while `limit` members are running, then starts fn as a
// member. wait() returns when every member has finished and rethrows the
// first exception a member raised (cancellations are not errors). cancel()
// cancels every running member. The destructor cancels what is still running
// and waits for it, so members never outlive the group.
#pragma once
#include <weft/detail/export.hpp>
#include <weft/detail/wait.hpp>
#include <weft/fiber.hpp>
#include <weft/sync.hpp>

#include <cstddef>
#include <cstdint>
#include <exception>
#include <utility>

namespace weft {

class WEFT_API group {
 public:
  // One running member; lives on the member fiber's stack.
  struct member {
    member* next = nullptr;
    member* prev = nullptr;
    detail::fiber_ctl* fiber = nullptr;
  };

 private:
  mutable detail::spinlock lk_;
  member* head_ = nullptr;
  std::size_t running_ = 0;
  std::size_t limit_;
  semaphore slots_;
  wait_group wg_;
  std::exception_ptr error_;
  std::uint64_t cancel_epoch_ = 0;  // bumped by cancel(); members spawned before skip fn

  std::uint64_t epoch() noexcept;              // spawn(): the current cancel epoch
  bool enter(member& m, std::uint64_t epoch);  // on the member fiber, at start; false if cancelled meanwhile
  void leave(member& m, std::exception_ptr e) noexcept;  // on the member fiber, at end
  void reserve();                              // spawn(): waits for a free slot
  void unreserve() noexcept;                   // spawn() failed after reserve()

  template <class F>
  auto wrap(F&& fn) {
    return [this, fn = std::forward<F>(fn), e = epoch()]() mutable {
      member m;
      bool run = enter(m, e);
      std::exception_ptr err;
      try {
        if (run) fn();
      } catch (const cancelled&) {
      } catch (...) {
        err = std::current_exception();
      }
      leave(m, err);
    };
  }

 public:
  // group(limit) makes an empty group; limit 0 = no limit.
  explicit group(std::size_t limit = 0);
  ~group();
  group(const group&) = delete;
  group& operator=(const group&) = delete;

  // spawn(fn) starts fn() as a member, first waiting for a free slot (a
  // cancellation point). fn's result is discarded.
  template <class F>
  void spawn(F&& fn) {
    spawn(spawn_options{}, std::forward<F>(fn));
  }
  template <class F>
  void spawn(const spawn_options& o, F&& fn) {
    reserve();
    try {
      weft::spawn(o, wrap(std::forward<F>(fn))).detach();
    } catch (...) {
      unreserve();
      throw;
    }
  }

  // wait() waits until no member runs, then rethrows the first member error.
  void wait();
  // cancel() cancels every running member; does not wait.
  void cancel() noexcept;
  // size() is the number of members running (or reserved to start).
  std::size_t size() const noexcept;
};

}  // namespace weft
