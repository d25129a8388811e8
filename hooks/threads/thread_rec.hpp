// hooks/threads/thread_rec.hpp — the record behind a fiber's pthread_t.
//
// pthread_create on a fiber spawns a weft fiber and hands out the address
// of its record as the pthread_t. The record outlives the fiber until it is
// joined or, if detached, until the fiber ends. It starts with a magic word
// (a real glibc pthread_t points at its own TCB, whose first word is its own
// address), which is how the hooks tell the two kinds of pthread_t apart.
#pragma once
#include "common.hpp"

#include <signal.h>

#include <cstdint>
#include <string>
#include <vector>

namespace weft::hooks::threads {

inline constexpr std::uint64_t rec_magic = 0x7765667474687264ull;  // "weftthrd"

struct thread_rec {
  std::uint64_t magic = rec_magic;
  void* (*fn)(void*) = nullptr;
  void* arg = nullptr;
  void* result = nullptr;
  bool done = false;      // under the parking bucket of this record
  bool detached = false;  // idem
  bool joining = false;   // idem: a join is in progress
  std::size_t stack_size = 0;
  rt::fiber* ctl = nullptr;  // while the fiber lives
  struct slot {
    std::uint64_t seq;
    void* value;
  };
  std::vector<slot> specific;  // pthread_key_* values, by key
  char name[16] = {};
  sigset_t mask{};             // the thread's own signal mask (sigmask_hooks.cpp)
};

// rec_of() is t's record if t is a fiber's pthread_t, else nullptr.
inline thread_rec* rec_of(pthread_t t) noexcept {
  auto* r = reinterpret_cast<thread_rec*>(t);
  return (r && r->magic == rec_magic) ? r : nullptr;
}

// self_rec() is the calling fiber's record, or nullptr (a plain thread, the
// main fiber, a fiber that pthread_create did not make).
inline thread_rec* self_rec() noexcept {
  rt::fiber* f = current_fiber();
  return f ? static_cast<thread_rec*>(rt::user_slot(f)) : nullptr;
}

// run_key_destructors() runs the destructors of r's pthread_key values
// (PTHREAD_DESTRUCTOR_ITERATIONS rounds). On r's fiber, as it ends.
void run_key_destructors(thread_rec* r);

}  // namespace weft::hooks::threads
