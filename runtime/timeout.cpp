// runtime/timeout.cpp — weft::timeout scopes: set and restore the caller's
// scope deadline (the earliest enclosing deadline wins).
#include "wait_ctx.hpp"

#include <weft/timeout.hpp>

namespace weft {

void timeout::enter(detail::ns_t deadline) noexcept {
  detail::wait_ctx* c = detail::current_ctx();
  saved_ = c->scope_deadline;
  deadline_ = deadline;
  if (deadline < c->scope_deadline) c->scope_deadline = deadline;
}

timeout::~timeout() { detail::current_ctx()->scope_deadline = saved_; }

}  // namespace weft
