#pragma once
/// @file check.hpp
/// Config checks shared by the adaptive controllers: each throws
/// std::invalid_argument naming the owner, the field and the value.

#include <cmath>
#include <cstdint>
#include <sstream>
#include <stdexcept>
#include <string>
#include <string_view>

namespace ratelimit::adaptive_detail {

template <typename T>
[[noreturn]] void fail(std::string_view owner, std::string_view field, std::string_view rule,
                       T value) {
  std::ostringstream out;
  out << owner << ": " << field << " must be " << rule << ", got " << value;
  throw std::invalid_argument(out.str());
}

/// `value` finite and > 0.
inline void require_positive(std::string_view owner, std::string_view field, double value) {
  if (!(value > 0) || !std::isfinite(value)) fail(owner, field, "a finite number > 0", value);
}

/// `value` finite and >= 0.
inline void require_non_negative(std::string_view owner, std::string_view field, double value) {
  if (!(value >= 0) || !std::isfinite(value)) fail(owner, field, "a finite number >= 0", value);
}

/// `lo <= value <= hi` (NaN fails).
inline void require_in(std::string_view owner, std::string_view field, double value, double lo,
                       double hi, std::string_view rule) {
  if (!(value >= lo && value <= hi)) fail(owner, field, rule, value);
}

/// `lo < value < hi` (NaN fails).
inline void require_open(std::string_view owner, std::string_view field, double value, double lo,
                         double hi, std::string_view rule) {
  if (!(value > lo && value < hi)) fail(owner, field, rule, value);
}

}  // namespace ratelimit::adaptive_detail
