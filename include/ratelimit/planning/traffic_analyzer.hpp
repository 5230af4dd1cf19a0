#pragma once
/// @file traffic_analyzer.hpp
/// Streaming traffic statistics over access-log records: request rates,
/// per-identifier and per-endpoint distributions, weekly patterns, and the
/// per-identifier window peaks limit recommendations are derived from.

#include <array>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "ratelimit/planning/log_record.hpp"
#include "ratelimit/planning/space_saving.hpp"
#include "ratelimit/policy/path_normalizer.hpp"
#include "ratelimit/time.hpp"

namespace ratelimit::planning {

/// Whose requests are counted together.
enum class IdentifierKind : std::uint8_t { ip, user, api_key };
[[nodiscard]] std::optional<IdentifierKind> parse_identifier_kind(std::string_view name) noexcept;
[[nodiscard]] std::string_view to_string(IdentifierKind kind) noexcept;

struct AnalyzeOptions {
  IdentifierKind by = IdentifierKind::ip;
  /// The window of the recommended limits (e.g. 1 min: "N per minute").
  Micros window = kMicrosPerMinute;
  /// Identifiers tracked exactly; requests of identifiers first seen after
  /// this many are counted as "untracked" (memory stays bounded).
  std::size_t max_identifiers = 2'000'000;
  /// Counters of the Space-Saving sketch that finds the heaviest of the
  /// untracked identifiers (error <= untracked requests / this).
  std::size_t untracked_counters = 10'000;
  /// Distinct endpoints (method + normalized path) kept; the rest are
  /// counted under "(other)".
  std::size_t max_endpoints = 10'000;
  policy::NormalizeOptions paths;
};

/// Token-bucket rates (requests per second) at which every identifier's
/// needed burst is tracked: 2^(k-6) for k = 0..15, i.e. 1/64 s .. 512/s.
inline constexpr int kBurstLadderSize = 16;
[[nodiscard]] double burst_ladder_rate(int k) noexcept;

/// What one identifier did. All counts are exact.
struct IdentifierStats {
  std::uint64_t requests = 0;
  Micros last_time = 0;
  // Epoch-aligned windows of AnalyzeOptions::window (fixed_window's windows).
  std::int64_t window_id = INT64_MIN;
  std::uint32_t window_count = 0;
  std::uint32_t previous_window_count = 0;
  /// Most requests in one aligned window: the smallest fixed_window limit
  /// that never limits this identifier.
  std::uint32_t peak_window = 0;
  /// Most requests in two adjacent windows: >= any sliding window's count,
  /// so a sliding_log limit this high never limits this identifier.
  std::uint32_t peak_two_windows = 0;
  /// Largest sliding_window estimate (prev * (W - elapsed) / W + curr, this
  /// request included), rounded up to a float: its ceiling is the smallest
  /// sliding_window limit that never limits this identifier.
  float peak_sliding_estimate = 0;
  // Epoch-aligned seconds.
  std::int64_t second = INT64_MIN;
  std::uint32_t second_count = 0;
  std::uint32_t peak_second = 0;
  /// Token-bucket level at each ladder rate (double: it accumulates), and
  /// its maximum rounded up to a float: the ceiling of burst_needed is the
  /// smallest burst that never limits this identifier at that rate. Rounding
  /// up keeps that safe; exact values (whole seconds, power-of-two rates)
  /// stay exact, so it is also tight.
  std::array<double, kBurstLadderSize> level{};
  std::array<float, kBurstLadderSize> burst_needed{};
};

struct EndpointStats {
  std::uint64_t requests = 0;
  std::uint64_t client_errors = 0;  ///< 4xx
  std::uint64_t server_errors = 0;  ///< 5xx
  std::int64_t second = INT64_MIN;
  std::uint32_t second_count = 0;
  std::uint32_t peak_second = 0;
};

/// Counts per second over the whole log, stored per UTC day (338 KB per day
/// the log covers), so lines may come in any order.
class SecondCounts {
 public:
  void add(Micros time) noexcept;
  [[nodiscard]] std::uint64_t peak() const noexcept;
  /// Seconds between the first and the last request, both included.
  [[nodiscard]] std::int64_t first_second() const noexcept { return first_; }
  [[nodiscard]] std::int64_t last_second() const noexcept { return last_; }
  [[nodiscard]] std::uint32_t at(std::int64_t second) const noexcept;
  /// The busiest second (its epoch second), -1 when empty.
  [[nodiscard]] std::int64_t peak_second() const noexcept;
  /// Calls f(epoch_second, count) for every second with requests, in order.
  /// Costs 86,400 steps per day that has any request, whatever the span.
  template <typename F>
  void for_each(F&& f) const {
    for (const auto& [day, counts] : days_) {
      for (std::size_t i = 0; i < counts->size(); ++i) {
        if ((*counts)[i] != 0) f(day * 86400 + static_cast<std::int64_t>(i), (*counts)[i]);
      }
    }
  }

 private:
  std::map<std::int64_t, std::unique_ptr<std::array<std::uint32_t, 86400>>> days_;
  std::int64_t first_ = INT64_MAX;
  std::int64_t last_ = INT64_MIN;
  // The last day written: consecutive lines are almost always on one day.
  std::int64_t cached_day_ = INT64_MIN;
  std::array<std::uint32_t, 86400>* cached_counts_ = nullptr;
};

/// Consumes records one at a time. Not thread-safe. Memory: one
/// IdentifierStats (~300 bytes with its map node, + the id) per distinct identifier up to
/// max_identifiers, one EndpointStats per endpoint, 338 KB per day of log,
/// and a histogram of per-window counts.
class TrafficAnalyzer {
 public:
  explicit TrafficAnalyzer(AnalyzeOptions options = {});

  void add(const LogRecord& record);

  [[nodiscard]] const AnalyzeOptions& options() const noexcept { return options_; }
  [[nodiscard]] std::uint64_t requests() const noexcept { return requests_; }
  /// Requests without the chosen identifier (e.g. no user logged).
  [[nodiscard]] std::uint64_t anonymous_requests() const noexcept { return anonymous_; }
  /// Requests of identifiers not tracked (beyond max_identifiers).
  [[nodiscard]] std::uint64_t untracked_requests() const noexcept { return untracked_; }
  /// The heaviest untracked identifiers (approximate counts; see SpaceSaving).
  [[nodiscard]] const SpaceSaving& untracked_heavy_hitters() const noexcept {
    return untracked_top_;
  }
  /// Requests whose time was earlier than an earlier line of the same identifier.
  [[nodiscard]] std::uint64_t out_of_order() const noexcept { return out_of_order_; }
  [[nodiscard]] Micros first_time() const noexcept { return first_time_; }
  [[nodiscard]] Micros last_time() const noexcept { return last_time_; }
  [[nodiscard]] const SecondCounts& seconds() const noexcept { return seconds_; }
  /// [day of week 0=Monday][hour], in the log's local time.
  [[nodiscard]] const std::array<std::array<std::uint64_t, 24>, 7>& weekly() const noexcept {
    return weekly_;
  }

  struct TransparentHash {
    using is_transparent = void;
    // Deliberately not noexcept: libstdc++ then stores each node's hash, so
    // a lookup compares stored hashes instead of rehashing every key on the
    // bucket's chain (which doubled the cost of a lookup).
    std::size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };
  using IdentifierMap =
      std::unordered_map<std::string, IdentifierStats, TransparentHash, std::equal_to<>>;
  using EndpointMap =
      std::unordered_map<std::string, EndpointStats, TransparentHash, std::equal_to<>>;
  [[nodiscard]] const IdentifierMap& identifiers() const noexcept { return identifiers_; }
  [[nodiscard]] const EndpointMap& endpoints() const noexcept { return endpoints_; }

  /// How many (identifier, window) pairs saw exactly `c` requests, for c up
  /// to 65535; larger counts are kept one by one in `large_window_counts`.
  /// Call `finish` first so every open window is included.
  [[nodiscard]] const std::vector<std::uint64_t>& window_count_histogram() const noexcept {
    return window_histogram_;
  }
  [[nodiscard]] const std::vector<std::uint32_t>& large_window_counts() const noexcept {
    return large_windows_;
  }
  /// Closes every open window (into the histogram). Idempotent.
  void finish();

  /// The record's identifier under options().by (empty when absent).
  [[nodiscard]] std::string_view identifier_of(const LogRecord& record) const noexcept;

 private:
  void add_identifier(std::string_view id, Micros time);
  void add_endpoint(const LogRecord& record);
  void close_window(std::uint32_t count);

  AnalyzeOptions options_;
  policy::PathNormalizer normalizer_;
  std::uint64_t requests_ = 0, anonymous_ = 0, untracked_ = 0, out_of_order_ = 0;
  Micros first_time_ = INT64_MAX, last_time_ = INT64_MIN;
  SecondCounts seconds_;
  std::array<std::array<std::uint64_t, 24>, 7> weekly_{};
  std::int64_t weekly_second_ = INT64_MIN;  ///< local second of weekly_day_/hour_
  std::size_t weekly_day_ = 0, weekly_hour_ = 0;
  IdentifierMap identifiers_;
  SpaceSaving untracked_top_;
  EndpointMap endpoints_;
  // Direct-mapped caches in front of the maps (slot = hash & mask; a
  // collision evicts). A hit costs one hash, one slot and one key compare:
  // no modulo, no bucket chain. Pointers into unordered_maps stay valid, as
  // their nodes never move.
  struct IdentifierSlot {
    std::size_t hash = 0;
    IdentifierMap::value_type* entry = nullptr;
  };
  /// "METHOD raw-path" (query dropped) -> its endpoint's stats: logs repeat
  /// a bounded set of raw paths, so the normalizer (which allocates) runs
  /// about once per distinct raw path.
  struct EndpointSlot {
    std::size_t hash = 0;
    std::string key;
    EndpointStats* stats = nullptr;
  };
  static constexpr std::size_t kIdentifierSlots = 1 << 14;
  static constexpr std::size_t kEndpointSlots = 1 << 16;
  std::vector<IdentifierSlot> identifier_cache_;
  std::vector<EndpointSlot> endpoint_cache_;
  std::string scratch_;
  std::vector<std::uint64_t> window_histogram_;
  std::vector<std::uint32_t> large_windows_;
  bool finished_ = false;
};

}  // namespace ratelimit::planning
