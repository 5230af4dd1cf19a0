#pragma once
// Numbers in messages and range checks shared by the load components
// (internal).

#include <cstdio>
#include <string>

namespace ratelimit::load_detail {

/// Shortest readable form ("%g"): 0.7, 1e+06.
inline std::string num(double v) {
  char buf[32];
  (void)std::snprintf(buf, sizeof buf, "%g", v);
  return buf;
}

/// In [0, 1]; false for NaN.
inline bool in_unit(double v) noexcept { return v >= 0.0 && v <= 1.0; }

}  // namespace ratelimit::load_detail
