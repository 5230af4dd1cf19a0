#pragma once
/// @file http/digits.hpp
/// A decimal integer formatted on the stack: what the header, 429-body and
/// head writers append, without a std::string per number.

#include <charconv>
#include <cstddef>
#include <cstdint>
#include <string_view>

namespace ratelimit::http {

class Digits {
 public:
  explicit Digits(std::int64_t value) noexcept {
    size_ = static_cast<std::size_t>(std::to_chars(text_, text_ + sizeof text_, value).ptr - text_);
  }
  [[nodiscard]] std::string_view view() const noexcept { return {text_, size_}; }

 private:
  char text_[24];  // "-9223372036854775808" fits
  std::size_t size_ = 0;
};

}  // namespace ratelimit::http
