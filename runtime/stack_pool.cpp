// runtime/stack_pool.cpp — slab-carved, guarded, pooled fiber stacks.
// See stack_pool.hpp for the design.
#include "stack_pool.hpp"

#include "assert.hpp"
#include "log.hpp"

#include <sys/mman.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdio>
#include <new>

#ifndef MADV_GUARD_INSTALL
#define MADV_GUARD_INSTALL 102
#endif

namespace weft::detail {
namespace {

const std::size_t page = static_cast<std::size_t>(sysconf(_SC_PAGESIZE));
constexpr std::size_t max_slab_stacks = 1024;
constexpr std::size_t odd_cache_per_size = 64;
constexpr long mprotect_guard_limit = 30000;  // each guard splits a mapping

enum guard_mode : int { unknown, madv_guard, mprotect_guard };
std::atomic<int> g_mode{unknown};
std::atomic<long> g_mprotect_guards{0};
std::atomic<bool> g_warned{false};

std::size_t round_page(std::size_t n) { return (n + page - 1) / page * page; }

char* map_bytes(std::size_t bytes) {
  void* p = mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (p == MAP_FAILED) throw std::bad_alloc();
  return static_cast<char*>(p);
}

}  // namespace

bool install_guard(char* p) noexcept {
  int mode = g_mode.load(std::memory_order_relaxed);
  if (mode != mprotect_guard) {
    if (madvise(p, page, MADV_GUARD_INSTALL) == 0) {
      g_mode.store(madv_guard, std::memory_order_relaxed);
      return true;
    }
    WEFT_ASSERT(mode == unknown, "MADV_GUARD_INSTALL worked before and failed now (errno %d)", errno);
    g_mode.store(mprotect_guard, std::memory_order_relaxed);
  }
  if (g_mprotect_guards.fetch_add(1, std::memory_order_relaxed) < mprotect_guard_limit &&
      mprotect(p, page, PROT_NONE) == 0)
    return true;
  if (!g_warned.exchange(true))
    log_printf("weft: this kernel lacks MADV_GUARD_INSTALL and %ld mprotect guard pages are in use; "
                 "further fiber stacks have no guard page (vm.max_map_count)\n",
                 mprotect_guard_limit);
  return false;
}

stack_pool::stack_pool(std::size_t default_size)
    : default_size_(round_page(default_size < 2 * page ? 2 * page : default_size)),
      stride_(default_size_ + page) {}

stack_pool::~stack_pool() {
  for (slab& s : slabs_) munmap(s.base, s.bytes);
  for (auto& [size, v] : odd_free_)
    for (char* p : v) munmap(p, size + page);
}

void stack_pool::add_slab() {
  std::size_t n = next_slab_stacks_;
  if (next_slab_stacks_ < max_slab_stacks) next_slab_stacks_ *= 2;
  char* base = map_bytes(n * stride_);
  slabs_.push_back({base, n * stride_});
  carve_next_ = base;
  carve_end_ = base + n * stride_;
}

char* stack_pool::carve() {
  if (carve_next_ == carve_end_) add_slab();
  char* p = carve_next_;
  carve_next_ += stride_;
  install_guard(p);
  return p;
}

boost::context::stack_context stack_pool::allocate(std::size_t size) {
  boost::context::stack_context sc{};
  std::size_t usable = size == 0 ? default_size_ : round_page(size < 2 * page ? 2 * page : size);
  char* bottom;
  if (usable == default_size_) {
    if (!free_.empty()) {
      bottom = free_.back();
      free_.pop_back();
      if (trimmed_from_ > free_.size()) trimmed_from_ = free_.size();
    } else {
      bottom = carve();
    }
  } else {
    auto& cache = odd_free_[usable];
    if (!cache.empty()) {
      bottom = cache.back();
      cache.pop_back();
    } else {
      bottom = map_bytes(usable + page);
      install_guard(bottom);
    }
  }
  sc.size = usable;
  sc.sp = bottom + page + usable;
  return sc;
}

void stack_pool::deallocate(boost::context::stack_context& sc) noexcept {
  char* bottom = static_cast<char*>(sc.sp) - sc.size - page;
  if (sc.size == default_size_) {
    free_.push_back(bottom);
    return;
  }
  auto& cache = odd_free_[sc.size];
  if (cache.size() < odd_cache_per_size) cache.push_back(bottom);
  else munmap(bottom, sc.size + page);
}

void stack_pool::trim(std::size_t keep) noexcept {
  if (free_.size() <= keep) return;
  std::size_t end = free_.size() - keep;  // the coldest stacks sit at the front
  for (std::size_t i = trimmed_from_; i < end; ++i) madvise(free_[i] + page, default_size_, MADV_DONTNEED);
  if (end > trimmed_from_) trimmed_from_ = end;
}

}  // namespace weft::detail
