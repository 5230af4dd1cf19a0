#pragma once
/// @file sla.hpp
/// SLA checks (`ratelimit sla`): per-tier targets (availability, response
/// time, rate-limit accuracy) against measured figures, and the service
/// credits owed. Pure functions; thread-safe. Rules in docs/planning.md ("sla").

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace ratelimit::planning {

/// Measured availability below `below_percent` owes `credit_percent` of the
/// monthly fee. With several steps, the largest credit whose threshold is
/// crossed applies (they do not add up).
struct CreditStep {
  double below_percent = 0;   ///< (0, 100]
  double credit_percent = 0;  ///< [0, 100]
};

/// One tier's SLA. Absent targets are not checked.
struct SlaTarget {
  std::string tier;
  double monthly_fee = 0;                      ///< >= 0, in any currency
  std::optional<double> availability_percent;  ///< at least this (0, 100]
  std::optional<double> max_response_ms;       ///< at most this (> 0)
  std::optional<double> accuracy_percent;      ///< rate-limit accuracy, at least (0, 100]
  std::vector<CreditStep> credits;             ///< on availability
};

struct SlaDefinition {
  std::vector<SlaTarget> tiers;
};

/// Measured figures; absent ones are unknown.
struct Measured {
  std::optional<double> availability_percent;
  std::optional<double> response_ms;
  std::optional<double> accuracy_percent;
};

/// Figures for every tier, and per tier where they differ (per-tier values win).
struct MeasuredSet {
  Measured all;
  std::map<std::string, Measured, std::less<>> by_tier;
  /// Fills figures absent here from `other` (this one wins where both have one).
  void complete_from(const MeasuredSet& other);
};

/// One checked item.
struct SlaItem {
  std::string item;  ///< "availability", "response_time" or "accuracy"
  std::string unit;  ///< "%" or "ms"
  double target = 0;
  double measured = 0;
  bool met = false;
  /// How far it missed, in `unit` (percentage points or ms); 0 when met.
  double shortfall = 0;
};

struct SlaTierResult {
  std::string tier;
  std::vector<SlaItem> items;
  bool met = true;  ///< every item met
  double monthly_fee = 0;
  double credit_percent = 0;
  double credit = 0;  ///< monthly_fee * credit_percent / 100
};

struct SlaReport {
  std::vector<SlaTierResult> tiers;
  bool met = true;
  double total_credit = 0;
};

/// Checks every tier. Throws InputError when a target has no measured figure
/// ("no measured availability for tier 'premium' (--availability, ...)") or a
/// figure is out of range.
[[nodiscard]] SlaReport evaluate_sla(const SlaDefinition& sla, const MeasuredSet& measured);

/// Reads SLA definitions (docs/planning.md). Throws policy::ConfigError with
/// positions.
[[nodiscard]] SlaDefinition load_sla_file(const std::string& path);

/// Reads measured figures from JSON: {"availability_percent": 99.95,
/// "response_ms": 120, "accuracy_percent": 99.9, "tiers": {"premium": {...}}}.
/// `source` names it in errors. Throws InputError naming the bad field.
[[nodiscard]] MeasuredSet parse_measured_json(std::string_view json, const std::string& source);

/// The figures a ratelimitd's GET /v1/stats reply gives: the 99th-percentile
/// decision latency as the response time. Throws InputError when the reply
/// has no latency.
[[nodiscard]] MeasuredSet measured_from_stats_json(std::string_view json);

}  // namespace ratelimit::planning
