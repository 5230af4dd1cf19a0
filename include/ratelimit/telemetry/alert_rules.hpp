#pragma once
/// @file alert_rules.hpp
/// The thresholds of /v1/alerts: what `service.alerts` in a policy file sets
/// (policy/config.hpp) and evaluate_alerts (alerts.hpp) applies. On its own,
/// without dependencies, so the config model can hold it.

#include <cstdint>
#include <optional>

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

  friend bool operator==(const AlertRules&, const AlertRules&) = default;
};

}  // namespace ratelimit::telemetry
