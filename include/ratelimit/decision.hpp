#pragma once
/// @file decision.hpp
/// The one result type of every limiter, store and frontend.

#include <cstdint>
#include <span>

#include "ratelimit/time.hpp"

namespace ratelimit {

/// What a limiter decided for one request, with the fields of
/// `spec/algorithms.md`. Headers, JSON bodies and metrics are pure functions of it.
struct [[nodiscard]] Decision {
  /// Whether the request was admitted (and charged).
  bool allowed = false;
  /// `burst` for bucket algorithms, `limit` for window algorithms.
  std::int64_t limit = 0;
  /// Whole units that could still be admitted now, after this decision. Never negative.
  std::int64_t remaining = 0;
  /// µs until the limiter is back to its full (empty) state if nothing more arrives.
  Micros reset_after = 0;
  /// 0 when allowed; else the least µs after which the same request would be
  /// admitted if nothing else arrives; `kInfinite` when it never can (cost > limit).
  Micros retry_after = 0;
  /// Leaky bucket in shaping mode: µs the caller must wait before proceeding.
  Micros delay = 0;
  /// In a multi-check decision: index of the check that supplied the fields above.
  std::uint32_t check_index = 0;
  /// True when the store could not be reached and the decision came from the
  /// configured failure mode (fail open, fail closed, or a local fallback).
  bool degraded = false;

  /// True when the request can never be admitted under this limit.
  [[nodiscard]] bool never_admissible() const noexcept { return retry_after == kInfinite; }
  friend bool operator==(const Decision&, const Decision&) = default;
};

/// Combines the decisions of several limits checked together, as
/// `spec/algorithms.md` ("Several limits at once") says: when every limit
/// admits, the one with the smallest `remaining` (ties: longest
/// `reset_after`) supplies the fields; otherwise, among the denying limits,
/// the one with the largest `retry_after`. `delay` is the largest delay of all
/// limits (a caller must wait for every shaping queue). `each` must not be empty. `degraded` is true when any is.
[[nodiscard]] Decision combine(std::span<const Decision> each) noexcept;

}  // namespace ratelimit
