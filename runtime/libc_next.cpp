// runtime/libc_next.cpp — see libc_next.hpp.
#include "libc_next.hpp"

#include "assert.hpp"

#include <dlfcn.h>

namespace weft::detail {

void* libc_next_opt(const char* name) noexcept { return dlsym(RTLD_NEXT, name); }

void* libc_next(const char* name) noexcept {
  void* p = dlsym(RTLD_NEXT, name);
  if (!p) p = dlsym(RTLD_DEFAULT, name);
  WEFT_ASSERT(p, "weft: cannot find %s in libc", name);
  return p;
}

}  // namespace weft::detail
