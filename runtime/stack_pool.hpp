// runtime/stack_pool.hpp — pooled, lazily committed fiber stacks.
//
// Design: stacks of the default size are carved from large anonymous
// MAP_NORESERVE slabs, so only touched pages cost memory and 1M stacks need
// only a few thousand mappings. Each stack's lowest page is a guard: with
// MADV_GUARD_INSTALL (Linux 6.13+) the guard costs no extra mapping; on
// older kernels mprotect(PROT_NONE) is used while the process has fewer than
// `mprotect_guard_limit` such guards (each splits a mapping and
// vm.max_map_count is 65530), and stacks beyond that get no guard (warned
// once on stderr). Freed stacks go back on a per-scheduler free list and are
// reused hot; stacks of other sizes get their own mapping and a small cache.
// A stack_pool belongs to one scheduler and is used only on its thread.
#pragma once
#include <boost/context/stack_context.hpp>

#include <cstddef>
#include <unordered_map>
#include <vector>

namespace weft::detail {

class stack_pool {
 public:
  // stack_pool(size) pools stacks of `size` usable bytes (rounded to pages).
  explicit stack_pool(std::size_t default_size);
  ~stack_pool();
  stack_pool(const stack_pool&) = delete;
  stack_pool& operator=(const stack_pool&) = delete;

  // allocate(size) returns a stack (size 0 = default); throws std::bad_alloc
  // when the address space is exhausted. Scheduler thread only.
  boost::context::stack_context allocate(std::size_t size);
  // deallocate() returns a stack to the pool. Scheduler thread only.
  void deallocate(boost::context::stack_context& sc) noexcept;
  // trim() releases the memory of free stacks beyond `keep` (idle time).
  void trim(std::size_t keep) noexcept;

  std::size_t default_size() const noexcept { return default_size_; }

 private:
  struct slab {
    char* base;
    std::size_t bytes;
  };
  std::size_t default_size_;  // usable bytes, page multiple
  std::size_t stride_;        // usable + guard page
  std::vector<slab> slabs_;
  char* carve_next_ = nullptr;  // next unused stack in the newest slab
  char* carve_end_ = nullptr;
  std::size_t next_slab_stacks_ = 16;
  std::vector<char*> free_;  // bottoms (guard page) of free default stacks
  std::size_t trimmed_from_ = 0;  // free_[0, trimmed_from_) have no committed pages
  std::unordered_map<std::size_t, std::vector<char*>> odd_free_;  // other sizes, by usable size

  char* carve();
  void add_slab();
};

// guard() makes the page at p inaccessible; false if no guard could be set.
bool install_guard(char* p) noexcept;

}  // namespace weft::detail
