#pragma once
/// @file algorithms/gcra.hpp
/// Generic cell rate algorithm (spec/algorithms.md "gcra"). Pure: no clock, no I/O.

#include "ratelimit/algorithms/common.hpp"

namespace ratelimit::algo::gcra {

/// The theoretical arrival time as `anchor + offset`: an integer instant plus a
/// small fraction-bearing offset, so `tat - now` keeps sub-µs precision even
/// though instants are ~2^51 (a lone double would round them to 0.25 µs).
struct State {
  Micros anchor = 0;   ///< latest instant the state was written at; never moves backwards
  double offset = 0;   ///< tat - anchor, µs, >= 0
  friend bool operator==(const State&, const State&) = default;
};

/// A new key: tat = now.
[[nodiscard]] inline State fresh(Micros now) noexcept { return {now, 0.0}; }

/// Instant from which this state equals a new key's (tat).
[[nodiscard]] inline Micros expires_at(const State& s) noexcept {
  return s.anchor + expiry_micros(s.offset);
}

/// One request of `cost` units at `now` (cost 0 is a peek).
[[nodiscard]] inline Step<State> step(const LimitSpec& spec, const State& s, Micros now,
                                      std::int64_t cost) noexcept {
  const double interval = spec.interval();
  const double tolerance = static_cast<double>(spec.burst()) * interval;  // B*T
  // A clock that went back counts as no time passing (spec "Common terms"):
  // decide as of the later of `now` and the state's anchor, as token_bucket
  // does with its `last`, so the two stay identical under clock steps back.
  const Micros at = std::max(now, s.anchor);
  // tat0 - at, where tat0 = max(tat, at); the integer part is exact.
  const double tat0 = std::max(0.0, static_cast<double>(s.anchor - at) + s.offset);
  const double new_tat = tat0 + static_cast<double>(cost) * interval;

  Decision d;
  d.limit = spec.burst();
  State next = s;
  double after = tat0;
  if (new_tat <= tolerance + kEps * interval) {
    d.allowed = true;
    after = new_tat;
    // The anchor stays monotone (stores rely on it to validate lock-free reads).
    next = State{at, new_tat};
  } else {
    d.retry_after = cost > spec.burst() ? kInfinite : std::max<Micros>(1, ceil_micros(new_tat - tolerance));
  }
  d.remaining = floor_units((tolerance - after) / interval);
  d.reset_after = ceil_micros(after);
  return {d, next};
}

}  // namespace ratelimit::algo::gcra
