#pragma once
/// @file analytics.hpp
/// Rolling decision analytics: per-minute aggregates for 7 days (allowed and
/// blocked by scope, tier and endpoint, decision latency) in bounded memory,
/// and the most-limited identifiers, queried over 1 hour, 24 hours or 7 days.

#include <array>
#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "ratelimit/time.hpp"

namespace ratelimit::telemetry {

/// One decision, as the service saw it. The views need only live for the
/// duration of `Analytics::record`.
struct DecisionEvent {
  Micros at = 0;  ///< when it was decided, µs since the Unix epoch
  bool allowed = true;
  std::string_view scope = {};       ///< the deciding limit ("" when none)
  std::string_view tier = {};        ///< the caller's tier ("" when none)
  std::string_view endpoint = {};    ///< the endpoint rule or "METHOD path" ("" when none)
  std::string_view identifier = {};  ///< who was limited (user, key, ...); "" when unknown
  std::int64_t cost = 1;             ///< units charged (allowed) or asked for (blocked)
  Micros latency = -1;               ///< time to decide, µs; negative when not measured
};

/// The query windows of `/v1/stats`.
enum class Range : std::uint8_t { hour, day, week };
/// "1h", "24h", "7d".
[[nodiscard]] std::string_view to_string(Range range) noexcept;
/// Parses "1h", "24h" or "7d"; nullopt otherwise.
[[nodiscard]] std::optional<Range> parse_range(std::string_view text) noexcept;
/// The range's length in minutes (60, 1440, 10080).
[[nodiscard]] int minutes_of(Range range) noexcept;

/// Allowed and blocked decisions under one label value.
struct Counts {
  std::uint64_t allowed = 0;
  std::uint64_t blocked = 0;
  [[nodiscard]] std::uint64_t total() const noexcept { return allowed + blocked; }
};

/// One identifier among the most limited.
struct LimitedIdentifier {
  std::string identifier;
  /// Blocked decisions: a lower bound; the true count is at most
  /// `blocked + error`.
  std::uint64_t blocked = 0;
  std::uint64_t error = 0;
};

/// One point of the chart series: decisions in [start, start + step).
struct SeriesPoint {
  Micros start = 0;
  std::uint64_t allowed = 0;
  std::uint64_t blocked = 0;
};

/// Aggregates over a window of whole minutes ending with the current one.
struct Stats {
  Micros from = 0;  ///< the first minute's start
  Micros to = 0;    ///< the end of the current minute
  int minutes = 0;
  std::uint64_t allowed = 0;
  std::uint64_t blocked = 0;
  std::uint64_t admitted_cost = 0;  ///< units charged by allowed decisions
  [[nodiscard]] std::uint64_t total() const noexcept { return allowed + blocked; }
  /// blocked / total; 0 without decisions.
  [[nodiscard]] double block_rate() const noexcept;
  /// By label value; names beyond the per-minute cap are under kOtherLabel.
  std::map<std::string, Counts, std::less<>> by_scope;
  std::map<std::string, Counts, std::less<>> by_tier;
  std::map<std::string, Counts, std::less<>> by_endpoint;
  /// The most blocked identifiers, most first.
  std::vector<LimitedIdentifier> top_limited;
  /// Bound on every `top_limited` error: blocked decisions in the window / 65.
  std::uint64_t top_limited_error_bound = 0;
  /// Chart points, oldest first, every `series_step` µs (one minute for 1h,
  /// ten for 24h, an hour for 7d; `stats_minutes`: one minute).
  Micros series_step = kMicrosPerMinute;
  std::vector<SeriesPoint> series;
  /// Decisions with a measured latency, and their 99th percentile (the upper
  /// edge of its histogram bucket, µs); nullopt without measurements.
  std::uint64_t latency_samples = 0;
  std::optional<Micros> p99_latency;
  /// Since this Analytics was created (not windowed): for rates.
  std::uint64_t lifetime_allowed = 0;
  std::uint64_t lifetime_blocked = 0;
};

/// Records decisions and answers window queries.
///
/// Memory is bounded whatever the traffic: a ring of 10,080 minute slots
/// (7 days), each with at most kMaxLabelsPerMinute names per dimension (scope,
/// tier, endpoint; further names in that minute count under kOtherLabel), a
/// latency histogram, and one heavy-hitters summary per ten minutes. Names are
/// truncated to kMaxNameBytes and interned in a table of at most kMaxNames
/// (later new names count under kOtherLabel). About 16 MiB in all.
///
/// Thread-safe. `record` takes a per-thread shard's lock (threads beyond
/// kShards share shards) and never allocates; once a minute each shard folds
/// its minute into the ring under the ring's lock. Queries lock each shard
/// briefly, then the ring.
class Analytics {
 public:
  static constexpr int kRingMinutes = 7 * 24 * 60;
  static constexpr std::size_t kMaxLabelsPerMinute = 16;
  static constexpr std::size_t kMaxNameBytes = 64;
  static constexpr std::size_t kMaxNames = 16384;
  static constexpr int kSketchMinutes = 10;
  static constexpr std::size_t kShards = 16;
  static constexpr std::size_t kTopLimited = 10;
  static constexpr std::string_view kOtherLabel = "(other)";

  Analytics();
  ~Analytics();
  Analytics(const Analytics&) = delete;
  Analytics& operator=(const Analytics&) = delete;

  /// Counts one decision in the minute of `event.at`. A decision whose ring
  /// slot already holds a newer minute (7 days or more old) is dropped.
  void record(const DecisionEvent& event) noexcept;

  /// The window `range` ending with the minute of `now`.
  [[nodiscard]] Stats stats(Range range, Micros now) const;
  /// The last `minutes` minutes (1 .. kRingMinutes) ending with the minute of
  /// `now`, with a per-minute series. Throws std::invalid_argument otherwise.
  [[nodiscard]] Stats stats_minutes(int minutes, Micros now) const;

 private:
  [[nodiscard]] Stats query(int minutes, Micros now, Micros step) const;
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace ratelimit::telemetry
