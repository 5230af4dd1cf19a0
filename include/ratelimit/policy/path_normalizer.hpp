#pragma once
/// @file path_normalizer.hpp
/// Turns a raw request path into the canonical path that endpoint rules and limit keys use.

#include <cstddef>
#include <string>
#include <string_view>

namespace ratelimit::policy {

/// What `PathNormalizer` treats as an id. A segment that matches any enabled
/// rule is replaced by `placeholder`, so "/users/42" and "/users/7" share one
/// rule and one key.
struct NormalizeOptions {
  /// A segment of ASCII digits only ("12345", also "0" and "2024").
  bool numeric_ids = true;
  /// A UUID: 8-4-4-4-12 hex digits, any case ("123e4567-E89B-12d3-a456-426614174000").
  bool uuids = true;
  /// A segment at least this many bytes long, made only of [A-Za-z0-9_.~-]
  /// and containing at least one ASCII digit and one ASCII letter (tokens,
  /// hashes, base64url ids). 0 disables this rule. Long plain words
  /// ("internationalization") have no digit and stay.
  std::size_t opaque_min_length = 16;
  /// Replacement for an id segment. Must be non-empty, must not be "." or
  /// "..", and must not contain '/', '?', '#' or '%' (so a normalized path
  /// normalizes to itself).
  std::string placeholder = "{id}";

  friend bool operator==(const NormalizeOptions&, const NormalizeOptions&) = default;
};

/// Normalizes request paths. Immutable after construction; `normalize` is
/// thread-safe and may be called concurrently on one instance.
class PathNormalizer final {
 public:
  /// Validates `options`; throws std::invalid_argument naming the field and
  /// value when the placeholder is empty, is "." or "..", or contains '/',
  /// '?', '#' or '%'.
  explicit PathNormalizer(NormalizeOptions options = {});

  /// The path a request's rules and keys use. In order:
  ///  1. the query and fragment are dropped (everything from the first '?' or '#');
  ///  2. the rest is split on '/'; empty segments are dropped, which collapses
  ///     "//", removes a trailing '/' and makes a missing leading '/' irrelevant;
  ///  3. in each segment, "%XX" escapes of unreserved characters
  ///     ([A-Za-z0-9_.~-]) are decoded ("%41" -> "A", "%2e" -> "."), every
  ///     other escape stays encoded with its hex digits uppercased ("%2f" ->
  ///     "%2F", so an escaped '/' never creates a segment). A segment with a
  ///     malformed '%' (not followed by two hex digits) is kept byte for byte;
  ///  4. "." segments are dropped and ".." removes the previous segment, never
  ///     above the root ("/../admin" -> "/admin", "/a/%2e%2e/b" -> "/b");
  ///  5. id segments (see NormalizeOptions) are replaced by the placeholder;
  ///  6. the segments are joined as "/s1/s2/..."; no segment gives "/".
  /// Other bytes (non-ASCII, controls, '*', '{') are kept as they are; case is
  /// kept. The result starts with '/', has no "//", no trailing '/' (except
  /// "/"), no "." or ".." segment, and normalize(normalize(p)) == normalize(p).
  ///
  /// Size: at most raw_path.size() + 1 + r * (placeholder.size() - 1) bytes,
  /// where r is the number of segments replaced; `max_normalized_size` gives
  /// the bound for any input of a given size. Never throws except std::bad_alloc.
  [[nodiscard]] std::string normalize(std::string_view raw_path) const;

  /// Upper bound on normalize(p).size() over every p with p.size() == raw_size:
  /// max(raw_size + 1, (raw_size + 1) * (placeholder.size() + 1) / 2). The
  /// second term is reached by one-digit ids ("/1/2/3"); with a one-byte
  /// placeholder the bound is raw_size + 1. Saturates at SIZE_MAX.
  [[nodiscard]] std::size_t max_normalized_size(std::size_t raw_size) const noexcept;

  [[nodiscard]] const NormalizeOptions& options() const noexcept { return options_; }

 private:
  NormalizeOptions options_;
};

}  // namespace ratelimit::policy
