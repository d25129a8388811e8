// runtime/timer_heap.cpp — binary min-heap of parked fibers by deadline.
#include "timer_heap.hpp"

#include "fiber_ctl.hpp"

namespace weft::detail {

void timer_heap::place(std::uint32_t i, fiber_ctl* f) noexcept {
  heap_[i] = f;
  f->timer_index = i;
}

void timer_heap::up(std::uint32_t i) noexcept {
  fiber_ctl* f = heap_[i];
  while (i > 0) {
    std::uint32_t p = (i - 1) / 2;
    if (heap_[p]->deadline <= f->deadline) break;
    place(i, heap_[p]);
    i = p;
  }
  place(i, f);
}

void timer_heap::down(std::uint32_t i) noexcept {
  fiber_ctl* f = heap_[i];
  std::uint32_t n = static_cast<std::uint32_t>(heap_.size());
  for (;;) {
    std::uint32_t c = 2 * i + 1;
    if (c >= n) break;
    if (c + 1 < n && heap_[c + 1]->deadline < heap_[c]->deadline) ++c;
    if (f->deadline <= heap_[c]->deadline) break;
    place(i, heap_[c]);
    i = c;
  }
  place(i, f);
}

void timer_heap::add(fiber_ctl* f) {
  WEFT_ASSERT(f->timer_index == npos, "fiber %llu armed twice", (unsigned long long)f->id);
  heap_.push_back(f);
  up(static_cast<std::uint32_t>(heap_.size() - 1));
}

void timer_heap::remove(fiber_ctl* f) noexcept {
  std::uint32_t i = f->timer_index;
  if (i == npos) return;
  WEFT_ASSERT(i < heap_.size() && heap_[i] == f, "timer heap index of fiber %llu is stale",
              (unsigned long long)f->id);
  f->timer_index = npos;
  fiber_ctl* last = heap_.back();
  heap_.pop_back();
  if (last == f) return;
  place(i, last);
  if (i > 0 && heap_[(i - 1) / 2]->deadline > last->deadline) up(i); else down(i);
}

ns_t timer_heap::next() const noexcept { return heap_.empty() ? no_deadline : heap_.front()->deadline; }

fiber_ctl* timer_heap::pop_due(ns_t now) noexcept {
  if (heap_.empty() || heap_.front()->deadline > now) return nullptr;
  fiber_ctl* f = heap_.front();
  remove(f);
  return f;
}

}  // namespace weft::detail
