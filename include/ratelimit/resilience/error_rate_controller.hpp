#pragma once
/// @file resilience/error_rate_controller.hpp
/// ErrorRateController: a client-side rate that falls while the error rate of
/// recent calls is above a threshold and recovers step by step while it is
/// below.

#include <cstdint>
#include <functional>
#include <limits>
#include <memory>
#include <mutex>
#include <vector>

#include "ratelimit/resilience/adaptive_sinks.hpp"
#include "ratelimit/resilience/local_bucket.hpp"
#include "ratelimit/time.hpp"

namespace ratelimit {

/// Settings of an ErrorRateController. Rates are in units per second.
///
/// Time is cut into intervals of `interval` µs aligned on multiples of
/// `interval` (instant 0 is a boundary). At most once per interval, at the
/// first call in a new interval, the controller evaluates the window: the
/// `window / interval` whole intervals that ended at that boundary. With
/// `samples` calls in the window of which `errors` failed:
///
/// - `samples < min_samples`: too little evidence, the rate stays;
/// - `errors / samples > error_threshold`:
///   `rate <- max(min_rate, rate * (1 - reduction))`, and the window is
///   cleared, so the errors sent at the old rate are not held against the
///   new one (one bad spell gives one reduction per window refill, not one
///   per interval);
/// - otherwise: `rate <- min(max_rate, rate + recovery * base_rate)`.
struct ErrorRateConfig {
  double base_rate = 100;                 ///< Starting rate; in [min_rate, max_rate].
  double min_rate = 1;                    ///< Floor (> 0, finite).
  double max_rate = 1e9;                  ///< Ceiling (>= min_rate, finite).
  double error_threshold = 0.05;          ///< Error fraction that triggers a reduction, in [0, 1].
  Micros window = 10 * kMicrosPerSecond;  ///< µs; a multiple of `interval`.
  Micros interval = kMicrosPerSecond;     ///< µs between evaluations (> 0).
  std::uint64_t min_samples = 20;         ///< Samples a window needs to count (>= 1).
  double reduction = 0.2;  ///< Fraction of the rate removed on a reduction, in (0, 1].
  double recovery = 0.05;  ///< Fraction of base_rate added per good evaluation (> 0).
};

/// Windows are at most this many intervals (bounded memory: one small
/// bucket per interval).
inline constexpr Micros kMaxErrorRateBuckets = 4096;

/// A snapshot of an ErrorRateController's counters.
struct ErrorRateStats {
  double rate = 0;                   ///< Current rate, units/s.
  double window_error_rate = 0;      ///< errors / samples of the last evaluated window (0 if none).
  std::uint64_t window_samples = 0;  ///< Samples in the last evaluated window.
  std::uint64_t successes = 0;       ///< `on_success` calls.
  std::uint64_t errors = 0;          ///< `on_error` calls.
  std::uint64_t evaluations = 0;     ///< Windows evaluated.
  std::uint64_t reductions = 0;      ///< Evaluations that lowered the rate.
  std::uint64_t recoveries = 0;      ///< Evaluations that raised the rate.
  Micros last_change_at = 0;         ///< Clock instant of the last rate change (0: none yet).
  friend bool operator==(const ErrorRateStats&, const ErrorRateStats&) = default;
};

/// Adapts a send rate to a backend that starts failing when overloaded:
/// call `on_success()` or `on_error()` after every call; pace calls with
/// `rate()`, usually through an `attach`-ed LocalBucket. Unlike
/// AimdController it reacts to a *fraction* of failures over a time window,
/// so a few random errors do not cut the rate.
///
/// Thread-safe: every method may be called concurrently (one mutex; sinks
/// run after it is released, see AdaptiveSinks).
class ErrorRateController final {
 public:
  /// Throws std::invalid_argument, naming the field and value, for an
  /// invalid config (see ErrorRateConfig; also a window longer than
  /// kMaxErrorRateBuckets intervals). `clock` defaults to the system clock.
  explicit ErrorRateController(const ErrorRateConfig& config,
                               std::shared_ptr<const Clock> clock = nullptr);

  /// One call succeeded. Runs the evaluation that is due first, if any.
  void on_success();
  /// One call failed. Runs the evaluation that is due first, if any.
  void on_error();
  /// Runs the evaluation that is due now, if any; true if one ran. The
  /// `on_*` calls do this themselves; call it from a timer only if the rate
  /// must move while no calls complete.
  bool evaluate();

  /// Current rate, units per second, in [min_rate, max_rate].
  [[nodiscard]] double rate() const;
  /// Counters; a consistent snapshot, stale as soon as it returns.
  [[nodiscard]] ErrorRateStats stats() const;
  [[nodiscard]] const ErrorRateConfig& config() const noexcept { return config_; }

  /// Calls `sink(rate)` now and after every change (see AdaptiveSinks).
  void add_sink(std::function<void(double)> sink);
  /// Drives `bucket`: sets its rate now and on every change. The bucket
  /// must outlive this controller.
  void attach(LocalBucket& bucket);

 private:
  struct Bucket {
    // Interval index (instant / interval); the minimum marks an unused bucket.
    std::int64_t epoch = std::numeric_limits<std::int64_t>::min();
    std::uint64_t successes = 0;
    std::uint64_t errors = 0;
  };

  // The interval `now` falls in, never before the latest one seen (a clock
  // that steps back does not reopen closed intervals). mu_ held.
  std::int64_t epoch_locked(Micros now);
  // Evaluates if `epoch` starts a new interval; true if the rate changed.
  bool evaluate_locked(std::int64_t epoch, Micros now);
  void record(bool error);
  void publish();

  ErrorRateConfig config_;
  std::shared_ptr<const Clock> clock_;
  mutable std::mutex mu_;
  ErrorRateStats stats_;          // Guarded by mu_.
  std::vector<Bucket> buckets_;   // Guarded by mu_: ring indexed by epoch mod size.
  std::int64_t latest_epoch_;     // Guarded by mu_: newest interval seen.
  std::int64_t evaluated_epoch_;  // Guarded by mu_: interval of the last evaluation.
  AdaptiveSinks<double> sinks_;
};

}  // namespace ratelimit
