#pragma once
/// @file percent_encoding.hpp
/// RFC 3986 percent-escapes as paths and endpoint patterns are normalized:
/// unreserved characters decoded, other escapes kept with uppercase hex. One
/// definition, so a pattern's literals and a request's path agree.

#include <string>
#include <string_view>

namespace ratelimit::policy::percent {

inline bool is_digit(char c) noexcept { return c >= '0' && c <= '9'; }
inline bool is_alpha(char c) noexcept { return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z'); }

/// RFC 3986 "unreserved": the characters whose escaped and plain forms are equivalent.
inline bool is_unreserved(char c) noexcept {
  return is_alpha(c) || is_digit(c) || c == '-' || c == '.' || c == '_' || c == '~';
}

/// Value of a hex digit, or -1.
inline int hex_value(char c) noexcept {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;
}

inline char upper_hex(char c) noexcept {
  return (c >= 'a' && c <= 'f') ? static_cast<char>(c - 'a' + 'A') : c;
}

/// True when every '%' in `segment` starts a "%XX" escape.
inline bool escapes_well_formed(std::string_view segment) noexcept {
  for (std::size_t i = 0; i < segment.size(); ++i) {
    if (segment[i] != '%') continue;
    if (i + 2 >= segment.size() || hex_value(segment[i + 1]) < 0 || hex_value(segment[i + 2]) < 0) {
      return false;
    }
    i += 2;
  }
  return true;
}

/// Appends a well-formed `segment` (see escapes_well_formed) with unreserved
/// escapes decoded and the others' hex digits uppercased.
inline void append_decoded(std::string& out, std::string_view segment) {
  for (std::size_t i = 0; i < segment.size(); ++i) {
    const char c = segment[i];
    if (c != '%') {
      out.push_back(c);
      continue;
    }
    const auto decoded =
        static_cast<char>(hex_value(segment[i + 1]) * 16 + hex_value(segment[i + 2]));
    if (is_unreserved(decoded)) {
      out.push_back(decoded);
    } else {
      out.push_back('%');
      out.push_back(upper_hex(segment[i + 1]));
      out.push_back(upper_hex(segment[i + 2]));
    }
    i += 2;
  }
}

}  // namespace ratelimit::policy::percent
