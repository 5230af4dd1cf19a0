#pragma once
/// @file alerts.hpp
/// Alerts from thresholds over the last minutes of decision statistics.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "ratelimit/telemetry/alert_rules.hpp"
#include "ratelimit/telemetry/analytics.hpp"
#include "ratelimit/time.hpp"

namespace ratelimit::telemetry {

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
