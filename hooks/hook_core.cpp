// hooks/hook_core.cpp — see hook_core.hpp.
#include "hook_core.hpp"

namespace weft::hooks {

unsigned long parks() noexcept { return rt::parks(); }

int wake_errno(wake r, int expiry) noexcept {
  switch (r) {
    case wake::closed: return EBADF;
    case wake::timeout: return expiry;
    case wake::scope_timeout: return ETIMEDOUT;
    case wake::cancelled: return ECANCELED;
    case wake::interrupted: return EINTR;
    default: return EIO;  // not reached: notified is handled by the callers
  }
}

void iov_rest::from(const iovec* iov, std::size_t n, std::size_t skip) {
  std::size_t i = 0;
  while (i < n && skip >= iov[i].iov_len) skip -= iov[i++].iov_len;
  v.assign(iov + i, iov + n);
  if (!v.empty()) {
    v[0].iov_base = static_cast<char*>(v[0].iov_base) + skip;
    v[0].iov_len -= skip;
  }
}

}  // namespace weft::hooks
