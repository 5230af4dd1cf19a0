#pragma once
/// @file algorithms/leaky_bucket.hpp
/// Leaky bucket, police or shape (spec/algorithms.md "leaky_bucket"). Pure.

#include "ratelimit/algorithms/common.hpp"

namespace ratelimit::algo::leaky_bucket {

/// The queue level as "µs until empty": level = drain * r, so a store can tell
/// when the bucket is empty again (`last + drain`) without the spec.
struct State {
  Micros last = 0;   ///< instant of the last update; never moves backwards
  double drain = 0;  ///< µs until the bucket is empty, as of `last`; >= 0
  friend bool operator==(const State&, const State&) = default;
};

/// A new key: an empty bucket.
[[nodiscard]] inline State fresh(Micros now) noexcept { return {now, 0.0}; }

/// Instant from which this state equals a new key's.
[[nodiscard]] inline Micros expires_at(const State& s) noexcept {
  return s.last + expiry_micros(s.drain);
}

/// One request of `cost` units at `now` (cost 0 is a peek).
[[nodiscard]] inline Step<State> step(const LimitSpec& spec, const State& s, Micros now,
                                      std::int64_t cost) noexcept {
  const double capacity = static_cast<double>(spec.burst());
  const double k = static_cast<double>(cost);
  const double interval = spec.interval();
  const double rate = spec.rate();
  const Micros elapsed = now > s.last ? now - s.last : 0;
  State next{std::max(s.last, now), std::max(0.0, s.drain - static_cast<double>(elapsed))};
  const double level = next.drain * rate;

  Decision d;
  d.limit = spec.burst();
  if (level + k <= capacity + kEps) {
    d.allowed = true;
    // A peek queues nothing, so nothing waits.
    if (spec.mode() == LeakyMode::shape && cost > 0) d.delay = ceil_micros(next.drain);
    next.drain += k * interval;
  } else {
    d.retry_after = cost > spec.burst() ? kInfinite
                                        : std::max<Micros>(1, ceil_micros((level + k - capacity) * interval));
  }
  d.remaining = floor_units(capacity - next.drain * rate);
  d.reset_after = ceil_micros(next.drain);
  return {d, next};
}

}  // namespace ratelimit::algo::leaky_bucket
