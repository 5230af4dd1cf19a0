#pragma once
/// @file resilience/load/interval_ring.hpp
/// A sliding window cut into fixed intervals: per-interval counters in a
/// ring, so a window costs `intervals` slots however many events it holds.

#include <cstdint>
#include <limits>
#include <vector>

#include "ratelimit/time.hpp"

namespace ratelimit::load_detail {

/// Interval number of instant `t` (floor division, so negative instants on a
/// ManualClock still fall into the right interval).
[[nodiscard]] inline std::int64_t interval_index(Micros t, Micros interval) noexcept {
  std::int64_t q = t / interval;
  if (t % interval < 0) --q;
  return q;
}

/// `Counts` is a small aggregate of counters that value-initializes to zero.
/// The window at instant t is the interval holding t and the `intervals - 1`
/// before it. Not thread-safe: its owner locks.
template <typename Counts>
class IntervalRing {
 public:
  IntervalRing(Micros interval, int intervals)
      : interval_(interval), slots_(static_cast<std::size_t>(intervals)) {}

  /// The counters of the interval holding `now`, reset first if the slot
  /// last held an older (or, after a clock step back, newer) interval.
  Counts& at(Micros now) {
    const std::int64_t index = interval_index(now, interval_);
    Slot& slot = slots_[slot_of(index)];
    if (slot.index != index) slot = Slot{index, Counts{}};
    return slot.counts;
  }

  /// Calls `f(interval_index, counts)` for each interval of the window at
  /// `now` that has counters, oldest slot order not guaranteed.
  template <typename F>
  void for_each(Micros now, F&& f) const {
    const std::int64_t current = interval_index(now, interval_);
    const std::int64_t oldest = current - static_cast<std::int64_t>(slots_.size()) + 1;
    for (const Slot& slot : slots_) {
      if (slot.index >= oldest && slot.index <= current) f(slot.index, slot.counts);
    }
  }

  void clear() {
    for (Slot& slot : slots_) slot = Slot{};
  }

  [[nodiscard]] Micros interval() const noexcept { return interval_; }
  [[nodiscard]] std::int64_t size() const noexcept {
    return static_cast<std::int64_t>(slots_.size());
  }

 private:
  struct Slot {
    std::int64_t index = std::numeric_limits<std::int64_t>::min();  // none yet
    Counts counts{};
  };

  [[nodiscard]] std::size_t slot_of(std::int64_t index) const noexcept {
    const auto n = static_cast<std::int64_t>(slots_.size());
    std::int64_t r = index % n;
    if (r < 0) r += n;
    return static_cast<std::size_t>(r);
  }

  Micros interval_;
  std::vector<Slot> slots_;
};

}  // namespace ratelimit::load_detail
