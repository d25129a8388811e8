// weft/detail/export.hpp — symbol visibility for libweft.
#pragma once
#define WEFT_API __attribute__((visibility("default")))
