#include "ratelimit/policy/path_normalizer.hpp"

#include <limits>
#include <stdexcept>
#include <utility>

#include "policy/percent_encoding.hpp"

namespace ratelimit::policy {

namespace {

using percent::hex_value;
using percent::is_alpha;
using percent::is_digit;

/// Appends `segment` with unreserved escapes decoded and the others uppercased.
/// A segment with a malformed '%' is appended unchanged: decoding around it
/// could form a new escape ("%4%31" -> "%41"), and normalize would not be
/// idempotent.
void append_decoded(std::string& out, std::string_view segment) {
  if (segment.find('%') == std::string_view::npos || !percent::escapes_well_formed(segment)) {
    out.append(segment);
    return;
  }
  percent::append_decoded(out, segment);
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
