// hooks/threads/mutex.hpp — the fiber-aware pthread mutex, for the other
// primitives (condition variables relock through it).
#pragma once
#include "common.hpp"

namespace weft::hooks::threads {

// real_mutex() is true for the kinds left to glibc: robust, priority
// inheritance/protection and process-shared mutexes.
inline bool real_mutex(const pthread_mutex_t* m) noexcept { return (m->__data.__kind & (16 | 32 | 64 | 128)) != 0; }

// mutex_lock() locks m (deadline: monotonic, detail::no_deadline = none;
// try_only: never wait). Returns 0 or EBUSY/EDEADLK/ETIMEDOUT/EAGAIN.
// Any caller; parks a fiber, futex-waits a thread.
int mutex_lock(pthread_mutex_t* m, ns_t deadline, bool try_only);
// mutex_unlock() unlocks m; returns 0 or EPERM.
int mutex_unlock(pthread_mutex_t* m) noexcept;

}  // namespace weft::hooks::threads
