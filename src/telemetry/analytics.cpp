#include "ratelimit/telemetry/analytics.hpp"

#include <algorithm>
#include <atomic>
#include <mutex>
#include <stdexcept>
#include <string>
#include <vector>

#include "shard_minute.hpp"

namespace ratelimit::telemetry {

using detail::kDimensions;
using detail::kLatencyBuckets;
using detail::kNoMinute;
using detail::minute_of;
using detail::ShardMinute;

std::string_view to_string(Range range) noexcept {
  switch (range) {
    case Range::hour:
      return "1h";
    case Range::day:
      return "24h";
    case Range::week:
      return "7d";
  }
  return "1h";
}

std::optional<Range> parse_range(std::string_view text) noexcept {
  if (text == "1h") return Range::hour;
  if (text == "24h") return Range::day;
  if (text == "7d") return Range::week;
  return std::nullopt;
}

int minutes_of(Range range) noexcept {
  switch (range) {
    case Range::hour:
      return 60;
    case Range::day:
      return 24 * 60;
    case Range::week:
      return Analytics::kRingMinutes;
  }
  return 60;
}

double Stats::block_rate() const noexcept {
  return total() == 0 ? 0.0 : static_cast<double>(blocked) / static_cast<double>(total());
}

namespace {

// One label of a ring minute: an interned name (0 is kOtherLabel).
struct LabelEntry {
  std::uint16_t name = 0;
  std::uint32_t allowed = 0;
  std::uint32_t blocked = 0;
};

// One minute of the ring. Label counts are 32-bit: 4 billion decisions
// under one name in one minute is beyond any single service.
struct MinuteSlot {
  std::int64_t minute = kNoMinute;
  Counts totals;
  std::uint64_t admitted_cost = 0;
  std::array<std::uint8_t, kDimensions> sizes{};
  // kMaxLabelsPerMinute names, then one more slot for kOtherLabel.
  std::array<std::array<LabelEntry, Analytics::kMaxLabelsPerMinute + 1>, kDimensions> labels{};
  std::array<std::uint32_t, kLatencyBuckets> latency{};

  void reset(std::int64_t m) noexcept {
    *this = MinuteSlot{};
    minute = m;
  }

  void add_label(std::size_t dim, std::uint16_t name, const Counts& c) noexcept {
    auto& table = labels[dim];
    std::uint8_t& size = sizes[dim];
    LabelEntry* entry = nullptr;
    for (std::uint8_t i = 0; i < size; ++i) {
      if (table[i].name == name) entry = &table[i];
    }
    if (entry == nullptr) {
      // Full: fold into kOtherLabel (name 0), which the last slot can hold.
      const bool room = size < Analytics::kMaxLabelsPerMinute ||
                        (size == Analytics::kMaxLabelsPerMinute && name == 0);
      if (!room) return add_label(dim, 0, c);
      entry = &table[size++];
      entry->name = name;
    }
    entry->allowed += static_cast<std::uint32_t>(c.allowed);
    entry->blocked += static_cast<std::uint32_t>(c.blocked);
  }
};

// Heavy hitters of kSketchMinutes consecutive minutes.
struct SketchSlot {
  std::int64_t bucket = kNoMinute;
  HeavyHitters limited;
};

constexpr std::int64_t kSketchSlots = Analytics::kRingMinutes / Analytics::kSketchMinutes + 2;

std::int64_t floor_div(std::int64_t a, std::int64_t b) noexcept {
  return a >= 0 ? a / b : -((-a + b - 1) / b);
}

std::size_t ring_index(std::int64_t value, std::int64_t size) noexcept {
  return static_cast<std::size_t>(((value % size) + size) % size);
}

// The shard of the calling thread: threads take shards round-robin at their
// first decision, so up to kShards threads never share one.
std::size_t this_thread_shard() noexcept {
  static std::atomic<std::size_t> next{0};
  thread_local const std::size_t mine =
      next.fetch_add(1, std::memory_order_relaxed) % Analytics::kShards;
  return mine;
}

struct alignas(64) Shard {
  std::mutex mu;
  ShardMinute current;  // guarded by mu
  Counts lifetime;      // guarded by mu
};

void add_counts(Counts& into, const Counts& c) {
  into.allowed += c.allowed;
  into.blocked += c.blocked;
}

}  // namespace

struct Analytics::Impl {
  std::array<Shard, kShards> shards;

  std::mutex ring_mu;
  std::vector<MinuteSlot> ring = std::vector<MinuteSlot>(kRingMinutes);      // ring_mu
  std::vector<SketchSlot> sketches = std::vector<SketchSlot>(kSketchSlots);  // ring_mu
  std::vector<std::string> names = {std::string(kOtherLabel)};               // ring_mu
  std::map<std::string, std::uint16_t, std::less<>> name_ids = {{std::string(kOtherLabel), 0}};

  // The interned name, or 0 (kOtherLabel) once kMaxNames are taken.
  std::uint16_t intern(std::string_view name) {
    if (const auto it = name_ids.find(name); it != name_ids.end()) return it->second;
    if (names.size() >= kMaxNames) return 0;
    const auto id = static_cast<std::uint16_t>(names.size());
    names.emplace_back(name);
    name_ids.emplace(std::string(name), id);
    return id;
  }

  // The ring slot of `minute`, emptied if it held an older minute; nullptr
  // when it holds a newer one (`minute` is 7 days or more in its past).
  MinuteSlot* slot_for(std::int64_t minute) noexcept {
    MinuteSlot& slot = ring[ring_index(minute, kRingMinutes)];
    if (slot.minute > minute) return nullptr;  // the slot already holds a newer minute
    if (slot.minute != minute) slot.reset(minute);
    return &slot;
  }

  // The summary of `minute`'s ten minutes; nullptr when its slot already
  // holds newer ones.
  HeavyHitters* sketch_for(std::int64_t minute) noexcept {
    const std::int64_t bucket = floor_div(minute, kSketchMinutes);
    SketchSlot& slot = sketches[ring_index(bucket, kSketchSlots)];
    if (slot.bucket > bucket) return nullptr;
    if (slot.bucket != bucket) {
      slot.bucket = bucket;
      slot.limited.clear();
    }
    return &slot.limited;
  }

  // Adds a shard's minute to the ring. Takes ring_mu.
  void fold(const ShardMinute& m) noexcept {
    const std::lock_guard lock(ring_mu);
    try {
      MinuteSlot* slot = slot_for(m.minute);
      if (slot == nullptr) return;
      add_counts(slot->totals, m.totals);
      slot->admitted_cost += m.admitted_cost;
      for (std::size_t d = 0; d < kDimensions; ++d) {
        const auto& table = m.labels[d];
        for (std::size_t i = 0; i < table.size; ++i)
          slot->add_label(d, intern(table.slots[i].view()), table.slots[i].counts);
        if (table.other.total() > 0) slot->add_label(d, 0, table.other);
      }
      for (std::size_t b = 0; b < kLatencyBuckets; ++b) slot->latency[b] += m.latency[b];
      if (m.limited.total() > 0) {
        if (HeavyHitters* sketch = sketch_for(m.minute)) sketch->merge(m.limited);
      }
    } catch (const std::exception&) {
      // Out of memory while interning or merging: this minute's shard is
      // lost to the analytics, the service carries on.
    }
  }

  // A decision of the minute before its shard's (its thread read the clock
  // before another decision of the same shard moved on): straight to the ring.
  void record_late(const DecisionEvent& e, std::int64_t minute) noexcept {
    ShardMinute one;  // ~12 KB on the stack, on a rare path
    one.reset(minute);
    one.add(e);
    fold(one);
  }
};

Analytics::Analytics() : impl_(std::make_unique<Impl>()) {}
Analytics::~Analytics() = default;

void Analytics::record(const DecisionEvent& event) noexcept {
  const std::int64_t minute = minute_of(event.at);
  Shard& shard = impl_->shards[this_thread_shard()];
  {
    const std::lock_guard lock(shard.mu);
    ShardMinute& current = shard.current;
    ++(event.allowed ? shard.lifetime.allowed : shard.lifetime.blocked);
    if (current.minute == minute) {
      current.add(event);
      return;
    }
    // A later minute, or a clock stepped back by more than a minute: this
    // minute is done. Once a minute per shard: the only time recording
    // takes ring_mu.
    if (current.minute == kNoMinute || minute > current.minute || minute < current.minute - 1) {
      if (current.minute != kNoMinute) impl_->fold(current);
      current.reset(minute);
      current.add(event);
      return;
    }
  }
  impl_->record_late(event, minute);
}

Stats Analytics::stats(Range range, Micros now) const {
  const Micros step = range == Range::hour  ? kMicrosPerMinute
                      : range == Range::day ? 10 * kMicrosPerMinute
                                            : kMicrosPerHour;
  return query(minutes_of(range), now, step);
}

Stats Analytics::stats_minutes(int minutes, Micros now) const {
  if (minutes < 1 || minutes > kRingMinutes) {
    throw std::invalid_argument("minutes must be 1 to " + std::to_string(kRingMinutes) + ", not " +
                                std::to_string(minutes));
  }
  return query(minutes, now, kMicrosPerMinute);
}

Stats Analytics::query(int minutes, Micros now, Micros step) const {
  const std::int64_t last = minute_of(now);
  const std::int64_t first = last - minutes + 1;
  const std::int64_t step_minutes = step / kMicrosPerMinute;
  Stats out;
  out.minutes = minutes;
  out.from = first * kMicrosPerMinute;
  out.to = (last + 1) * kMicrosPerMinute;
  out.series_step = step;
  out.series.resize(static_cast<std::size_t>((minutes + step_minutes - 1) / step_minutes));
  for (std::size_t i = 0; i < out.series.size(); ++i)
    out.series[i].start = out.from + static_cast<Micros>(i) * step;

  std::array<std::uint64_t, kLatencyBuckets> latency{};
  HeavyHitters limited;
  auto add_minute = [&](std::int64_t minute, const Counts& totals, std::uint64_t cost) {
    if (minute < first || minute > last) return;
    out.allowed += totals.allowed;
    out.blocked += totals.blocked;
    out.admitted_cost += cost;
    SeriesPoint& point = out.series[static_cast<std::size_t>((minute - first) / step_minutes)];
    point.allowed += totals.allowed;
    point.blocked += totals.blocked;
  };
  const std::array<std::map<std::string, Counts, std::less<>>*, kDimensions> dims = {
      &out.by_scope, &out.by_tier, &out.by_endpoint};
  auto add_label = [&](std::size_t dim, std::string_view name, const Counts& c) {
    auto it = dims[dim]->find(name);
    if (it == dims[dim]->end()) it = dims[dim]->emplace(std::string(name), Counts{}).first;
    add_counts(it->second, c);
  };

  // The shards' minutes: stale ones go to the ring; the current one is read
  // from a copy, so recording goes on while the ring is read.
  std::vector<std::unique_ptr<ShardMinute>> live;
  for (Shard& shard : impl_->shards) {
    const std::lock_guard lock(shard.mu);
    out.lifetime_allowed += shard.lifetime.allowed;
    out.lifetime_blocked += shard.lifetime.blocked;
    if (shard.current.minute == kNoMinute) continue;
    if (shard.current.minute < last) {
      impl_->fold(shard.current);
      shard.current.reset(kNoMinute);
    } else if (shard.current.minute == last) {
      live.push_back(std::make_unique<ShardMinute>(shard.current));
    }
  }
  {
    const std::lock_guard lock(impl_->ring_mu);
    for (std::int64_t m = first; m <= last; ++m) {
      const MinuteSlot& slot = impl_->ring[ring_index(m, kRingMinutes)];
      if (slot.minute != m) continue;
      add_minute(m, slot.totals, slot.admitted_cost);
      for (std::size_t d = 0; d < kDimensions; ++d) {
        for (std::size_t i = 0; i < slot.sizes[d]; ++i) {
          const LabelEntry& e = slot.labels[d][i];
          add_label(d, impl_->names[e.name], Counts{e.allowed, e.blocked});
        }
      }
      for (std::size_t b = 0; b < kLatencyBuckets; ++b) latency[b] += slot.latency[b];
    }
    for (std::int64_t b = floor_div(first, kSketchMinutes); b <= floor_div(last, kSketchMinutes);
         ++b) {
      const SketchSlot& slot = impl_->sketches[ring_index(b, kSketchSlots)];
      if (slot.bucket == b) limited.merge(slot.limited);
    }
  }
  for (const auto& m : live) {
    add_minute(m->minute, m->totals, m->admitted_cost);
    for (std::size_t d = 0; d < kDimensions; ++d) {
      const auto& table = m->labels[d];
      for (std::size_t i = 0; i < table.size; ++i)
        add_label(d, table.slots[i].view(), table.slots[i].counts);
      if (table.other.total() > 0) add_label(d, kOtherLabel, table.other);
    }
    for (std::size_t b = 0; b < kLatencyBuckets; ++b) latency[b] += m->latency[b];
    limited.merge(m->limited);
  }

  for (const auto n : latency) out.latency_samples += n;
  if (out.latency_samples > 0) {
    // The smallest bucket edge with at least 99% of the samples at or below it.
    const std::uint64_t wanted = (out.latency_samples * 99 + 99) / 100;
    std::uint64_t seen = 0;
    for (std::size_t b = 0; b < kLatencyBuckets; ++b) {
      seen += latency[b];
      if (seen >= wanted) {
        out.p99_latency = detail::latency_upper_edge(b);
        break;
      }
    }
  }
  for (auto& item : limited.top(kTopLimited))
    out.top_limited.push_back({std::move(item.id), item.count, limited.error_bound()});
  out.top_limited_error_bound = limited.error_bound();
  return out;
}

}  // namespace ratelimit::telemetry
