#pragma once
/// @file traffic_report.hpp
/// The summary `ratelimit analyze` prints: rates, distributions, weekly
/// patterns and recommended limits, computed from a finished TrafficAnalyzer.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "ratelimit/limit_spec.hpp"
#include "ratelimit/planning/traffic_analyzer.hpp"

namespace ratelimit::planning {

/// Percentiles are nearest-rank: p95 is the smallest value v such that at
/// least 95% of the values are <= v.
struct Distribution {
  std::uint64_t count = 0;
  double mean = 0;
  std::uint64_t median = 0, p95 = 0, p99 = 0, max = 0;
};
/// The distribution of `values` (reordered).
[[nodiscard]] Distribution distribution_of(std::vector<std::uint64_t>& values);
/// Nearest-rank quantile q in (0, 1] of `values` (reordered); 0 when empty.
[[nodiscard]] std::uint64_t nearest_rank(std::vector<std::uint64_t>& values, double q);

/// What the recommendation aims for.
struct Target {
  enum class Kind : std::uint8_t {
    /// This fraction of identifiers is never limited ("p99" = 0.99).
    identifiers,
    /// At most this fraction of (tracked) requests is limited under fixed_window.
    blocked_requests,
  };
  Kind kind = Kind::identifiers;
  double value = 0.99;
};
/// "p99", "p99.9", "p100", "0.99" -> identifiers target; nullopt when malformed.
[[nodiscard]] std::optional<Target> parse_target(std::string_view text) noexcept;

struct Recommendation {
  Algorithm algorithm = Algorithm::token_bucket;
  std::int64_t limit = 0;
  Micros window = 0;
  /// Bucket algorithms: the capacity.
  std::optional<std::int64_t> burst;
  /// Identifiers whose observed traffic would never have been limited.
  std::uint64_t identifiers_never_limited = 0;
  std::uint64_t identifiers = 0;
  /// fixed_window only: requests it would have limited (exact for the
  /// tracked identifiers, since a denied request does not count).
  std::optional<std::uint64_t> requests_limited;
  /// How the numbers were derived (one sentence).
  std::string basis;
};

struct TopEntry {
  std::string name;
  std::uint64_t requests = 0;
  std::uint64_t peak_window = 0;
  std::uint64_t peak_second = 0;
};

struct EndpointEntry {
  std::string endpoint;  ///< "METHOD /normalized/path"
  std::uint64_t requests = 0;
  std::uint64_t peak_second = 0;
  std::uint64_t client_errors = 0, server_errors = 0;
};

struct TrafficReport {
  std::uint64_t requests = 0;
  Micros first_time = 0, last_time = 0;
  /// Requests per second: total / seconds covered (first..last, inclusive).
  double average_rps = 0;
  std::uint64_t peak_rps = 0;
  Micros peak_rps_at = 0;
  IdentifierKind by = IdentifierKind::ip;
  Micros window = 0;
  std::uint64_t anonymous_requests = 0, untracked_requests = 0, out_of_order = 0;
  /// Over identifiers: total requests, peak per window, peak per second.
  Distribution per_identifier, peak_per_window, peak_per_second;
  std::vector<TopEntry> top_identifiers;
  /// With more identifiers than AnalyzeOptions::max_identifiers: the
  /// heaviest of the rest, from the Space-Saving sketch (approximate).
  std::vector<SpaceSaving::Entry> untracked_top;
  std::vector<EndpointEntry> endpoints;  ///< busiest first
  std::size_t endpoint_count = 0;
  std::array<std::array<std::uint64_t, 24>, 7> weekly{};
  std::array<std::uint64_t, 24> by_hour{};
  std::array<std::uint64_t, 7> by_weekday{};
  /// The busiest clock hour and calendar day (UTC), by requests.
  Micros busiest_hour_at = 0, busiest_day_at = 0;
  std::uint64_t busiest_hour_requests = 0, busiest_day_requests = 0;
  int peak_hour = 0;     ///< 0..23
  int peak_weekday = 0;  ///< 0 = Monday
  Target target;
  std::vector<Recommendation> recommendations;
};

/// "Monday".."Sunday".
[[nodiscard]] std::string_view weekday_name(int weekday) noexcept;

/// Builds the report (calls analyzer.finish()). `top` bounds the top lists.
[[nodiscard]] TrafficReport build_report(TrafficAnalyzer& analyzer, const Target& target,
                                         std::size_t top = 10);

/// Recommended limits for every algorithm, per identifier, for `target`.
[[nodiscard]] std::vector<Recommendation> recommend(TrafficAnalyzer& analyzer,
                                                    const Target& target);

/// A policy YAML (docs/config.md) with one top-level limit `name`, scoped by
/// `by`, from `r`. Loads with load_config.
[[nodiscard]] std::string policy_yaml(const Recommendation& r, IdentifierKind by,
                                      const std::string& name = "per_identifier");

}  // namespace ratelimit::planning
