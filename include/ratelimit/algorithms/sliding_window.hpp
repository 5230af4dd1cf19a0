#pragma once
/// @file algorithms/sliding_window.hpp
/// Two-counter sliding window approximation (spec/algorithms.md "sliding_window"). Pure.

#include "ratelimit/algorithms/common.hpp"

namespace ratelimit::algo::sliding_window {

/// Counts of the current window `id` and of window `id-1`. The window is held
/// as `horizon = (id+2)*W`, the latest instant the counts can matter, so a
/// store can drop expired keys without knowing W.
struct State {
  Micros horizon = 0;      ///< (id+2)*W
  std::uint32_t curr = 0;  ///< units admitted in window id
  std::uint32_t prev = 0;  ///< units admitted in window id-1
  friend bool operator==(const State&, const State&) = default;
};

/// A new key: both windows empty.
[[nodiscard]] inline State fresh(const LimitSpec& spec, Micros now) noexcept {
  return {(now / spec.window() + 2) * spec.window(), 0, 0};
}

/// Instant from which this state equals a new key's (conservative when only
/// `prev` is non-zero: the true instant is one window earlier).
[[nodiscard]] inline Micros expires_at(const State& s) noexcept {
  return (s.curr > 0 || s.prev > 0) ? s.horizon : 0;
}

/// One request of `cost` units at `now` (cost 0 is a peek).
[[nodiscard]] inline Step<State> step(const LimitSpec& spec, const State& s, Micros now,
                                      std::int64_t cost) noexcept {
  const Micros window = spec.window();
  const std::int64_t limit = spec.limit();
  const double w = static_cast<double>(window);
  const double lim = static_cast<double>(limit);
  const double k = static_cast<double>(cost);

  // Roll the stored counts forward to the current window. A clock that went
  // back stays in the stored (newer) window: it never mints capacity.
  const Micros stored_id = s.horizon / window - 2;
  const Micros now_id = now / window;
  State next = s;
  Micros id = stored_id;
  if (now_id > stored_id) {
    id = now_id;
    next.prev = now_id == stored_id + 1 ? s.curr : 0;
    next.curr = 0;
    next.horizon = (id + 2) * window;
  }
  const Micros window_start = id * window;
  const double elapsed = static_cast<double>(std::max<Micros>(0, now - window_start));
  const double prev = static_cast<double>(next.prev);
  const double curr = static_cast<double>(next.curr);
  const double estimate = prev * (w - elapsed) / w + curr;

  Decision d;
  d.limit = limit;
  double estimate_after = estimate;
  if (estimate + k <= lim + kEps) {
    d.allowed = true;
    next.curr = static_cast<std::uint32_t>(next.curr + static_cast<std::uint64_t>(cost));
    estimate_after = estimate + k;
  } else if (cost > limit) {
    d.retry_after = kInfinite;
  } else {
    const double room = lim - k - curr;
    // µs from now to the next window's start; exact integers before scaling.
    const double to_next = static_cast<double>(window_start + window - now);
    double wait = 0;
    if (room >= 0) {
      wait = to_next - room * w / prev;
    } else {
      wait = std::max(to_next, to_next + w - (lim - k) * w / curr);
    }
    d.retry_after = std::max<Micros>(1, ceil_micros(wait));
  }
  d.remaining = floor_units(lim - estimate_after);
  if (next.curr > 0) {
    d.reset_after = window_start + 2 * window - now;
  } else if (next.prev > 0) {
    d.reset_after = window_start + window - now;
  }
  return {d, next};
}

}  // namespace ratelimit::algo::sliding_window
