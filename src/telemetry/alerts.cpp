#include "ratelimit/telemetry/alerts.hpp"

#include <algorithm>
#include <cstdio>
#include <functional>

namespace ratelimit::telemetry {

namespace {

std::string percent(double rate) {
  char text[32];
  std::snprintf(text, sizeof text, "%.1f%%", rate * 100.0);
  return text;
}

std::string number(double value) {
  char text[32];
  std::snprintf(text, sizeof text, "%.6g", value);
  return text;
}

// The start of the trailing run of series points for which `breaches` holds;
// the window's start when the newest point alone does not breach.
Micros breaching_since(const Stats& s, const std::function<bool(const SeriesPoint&)>& breaches) {
  Micros since = s.from;
  bool newest = true;
  for (auto it = s.series.rbegin(); it != s.series.rend(); ++it) {
    if (!breaches(*it)) break;
    since = it->start;
    newest = false;
  }
  return newest ? s.from : since;
}

}  // namespace

std::vector<Alert> evaluate_alerts(const Stats& recent, const AlertRules& rules) {
  std::vector<Alert> alerts;
  const double minutes = std::max(1, recent.minutes);
  const double window = static_cast<double>(recent.minutes);
  const std::string over = " over the last " + number(window) + " min";

  const double rate = recent.block_rate();
  if (recent.total() >= rules.min_volume &&
      (rate > rules.block_rate_warning || rate > rules.block_rate_critical)) {
    const bool critical = rate > rules.block_rate_critical;
    const double threshold = critical ? rules.block_rate_critical : rules.block_rate_warning;
    alerts.push_back(
        {"block_rate", critical ? "critical" : "warning", rate, threshold,
         breaching_since(recent,
                         [&](const SeriesPoint& p) {
                           const auto total = p.allowed + p.blocked;
                           return total > 0 &&
                                  static_cast<double>(p.blocked) / static_cast<double>(total) >
                                      threshold;
                         }),
         "block rate " + percent(rate) + over + " (" + std::to_string(recent.blocked) + " of " +
             std::to_string(recent.total()) + " decisions) is above " + percent(threshold)});
  }

  const double per_minute = static_cast<double>(recent.total()) / minutes;
  if (rules.volume_high_per_minute && per_minute > *rules.volume_high_per_minute) {
    const double threshold = *rules.volume_high_per_minute;
    alerts.push_back({"volume_high", "warning", per_minute, threshold,
                      breaching_since(recent,
                                      [&](const SeriesPoint& p) {
                                        return static_cast<double>(p.allowed + p.blocked) *
                                                   kMicrosPerMinute /
                                                   static_cast<double>(recent.series_step) >
                                               threshold;
                                      }),
                      "decision volume " + number(per_minute) + "/min" + over + " is above " +
                          number(threshold) + "/min"});
  }
  if (rules.volume_low_per_minute && per_minute < *rules.volume_low_per_minute) {
    const double threshold = *rules.volume_low_per_minute;
    alerts.push_back({"volume_low", "warning", per_minute, threshold,
                      breaching_since(recent,
                                      [&](const SeriesPoint& p) {
                                        return static_cast<double>(p.allowed + p.blocked) *
                                                   kMicrosPerMinute /
                                                   static_cast<double>(recent.series_step) <
                                               threshold;
                                      }),
                      "decision volume " + number(per_minute) + "/min" + over + " is below " +
                          number(threshold) + "/min"});
  }

  if (recent.p99_latency && recent.latency_samples >= rules.min_volume) {
    const double p99_ms = static_cast<double>(*recent.p99_latency) / kMicrosPerMilli;
    if (p99_ms > rules.p99_latency_ms) {
      alerts.push_back({"slow_decisions", "warning", p99_ms, rules.p99_latency_ms, recent.from,
                        "p99 decision latency " + number(p99_ms) + " ms" + over + " is above " +
                            number(rules.p99_latency_ms) + " ms"});
    }
  }

  std::stable_sort(alerts.begin(), alerts.end(), [](const Alert& a, const Alert& b) {
    return a.severity == "critical" && b.severity != "critical";
  });
  return alerts;
}

}  // namespace ratelimit::telemetry
