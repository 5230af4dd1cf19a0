#pragma once
/// @file algorithms/fixed_window.hpp
/// Epoch-aligned fixed window counter (spec/algorithms.md "fixed_window"). Pure.

#include "ratelimit/algorithms/common.hpp"

namespace ratelimit::algo::fixed_window {

/// The window is held by its end instant ((id+1)*W) rather than its id, so a
/// store knows when the count expires without knowing W.
struct State {
  Micros end = 0;          ///< end of the counted window
  std::int64_t count = 0;  ///< units admitted in it
  friend bool operator==(const State&, const State&) = default;
};

/// End of the epoch-aligned window containing `now` (now >= 0).
[[nodiscard]] inline Micros window_end(Micros now, Micros window) noexcept {
  return (now / window + 1) * window;
}

/// A new key: an empty current window.
[[nodiscard]] inline State fresh(const LimitSpec& spec, Micros now) noexcept {
  return {window_end(now, spec.window()), 0};
}

/// Instant from which this state equals a new key's.
[[nodiscard]] inline Micros expires_at(const State& s) noexcept { return s.count > 0 ? s.end : 0; }

/// One request of `cost` units at `now` (cost 0 is a peek).
[[nodiscard]] inline Step<State> step(const LimitSpec& spec, const State& s, Micros now,
                                      std::int64_t cost) noexcept {
  const std::int64_t limit = spec.limit();
  const Micros current_end = window_end(now, spec.window());
  // A newer window starts empty. A clock that stepped back into an older
  // window keeps counting in the newer one: going back never mints capacity.
  State next = s.end < current_end ? State{current_end, 0} : s;

  Decision d;
  d.limit = limit;
  if (next.count + cost <= limit) {
    d.allowed = true;
    next.count += cost;
  } else {
    d.retry_after = cost > limit ? kInfinite : std::max<Micros>(1, next.end - now);
  }
  d.remaining = std::max<std::int64_t>(0, limit - next.count);
  d.reset_after = next.count > 0 ? next.end - now : 0;
  return {d, next};
}

}  // namespace ratelimit::algo::fixed_window
