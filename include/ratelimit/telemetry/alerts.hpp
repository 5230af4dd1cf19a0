#pragma once
/// @file alerts.hpp
/// Alerts from thresholds over the last minutes of decision statistics.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "ratelimit/telemetry/analytics.hpp"
#include "ratelimit/time.hpp"

namespace ratelimit::telemetry {

/// Thresholds. Every comparison is strict ("above" means >): a value exactly
/// at a threshold does not alert.
struct AlertRules {
  /// The window the rules look at: the last `window_minutes` minutes,
  /// the current one included.
  int window_minutes = 5;
  /// Block-rate alerts need at least this many decisions in the window.
  std::uint64_t min_volume = 100;
  /// Block rate (0..1) above which `block_rate` is a warning / critical.
  double block_rate_warning = 0.30;
  double block_rate_critical = 0.50;
  /// Decisions per minute (window average) above which `volume_high` fires
  /// (warning); off when unset.
  std::optional<double> volume_high_per_minute;
  /// Decisions per minute (window average) below which `volume_low` fires
  /// (warning); off when unset.
  std::optional<double> volume_low_per_minute;
  /// p99 decision latency (ms) above which `slow_decisions` fires (warning),
  /// given at least `min_volume` measured decisions.
  double p99_latency_ms = 50.0;

  AlertRules() = default;
};

/// One active alert.
struct Alert {
  std::string name;      ///< block_rate, volume_high, volume_low, slow_decisions
  std::string severity;  ///< "warning" or "critical"
  double value = 0;      ///< the measured value, in the threshold's unit
  double threshold = 0;  ///< the threshold crossed
  /// Start of the trailing run of minutes in which the condition held minute
  /// by minute, within the window; the window's start when the newest minute
  /// alone does not breach, and for slow_decisions (latency is not kept per
  /// minute in Stats). µs since the Unix epoch.
  Micros since = 0;
  std::string message;
};

/// The alerts `recent` (Analytics::stats_minutes(rules.window_minutes, now))
/// raises under `rules`, most severe first.
[[nodiscard]] std::vector<Alert> evaluate_alerts(const Stats& recent, const AlertRules& rules);

}  // namespace ratelimit::telemetry
