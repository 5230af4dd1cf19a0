#pragma once
/// @file algorithms/token_bucket.hpp
/// Token bucket (spec/algorithms.md "token_bucket"). Pure: no clock, no I/O.

#include "ratelimit/algorithms/common.hpp"

namespace ratelimit::algo::token_bucket {

/// The bucket as "µs of refill missing": tokens = B - deficit * r. Holding the
/// deficit in time units lets a store compute the instant the bucket is full
/// again (`last + deficit`) without knowing the spec, so expired keys can be
/// dropped by a sweep that has no spec at hand.
struct State {
  Micros last = 0;      ///< instant of the last update; never moves backwards
  double deficit = 0;   ///< µs until the bucket is full, as of `last`; 0 .. B*T
  friend bool operator==(const State&, const State&) = default;
};

/// A new key: a full bucket.
[[nodiscard]] inline State fresh(Micros now) noexcept { return {now, 0.0}; }

/// Instant from which this state equals a new key's.
[[nodiscard]] inline Micros expires_at(const State& s) noexcept {
  return s.last + expiry_micros(s.deficit);
}

/// One request of `cost` units at `now` (cost 0 is a peek).
[[nodiscard]] inline Step<State> step(const LimitSpec& spec, const State& s, Micros now,
                                      std::int64_t cost) noexcept {
  const double burst = static_cast<double>(spec.burst());
  const double k = static_cast<double>(cost);
  const double interval = spec.interval();
  const double rate = spec.rate();
  // Refill; a clock that went back counts as no time passing.
  const Micros elapsed = now > s.last ? now - s.last : 0;
  State next{std::max(s.last, now), std::max(0.0, s.deficit - static_cast<double>(elapsed))};
  const double tokens = burst - next.deficit * rate;

  Decision d;
  d.limit = spec.burst();
  if (tokens + kEps >= k) {
    d.allowed = true;
    next.deficit = std::min(burst * interval, next.deficit + k * interval);
  } else {
    d.retry_after = cost > spec.burst() ? kInfinite : std::max<Micros>(1, ceil_micros((k - tokens) * interval));
  }
  d.remaining = floor_units(burst - next.deficit * rate);
  d.reset_after = ceil_micros(next.deficit);
  return {d, next};
}

}  // namespace ratelimit::algo::token_bucket
