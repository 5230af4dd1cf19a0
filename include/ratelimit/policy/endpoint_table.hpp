#pragma once
/// @file endpoint_table.hpp
/// Endpoint rules ("METHOD /path" patterns) and the table that picks the rule for a request.

#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "ratelimit/policy/string_map.hpp"

namespace ratelimit::policy {

/// One parsed endpoint rule, "METHOD /path".
///
/// METHOD is an uppercase token ([A-Z0-9_-], starting with a letter, e.g.
/// "GET") or "*" for any method. The path is matched segment by segment
/// against a normalized path (`PathNormalizer::normalize`):
///  - a literal matches itself, byte for byte (case-sensitive);
///  - "*" or "{name}" (name of [A-Za-z0-9_]) matches exactly one segment, any
///    value, including the normalizer's placeholder "{id}";
///  - a final "**" matches zero or more remaining segments.
/// "GET /" matches only the root; "GET /**" matches every path.
struct EndpointPattern {
  /// "GET", "POST", ... or "*".
  std::string method;
  /// Path segments without the final "**": literals (escapes canonicalized as
  /// the normalizer does: "%7e" -> "~", "%2f" -> "%2F"), "*" or "{name}".
  std::vector<std::string> segments;
  /// True when the pattern ends in "**".
  bool tail = false;
  /// Canonical text, "METHOD /a/{id}/**"; parse_endpoint_pattern(text) gives
  /// back this pattern.
  std::string text;

  friend bool operator==(const EndpointPattern&, const EndpointPattern&) = default;
};

/// Thrown for a pattern that cannot be parsed; the message names the problem
/// and quotes the text.
class InvalidEndpointPattern : public std::invalid_argument {
 public:
  using std::invalid_argument::invalid_argument;
};

/// Parses "METHOD /path" (leading and trailing spaces or tabs ignored, one or
/// more between method and path). Throws InvalidEndpointPattern for: missing
/// method or path; a lowercase or otherwise invalid method; a path not
/// starting with '/'; whitespace or control characters in the path; a query
/// string or fragment ('?', '#'); an empty segment ("//" or a trailing '/');
/// a "." or ".." segment; "**" not last; a partial wildcard ("a*", "{id");
/// a malformed '%' escape.
[[nodiscard]] EndpointPattern parse_endpoint_pattern(std::string_view text);

/// Finds the rule for a request among endpoint patterns.
///
/// Precedence, when several patterns match (most specific first):
///  1. a pattern with the request's exact method beats a "*" pattern;
///  2. then more literal segments;
///  3. then fewer wildcard segments ("*", "{name}" and a final "**" count
///     one each);
///  4. then a pattern without "**" beats one with it;
///  5. remaining ties go to the pattern that comes first in config order.
/// So "GET /users/me" beats "GET /users/{id}", which beats "GET /users/**",
/// and all of them beat "* /users/me".
///
/// Patterns without wildcards are found with one hash lookup by path; only
/// wildcard patterns are scanned, in precedence order, and the first match
/// wins. Immutable after construction; `match` is thread-safe.
class EndpointTable final {
 public:
  EndpointTable() = default;
  /// Patterns in config order; the index of each is its payload. Throws
  /// std::length_error for more than 2^32 - 1 patterns.
  explicit EndpointTable(std::vector<EndpointPattern> patterns);

  /// Index (in config order) of the best pattern for the request, or nullopt
  /// when none matches. `method` is compared case-sensitively (HTTP methods
  /// are); a request method "get" matches only "*" patterns.
  /// `normalized_path` must come from `PathNormalizer::normalize`: it is
  /// compared as is. Does not allocate.
  [[nodiscard]] std::optional<std::uint32_t> match(std::string_view method,
                                                   std::string_view normalized_path) const noexcept;

  /// Number of patterns.
  [[nodiscard]] std::size_t size() const noexcept { return size_; }

 private:
  /// The literal-only patterns for one path.
  struct ExactEntry {
    /// (method, index) for patterns with a method, first occurrence only.
    std::vector<std::pair<std::string, std::uint32_t>> methods;
    /// The first "*" pattern for this path.
    std::optional<std::uint32_t> any;
  };
  struct Segment {
    std::string literal;
    bool wildcard = false;
  };
  struct WildcardRule {
    /// The leading literal segments as one string, "/api/v1" ("" if none):
    /// one comparison rejects most rules.
    std::string prefix;
    /// The segments after `prefix`.
    std::vector<Segment> rest;
    /// Segments in the pattern, without "**".
    std::size_t segment_count = 0;
    std::string method;
    bool any_method = false;
    bool tail = false;
    std::uint32_t index = 0;
  };

  [[nodiscard]] static std::optional<std::uint32_t> scan(const std::vector<WildcardRule>& rules,
                                                         std::string_view method,
                                                         std::string_view path,
                                                         std::size_t segment_count) noexcept;

  /// Literal-only patterns, keyed by canonical path ("/a/b", "/").
  StringMap<ExactEntry> exact_;
  /// Wildcard patterns with a method, in precedence order.
  std::vector<WildcardRule> method_wildcards_;
  /// Wildcard "*" patterns, in precedence order.
  std::vector<WildcardRule> any_wildcards_;
  std::size_t size_ = 0;
};

}  // namespace ratelimit::policy
