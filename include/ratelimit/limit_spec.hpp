#pragma once
/// @file limit_spec.hpp
/// What one limit is: algorithm, limit per window, burst, mode. Validated once, at construction.

#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>

#include "ratelimit/time.hpp"

namespace ratelimit {

/// The six algorithms of `spec/algorithms.md`.
enum class Algorithm : std::uint8_t {
  token_bucket = 1,
  gcra = 2,
  leaky_bucket = 3,
  fixed_window = 4,
  sliding_window = 5,
  sliding_log = 6,
};

/// Leaky bucket behaviour: `police` drops what overflows (no delay); `shape`
/// admits into a queue and tells the caller how long to wait (`delay`).
enum class LeakyMode : std::uint8_t { police = 0, shape = 1 };

/// Thrown for a limit that cannot exist; the message names the field and value.
class InvalidLimitSpec : public std::invalid_argument {
 public:
  using std::invalid_argument::invalid_argument;
};

/// Canonical name ("token_bucket", ...).
[[nodiscard]] std::string_view to_string(Algorithm a) noexcept;
[[nodiscard]] std::string_view to_string(LeakyMode m) noexcept;
/// Parses a canonical name; throws InvalidLimitSpec listing the valid names.
[[nodiscard]] Algorithm parse_algorithm(std::string_view name);
/// Parses "police" or "shape"; throws InvalidLimitSpec otherwise.
[[nodiscard]] LeakyMode parse_leaky_mode(std::string_view name);
/// True for token_bucket, gcra and leaky_bucket (the algorithms with a burst).
[[nodiscard]] constexpr bool is_bucket(Algorithm a) noexcept {
  return a == Algorithm::token_bucket || a == Algorithm::gcra || a == Algorithm::leaky_bucket;
}

/// The raw fields of a limit, before validation.
struct LimitParams {
  Algorithm algorithm = Algorithm::token_bucket;
  /// Requests (cost units) per window. 1 .. kMaxLimit.
  std::int64_t limit = 0;
  /// Window length in µs. 1 .. kMaxWindow.
  Micros window = 0;
  /// Bucket algorithms only: capacity; defaults to `limit`.
  std::optional<std::int64_t> burst;
  /// Leaky bucket only; defaults to police.
  std::optional<LeakyMode> mode;
};

/// A validated, immutable limit. Cheap to copy; precomputes the rate and the
/// emission interval so the hot path does no division.
class LimitSpec {
 public:
  /// Largest `limit` or `burst` (2^40): keeps counts exact in doubles and Lua.
  static constexpr std::int64_t kMaxLimit = std::int64_t{1} << 40;
  /// sliding_window keeps two counters in 32 bits each.
  static constexpr std::int64_t kMaxSlidingWindowLimit = 0xFFFFFFFFLL;
  /// sliding_log keeps one 16-byte entry per admitted instant, so its limit
  /// bounds its memory per key; above this, use sliding_window.
  static constexpr std::int64_t kMaxSlidingLogLimit = 1'000'000;
  /// Longest window: 366 days.
  static constexpr Micros kMaxWindow = 366 * kMicrosPerDay;

  /// Validates and builds; throws InvalidLimitSpec naming what is wrong.
  explicit LimitSpec(const LimitParams& params);
  /// Shorthand for LimitSpec(LimitParams{...}).
  LimitSpec(Algorithm algorithm, std::int64_t limit, Micros window,
            std::optional<std::int64_t> burst = std::nullopt,
            std::optional<LeakyMode> mode = std::nullopt);

  /// The error LimitSpec(params) would throw, or an empty string when valid.
  [[nodiscard]] static std::string validate(const LimitParams& params);

  [[nodiscard]] Algorithm algorithm() const noexcept { return algorithm_; }
  [[nodiscard]] std::int64_t limit() const noexcept { return limit_; }
  [[nodiscard]] Micros window() const noexcept { return window_; }
  /// Bucket capacity (equals `limit` for window algorithms).
  [[nodiscard]] std::int64_t burst() const noexcept { return burst_; }
  [[nodiscard]] LeakyMode mode() const noexcept { return mode_; }
  /// r = limit / window, units per µs.
  [[nodiscard]] double rate() const noexcept { return rate_; }
  /// T = window / limit, µs per unit.
  [[nodiscard]] double interval() const noexcept { return interval_; }
  /// What `Decision::limit` reports: burst for buckets, limit for windows.
  [[nodiscard]] std::int64_t reported_limit() const noexcept { return is_bucket(algorithm_) ? burst_ : limit_; }

  friend bool operator==(const LimitSpec& a, const LimitSpec& b) noexcept {
    return a.algorithm_ == b.algorithm_ && a.limit_ == b.limit_ && a.window_ == b.window_ &&
           a.burst_ == b.burst_ && a.mode_ == b.mode_;
  }

 private:
  Algorithm algorithm_;
  LeakyMode mode_;
  std::int64_t limit_;
  Micros window_;
  std::int64_t burst_;
  double rate_;
  double interval_;
};

/// Human-readable form, e.g. "token_bucket 100/60s burst 100".
[[nodiscard]] std::string describe(const LimitSpec& spec);

}  // namespace ratelimit
