#pragma once
/// @file resilience/load_based_limits.hpp
/// Limits that shrink as the service gets loaded, and grow or shrink per
/// identifier with its behaviour score: a capacity factor, with the reasons.

#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "ratelimit/limit_spec.hpp"
#include "ratelimit/resilience/behavior_scores.hpp"
#include "ratelimit/resilience/load_signals.hpp"
#include "ratelimit/time.hpp"

namespace ratelimit {

/// How one signal maps to a capacity factor. The curve is linear between
/// `start` and `full`:
///
///     factor(v) = 1                                          v <= start
///               = 1 - (1 - floor) * (v - start) / (full - start)
///               = floor                                      v >= full
///
/// e.g. start 0.70, full 0.95, floor 0.3: cpu 0.85 gives 1 - 0.7 * 0.6 = 0.58.
struct LoadCurve {
  double start = 0.70;  ///< Signal value where reduction begins (exclusive).
  double full = 0.95;   ///< Signal value where the factor reaches `floor`; > start.
  double floor = 0.3;   ///< Smallest factor, (0, 1].
  bool enabled = true;  ///< false: the signal never reduces capacity.
  friend bool operator==(const LoadCurve&, const LoadCurve&) = default;
};

/// LoadBasedLimits settings. Fractions (cpu, memory, error_rate, scores) are
/// in [0, 1]; queue depth thresholds are item counts.
struct LoadBasedLimitsConfig {
  LoadCurve cpu{0.70, 0.95, 0.3, true};
  LoadCurve memory{0.80, 0.95, 0.3, true};
  LoadCurve error_rate{0.05, 0.50, 0.3, true};
  LoadCurve queue_depth{100, 1000, 0.3, true};

  /// Smoothing (see LoadBasedLimits::adjust). A drop of the target factor
  /// smaller than this is ignored, [0, 1).
  double deadband = 0.02;
  /// How fast the factor climbs back toward a higher target, per second of
  /// clock time (> 0): 0.05 takes 14 s from 0.3 to 1.
  double recovery_per_second = 0.05;

  /// Per identifier: a behaviour score >= good_score multiplies its capacity
  /// by good_factor (>= 1); a score <= poor_score by poor_factor, (0, 1].
  /// poor_score < good_score.
  double good_score = 0.9;
  double good_factor = 1.2;
  double poor_score = 0.3;
  double poor_factor = 0.5;
  /// Cap on an identifier's combined factor (load x behaviour), >= 1.
  double max_factor = 1.2;
};

/// A capacity factor and why. Every adjustment has at least one reason,
/// e.g. "cpu 85% above 70%: capacity x0.58".
struct Adjustment {
  /// Multiply limits by this; > 0. Below 1 under load or for poor
  /// behaviour, above 1 (up to max_factor) for good behaviour.
  double factor = 1.0;
  std::vector<std::string> reasons;
  friend bool operator==(const Adjustment&, const Adjustment&) = default;
};

/// Turns LoadSignals into a capacity factor: the minimum over the enabled
/// signals of their LoadCurve, so the most loaded resource decides.
///
/// `evaluate` is that pure mapping. `adjust` smooths it over time so the
/// factor does not flap when a signal hovers near a threshold:
///   - a drop of more than `deadband` applies at once (overload needs relief
///     now); a smaller drop is ignored and the factor held;
///   - a rise is limited to `recovery_per_second` per second since the
///     previous `adjust`, so the factor drops once and creeps back.
///
/// Thread-safe (one mutex around the smoothed factor). Throws
/// std::invalid_argument, naming the field and value, for a bad config or
/// signal (a fraction outside [0, 1], a negative or non-finite queue depth).
class LoadBasedLimits {
 public:
  /// `clock` (default: the system clock) times the recovery.
  explicit LoadBasedLimits(LoadBasedLimitsConfig config = {},
                           std::shared_ptr<const Clock> clock = nullptr);

  /// The factor the signals call for, without smoothing. Pure.
  [[nodiscard]] Adjustment evaluate(const LoadSignals& signals) const;
  /// The smoothed factor, updated with `signals` at the clock's now.
  /// Reasons also say when smoothing held or limited the factor.
  [[nodiscard]] Adjustment adjust(const LoadSignals& signals);
  /// The smoothed factor as of the last `adjust` (1 before any).
  [[nodiscard]] double factor() const;

  /// One identifier's factor: `load.factor` times the bonus or penalty its
  /// behaviour `score` (0 .. 1) earns, capped at max_factor; the reasons are
  /// `load`'s plus one about the score.
  [[nodiscard]] Adjustment for_identifier(const Adjustment& load, double score) const;
  /// for_identifier(load, scores.score(id)): the score as `scores` knows it
  /// now (its own window, else the shared store, else neutral).
  [[nodiscard]] Adjustment for_identifier(const Adjustment& load, const BehaviorScores& scores,
                                          std::string_view id) const;

  [[nodiscard]] const LoadBasedLimitsConfig& config() const noexcept { return config_; }

  /// The config's first problem, or an empty string when valid.
  [[nodiscard]] static std::string validate(const LoadBasedLimitsConfig& config);

 private:
  LoadBasedLimitsConfig config_;
  std::shared_ptr<const Clock> clock_;
  mutable std::mutex mu_;
  double current_ = 1.0;   // Guarded by mu_.
  Micros last_ = 0;        // Guarded by mu_.
  bool adjusted_ = false;  // Guarded by mu_.
};

/// `spec` with its limit and burst multiplied by `factor` (> 0, finite),
/// rounded to the nearest integer, at least 1 and at most the algorithm's
/// maximum; window, algorithm and mode unchanged. Throws
/// std::invalid_argument for a bad factor.
[[nodiscard]] LimitSpec scaled(const LimitSpec& spec, double factor);

}  // namespace ratelimit
