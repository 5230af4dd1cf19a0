#pragma once
/// @file config_loader.hpp
/// Loading and validating a policy configuration from YAML (docs/config.md).

#include <filesystem>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "ratelimit/policy/config.hpp"

namespace ratelimit::policy {

/// One problem found in a configuration, with where it is.
struct ConfigIssue {
  std::string file;
  /// 1-based; 0 when the problem has no single place (e.g. a missing section).
  int line = 0;
  int column = 0;
  std::string message;
  /// How to fix it; may be empty.
  std::string hint;
  /// "file:line:column: message (hint)".
  [[nodiscard]] std::string to_string() const;
};

/// A configuration that cannot be used. Carries every problem found, not
/// just the first; `what()` lists them one per line.
class ConfigError : public std::runtime_error {
 public:
  explicit ConfigError(std::vector<ConfigIssue> issues);
  [[nodiscard]] const std::vector<ConfigIssue>& issues() const noexcept { return issues_; }

 private:
  std::vector<ConfigIssue> issues_;
};

/// Parses and validates YAML text. `source` names it in messages. Throws
/// ConfigError; never returns a half-valid config.
[[nodiscard]] PolicyConfig load_config(std::string_view yaml, std::string_view source = "<config>");
/// Reads and loads a file; an unreadable file is a ConfigError too.
[[nodiscard]] PolicyConfig load_config_file(const std::filesystem::path& path);

/// "60s", "500ms", "1m", "2h", "1d", "250us" -> µs. nullopt when malformed.
[[nodiscard]] std::optional<Micros> parse_duration(std::string_view text) noexcept;

/// A rate "N/unit" or "N/duration" ("100/min", "1.67/s", "10/100ms"), as an
/// exact limit per window: decimals scale both ("1.67/s" = 167 per 100 s).
struct Rate {
  std::int64_t limit = 0;
  Micros window = 0;
};
/// nullopt when malformed or not positive.
[[nodiscard]] std::optional<Rate> parse_rate(std::string_view text) noexcept;

/// RFC 3339 UTC instant "2027-01-31T12:00:00Z" -> Unix µs. nullopt when malformed.
[[nodiscard]] std::optional<Micros> parse_timestamp(std::string_view text) noexcept;

}  // namespace ratelimit::policy
