// runtime/timer_heap.hpp — the scheduler's deadlines, a binary min-heap.
//
// Each parked fiber with a deadline sits in the heap once; the fiber keeps
// its own heap index, so a wait that ends early removes its timer in
// O(log n) instead of leaving a tombstone. Scheduler thread only.
#pragma once
#include <weft/detail/wait.hpp>

#include <cstdint>
#include <vector>

namespace weft::detail {

struct fiber_ctl;

class timer_heap {
 public:
  static constexpr std::uint32_t npos = UINT32_MAX;
  // add() schedules f at f->deadline.
  void add(fiber_ctl* f);
  // remove() unschedules f if scheduled.
  void remove(fiber_ctl* f) noexcept;
  // next() is the earliest deadline, or no_deadline.
  ns_t next() const noexcept;
  // pop_due() removes and returns a fiber whose deadline is <= now, or nullptr.
  fiber_ctl* pop_due(ns_t now) noexcept;
  bool empty() const noexcept { return heap_.empty(); }
  std::size_t size() const noexcept { return heap_.size(); }

 private:
  std::vector<fiber_ctl*> heap_;
  void up(std::uint32_t i) noexcept;
  void down(std::uint32_t i) noexcept;
  void place(std::uint32_t i, fiber_ctl* f) noexcept;
};

}  // namespace weft::detail
