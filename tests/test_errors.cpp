// tests/test_errors.cpp — the exception types of weft/errors.hpp.
#include "helpers.hpp"

#include <stdexcept>
#include <type_traits>

// usage_error is a logic_error, timed_out a runtime_error.
TEST(Errors, Hierarchy) {
  static_assert(std::is_base_of_v<std::logic_error, weft::usage_error>);
  static_assert(std::is_base_of_v<std::runtime_error, weft::timed_out>);
  EXPECT_STREQ(weft::timed_out().what(), "weft: timed out");
  weft::usage_error u("bad use");
  EXPECT_STREQ(u.what(), "bad use");
}

// cancelled must not be caught by `catch (const std::exception&)`.
TEST(Errors, CancelledIsNotAStdException) {
  static_assert(!std::is_base_of_v<std::exception, weft::cancelled>);
  EXPECT_STREQ(weft::cancelled().what(), "weft: fiber cancelled");
  bool swallowed = false, seen = false;
  try {
    try {
      throw weft::cancelled();
    } catch (const std::exception&) {
      swallowed = true;
    }
  } catch (const weft::cancelled&) {
    seen = true;
  }
  EXPECT_FALSE(swallowed);
  EXPECT_TRUE(seen);
}
