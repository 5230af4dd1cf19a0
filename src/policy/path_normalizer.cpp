#include "ratelimit/policy/path_normalizer.hpp"

#include <limits>
#include <stdexcept>
#include <utility>

namespace ratelimit::policy {

namespace {

bool is_digit(char c) noexcept { return c >= '0' && c <= '9'; }
bool is_alpha(char c) noexcept { return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z'); }

/// RFC 3986 "unreserved": the characters whose escaped and plain forms are equivalent.
bool is_unreserved(char c) noexcept {
  return is_alpha(c) || is_digit(c) || c == '-' || c == '.' || c == '_' || c == '~';
}

/// Value of a hex digit, or -1.
int hex_value(char c) noexcept {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;
}

char upper_hex(char c) noexcept {
  return (c >= 'a' && c <= 'f') ? static_cast<char>(c - 'a' + 'A') : c;
}

/// True when every '%' in `segment` starts a "%XX" escape.
bool escapes_well_formed(std::string_view segment) noexcept {
  for (std::size_t i = 0; i < segment.size(); ++i) {
    if (segment[i] != '%') continue;
    if (i + 2 >= segment.size() || hex_value(segment[i + 1]) < 0 || hex_value(segment[i + 2]) < 0) {
      return false;
    }
    i += 2;
  }
  return true;
}

/// Appends `segment` with unreserved escapes decoded and the others uppercased.
/// A segment with a malformed '%' is appended unchanged: decoding around it
/// could form a new escape ("%4%31" -> "%41"), and normalize would not be
/// idempotent.
void append_decoded(std::string& out, std::string_view segment) {
  if (segment.find('%') == std::string_view::npos || !escapes_well_formed(segment)) {
    out.append(segment);
    return;
  }
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

bool is_numeric(std::string_view s) noexcept {
  if (s.empty()) return false;
  for (const char c : s) {
    if (!is_digit(c)) return false;
  }
  return true;
}

bool is_uuid(std::string_view s) noexcept {
  if (s.size() != 36) return false;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (i == 8 || i == 13 || i == 18 || i == 23) {
      if (s[i] != '-') return false;
    } else if (hex_value(s[i]) < 0) {
      return false;
    }
  }
  return true;
}

bool is_opaque(std::string_view s, std::size_t min_length) noexcept {
  if (min_length == 0 || s.size() < min_length) return false;
  bool digit = false;
  bool alpha = false;
  for (const char c : s) {
    if (is_digit(c)) {
      digit = true;
    } else if (is_alpha(c)) {
      alpha = true;
    } else if (c != '-' && c != '.' && c != '_' && c != '~') {
      return false;
    }
  }
  return digit && alpha;
}

void validate(const NormalizeOptions& options) {
  const std::string_view p = options.placeholder;
  const char* problem = nullptr;
  if (p.empty()) {
    problem = "must not be empty";
  } else if (p == "." || p == "..") {
    problem = "must not be \".\" or \"..\"";
  } else if (p.find_first_of("/?#%") != std::string_view::npos) {
    problem = "must not contain '/', '?', '#' or '%'";
  }
  if (problem != nullptr) {
    throw std::invalid_argument("NormalizeOptions.placeholder " + std::string(problem) +
                                ", got \"" + std::string(p) + "\"");
  }
}

}  // namespace

PathNormalizer::PathNormalizer(NormalizeOptions options) : options_(std::move(options)) {
  validate(options_);
}

std::string PathNormalizer::normalize(std::string_view raw_path) const {
  // A plain loop: find_first_of calls memchr on "?#" once per byte.
  for (std::size_t i = 0; i < raw_path.size(); ++i) {
    if (raw_path[i] == '?' || raw_path[i] == '#') {
      raw_path = raw_path.substr(0, i);
      break;
    }
  }

  std::string out;
  out.reserve(raw_path.size() + 1 + options_.placeholder.size());
  std::size_t pos = 0;
  while (pos < raw_path.size()) {
    std::size_t next = raw_path.find('/', pos);
    if (next == std::string_view::npos) next = raw_path.size();
    const std::string_view segment = raw_path.substr(pos, next - pos);
    pos = next + 1;
    if (segment.empty()) continue;

    // Decode in place at the end of `out`, then look at what was appended:
    // "%2e%2e" is a ".." segment like "..".
    const std::size_t start = out.size();
    out.push_back('/');
    append_decoded(out, segment);
    const std::string_view decoded = std::string_view(out).substr(start + 1);
    if (decoded == ".") {
      out.resize(start);
    } else if (decoded == "..") {
      out.resize(start);
      // No output segment contains '/', so the last '/' starts the previous one.
      const std::size_t previous = out.rfind('/');
      out.resize(previous == std::string::npos ? 0 : previous);
    } else if ((options_.numeric_ids && is_numeric(decoded)) ||
               (options_.uuids && is_uuid(decoded)) ||
               is_opaque(decoded, options_.opaque_min_length)) {
      out.resize(start + 1);
      out.append(options_.placeholder);
    }
  }
  if (out.empty()) out.push_back('/');
  return out;
}

std::size_t PathNormalizer::max_normalized_size(std::size_t raw_size) const noexcept {
  constexpr std::size_t kMax = std::numeric_limits<std::size_t>::max();
  if (raw_size >= kMax - 1) return kMax;
  const std::size_t factor = options_.placeholder.size() + 1;
  const std::size_t n = raw_size + 1;
  if (factor > 0 && n > kMax / factor) return kMax;
  const std::size_t expanded = n * factor / 2;
  return expanded > n ? expanded : n;
}

}  // namespace ratelimit::policy
