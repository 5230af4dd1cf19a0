#pragma once
// What one shard collects for its current minute, before it is folded into
// the 7-day ring: fixed-size tables, so recording never allocates.

#include <array>
#include <cstdint>
#include <cstring>
#include <functional>
#include <limits>
#include <string_view>

#include "clip.hpp"
#include "ratelimit/telemetry/analytics.hpp"
#include "ratelimit/telemetry/heavy_hitters.hpp"

namespace ratelimit::telemetry::detail {

inline constexpr std::int64_t kNoMinute = std::numeric_limits<std::int64_t>::min();
inline constexpr std::size_t kDimensions = 3;  // scope, tier, endpoint
/// Latency histogram: bucket i holds latencies up to 25 µs * 2^i; the last
/// one everything longer (25 µs .. 6.5 s, then "more").
inline constexpr std::size_t kLatencyBuckets = 20;

[[nodiscard]] inline Micros latency_upper_edge(std::size_t bucket) noexcept {
  return bucket + 1 >= kLatencyBuckets ? kInfinite : Micros{25} << bucket;
}

[[nodiscard]] inline std::size_t latency_bucket(Micros latency) noexcept {
  std::size_t b = 0;
  while (b + 1 < kLatencyBuckets && latency > latency_upper_edge(b)) ++b;
  return b;
}

/// Floor division: the minute an instant falls in (also before 1970).
[[nodiscard]] inline std::int64_t minute_of(Micros at) noexcept {
  return at >= 0 ? at / kMicrosPerMinute : -((-at + kMicrosPerMinute - 1) / kMicrosPerMinute);
}

/// Up to kMaxLabelsPerMinute names with their counts; the rest in `other`.
struct LabelTable {
  struct Slot {
    std::uint64_t hash = 0;
    Counts counts;
    std::uint8_t length = 0;
    std::array<char, Analytics::kMaxNameBytes> name{};
    [[nodiscard]] std::string_view view() const noexcept { return {name.data(), length}; }
  };
  std::array<Slot, Analytics::kMaxLabelsPerMinute> slots{};
  std::size_t size = 0;
  Counts other;

  void clear() noexcept {
    size = 0;
    other = {};
  }

  void add(std::string_view raw, bool allowed) noexcept {
    const std::string_view name = clip_utf8(raw, Analytics::kMaxNameBytes);
    const std::uint64_t hash = std::hash<std::string_view>{}(name);
    Counts* counts = &other;
    for (std::size_t i = 0; i < size; ++i) {
      if (slots[i].hash == hash && slots[i].view() == name) {
        counts = &slots[i].counts;
        break;
      }
    }
    if (counts == &other && size < slots.size()) {
      Slot& s = slots[size++];
      s.hash = hash;
      s.counts = {};
      s.length = static_cast<std::uint8_t>(name.size());
      // An empty view may have a null data(), which memcpy must not get.
      if (!name.empty()) std::memcpy(s.name.data(), name.data(), name.size());
      counts = &s.counts;
    }
    ++(allowed ? counts->allowed : counts->blocked);
  }
};

/// One minute of one shard.
struct ShardMinute {
  std::int64_t minute = kNoMinute;
  Counts totals;
  std::uint64_t admitted_cost = 0;
  std::array<LabelTable, kDimensions> labels;
  std::array<std::uint32_t, kLatencyBuckets> latency{};
  HeavyHitters limited;  // blocked identifiers

  void reset(std::int64_t m) noexcept {
    minute = m;
    totals = {};
    admitted_cost = 0;
    for (auto& table : labels) table.clear();
    latency.fill(0);
    limited.clear();
  }

  void add(const DecisionEvent& e) noexcept {
    if (e.allowed) {
      ++totals.allowed;
      if (e.cost > 0) admitted_cost += static_cast<std::uint64_t>(e.cost);
    } else {
      ++totals.blocked;
      if (!e.identifier.empty()) limited.add(e.identifier);
    }
    labels[0].add(e.scope, e.allowed);
    labels[1].add(e.tier, e.allowed);
    labels[2].add(e.endpoint, e.allowed);
    if (e.latency >= 0) ++latency[latency_bucket(e.latency)];
  }
};

}  // namespace ratelimit::telemetry::detail
