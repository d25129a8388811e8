// hooks/options.cpp — see options.hpp.
#include "options.hpp"

#include <cstdlib>
#include <cstring>

namespace weft::hooks {
namespace {

// on() is false when the variable says "off" (or "0").
bool on(const char* var) noexcept {
  const char* v = std::getenv(var);
  return !(v && (std::strcmp(v, "off") == 0 || std::strcmp(v, "0") == 0));
}

}  // namespace

bool dns_hooked() noexcept {
  static const bool v = on("WEFT_DNS");
  return v;
}

bool signals_hooked() noexcept {
  static const bool v = on("WEFT_SIGNALS");
  return v;
}

}  // namespace weft::hooks
