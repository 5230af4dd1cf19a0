#pragma once
/// @file identifier_hash.hpp
/// One-way names for secrets: API keys (and overlong identifiers) become a
/// hash before they reach a store key, a log line or a metric.

#include <string>
#include <string_view>

namespace ratelimit::policy {

/// SHA-256 over salt and value, as 32 hex digits (128 bits: collisions are
/// out of reach; the key itself cannot be recovered).
class IdentifierHasher {
 public:
  explicit IdentifierHasher(std::string salt = {}) : salt_(std::move(salt)) {}
  /// "h:" followed by 32 hex digits.
  [[nodiscard]] std::string hash(std::string_view value) const;
  [[nodiscard]] const std::string& salt() const noexcept { return salt_; }

 private:
  std::string salt_;
};

}  // namespace ratelimit::policy
