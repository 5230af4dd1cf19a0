#pragma once
/// @file algorithms/common.hpp
/// Rounding rules shared by every algorithm (spec/algorithms.md, "Common terms").

#include <algorithm>
#include <cmath>
#include <cstdint>

#include "ratelimit/decision.hpp"
#include "ratelimit/limit_spec.hpp"
#include "ratelimit/time.hpp"

namespace ratelimit::algo {

/// Tolerance for comparing a fractional quantity against an integer, in
/// favour of admitting: `x + kEps >= k`.
inline constexpr double kEps = 1e-9;

/// Durations are never reported above this (about 146,000 years), so they
/// stay representable and distinct from kInfinite.
inline constexpr Micros kMaxReportedDuration = Micros{1} << 62;

// Rounding is done by conversion to an integer (truncation toward zero) on
// ranges where that is exact, rather than std::floor/std::ceil: without
// SSE4.1 those are library calls, and every decision rounds two or three times.

/// `floor(x + EPS)`, never negative: the `remaining` rule.
[[nodiscard]] inline std::int64_t floor_units(double x) noexcept {
  const double f = x + kEps;
  if (!(f >= 1.0)) return 0;  // also maps NaN to 0
  if (f >= static_cast<double>(kMaxReportedDuration)) return kMaxReportedDuration;
  return static_cast<std::int64_t>(f);  // positive: truncation is floor
}

/// A duration rounded up to whole µs. Floating-point noise below 1e-6 µs is
/// ignored so an exact integer stays exact (the spec compares within ±1 µs).
[[nodiscard]] inline Micros ceil_micros(double x) noexcept {
  if (!(x > 1e-6)) return 0;  // also maps NaN to 0
  if (x >= static_cast<double>(kMaxReportedDuration)) return kMaxReportedDuration;
  const double v = x - 1e-6;  // > 0
  const auto t = static_cast<Micros>(v);  // floor(v)
  return static_cast<double>(t) < v ? t + 1 : t;
}

/// How long a state holding `x` µs of deficit (or queue, or tat - anchor)
/// lives before it equals a new key's: ceil_micros(x), but never 0 while
/// x > 0. The tolerance of ceil_micros suits reported durations; used for
/// expiry it would let a store drop a state charged by less than 1e-6 µs (a
/// limit of more than 1e6 units per µs), and every request would then meet a
/// fresh key.
[[nodiscard]] inline Micros expiry_micros(double x) noexcept {
  return x > 0 ? std::max<Micros>(1, ceil_micros(x)) : 0;
}

/// Result of one step: the decision and the state to store if the caller
/// commits it (stores write it only when the request was admitted with cost > 0).
template <class State>
struct Step {
  Decision decision;
  State next;
};

}  // namespace ratelimit::algo
