// Alert rules at their exact thresholds: a value at a threshold does not
// alert, the next step above does.

#include "ratelimit/telemetry/alerts.hpp"

#include <gtest/gtest.h>

#include "ratelimit/telemetry/analytics.hpp"

namespace {

using ratelimit::kMicrosPerMinute;
using ratelimit::kMicrosPerSecond;
using ratelimit::Micros;
using namespace ratelimit::telemetry;

constexpr Micros kNow = Micros{1'767'225'600} * kMicrosPerSecond + 30 * kMicrosPerSecond;

// `allowed` and `blocked` decisions in the minute `minutes_ago` before kNow's.
void traffic(Analytics& a, int allowed, int blocked, int minutes_ago = 0, Micros latency = -1) {
  const Micros at = kNow - minutes_ago * kMicrosPerMinute;
  for (int i = 0; i < allowed + blocked; ++i) {
    a.record(
        {.at = at, .allowed = i < allowed, .scope = "s", .identifier = "who", .latency = latency});
  }
}

std::vector<Alert> alerts_of(const Analytics& a, const AlertRules& rules = AlertRules()) {
  return evaluate_alerts(a.stats_minutes(rules.window_minutes, kNow), rules);
}

TEST(Alerts, DefaultsAreDocumented) {
  const AlertRules rules;
  EXPECT_EQ(rules.window_minutes, 5);
  EXPECT_EQ(rules.min_volume, 100U);
  EXPECT_DOUBLE_EQ(rules.block_rate_warning, 0.30);
  EXPECT_DOUBLE_EQ(rules.block_rate_critical, 0.50);
  EXPECT_FALSE(rules.volume_high_per_minute.has_value());
  EXPECT_FALSE(rules.volume_low_per_minute.has_value());
  EXPECT_DOUBLE_EQ(rules.p99_latency_ms, 50.0);
}

TEST(Alerts, BlockRateAtExactThresholds) {
  {
    Analytics a;
    traffic(a, 70, 30);  // exactly 30%: no alert
    EXPECT_TRUE(alerts_of(a).empty());
  }
  {
    Analytics a;
    traffic(a, 69, 31);  // 31%: warning
    const auto alerts = alerts_of(a);
    ASSERT_EQ(alerts.size(), 1U);
    EXPECT_EQ(alerts[0].name, "block_rate");
    EXPECT_EQ(alerts[0].severity, "warning");
    EXPECT_DOUBLE_EQ(alerts[0].value, 0.31);
    EXPECT_DOUBLE_EQ(alerts[0].threshold, 0.30);
    EXPECT_NE(alerts[0].message.find("31.0%"), std::string::npos) << alerts[0].message;
  }
  {
    Analytics a;
    traffic(a, 50, 50);  // exactly 50%: still a warning
    ASSERT_EQ(alerts_of(a).size(), 1U);
    EXPECT_EQ(alerts_of(a)[0].severity, "warning");
  }
  {
    Analytics a;
    traffic(a, 49, 51);  // 51%: critical
    ASSERT_EQ(alerts_of(a).size(), 1U);
    EXPECT_EQ(alerts_of(a)[0].severity, "critical");
    EXPECT_DOUBLE_EQ(alerts_of(a)[0].threshold, 0.50);
  }
}

TEST(Alerts, BlockRateNeedsTheMinimumVolume) {
  Analytics a;
  traffic(a, 9, 90);  // 99 decisions: below min_volume
  EXPECT_TRUE(alerts_of(a).empty());
  traffic(a, 0, 1);  // the 100th
  EXPECT_EQ(alerts_of(a).size(), 1U);
}

TEST(Alerts, OnlyTheWindowCounts) {
  Analytics a;
  traffic(a, 0, 200, 5);  // the minute just before the 5-minute window
  traffic(a, 100, 0, 4);
  EXPECT_TRUE(alerts_of(a).empty());
}

TEST(Alerts, SinceIsTheStartOfTheBreachingRun) {
  Analytics a;
  traffic(a, 100, 0, 3);  // fine
  traffic(a, 10, 90, 2);  // breaching from here on
  traffic(a, 10, 90, 1);
  traffic(a, 10, 90, 0);
  const auto alerts = alerts_of(a);
  ASSERT_EQ(alerts.size(), 1U);
  const Micros minute_start = kNow - 30 * kMicrosPerSecond;
  EXPECT_EQ(alerts[0].since, minute_start - 2 * kMicrosPerMinute);
  EXPECT_EQ(alerts[0].severity, "critical");  // 270 of 370
}

TEST(Alerts, VolumeHighAndLow) {
  AlertRules rules;
  rules.volume_high_per_minute = 100;  // per-minute average over 5 minutes
  rules.volume_low_per_minute = 10;
  Analytics a;
  traffic(a, 500, 0);  // 100/min: neither
  EXPECT_TRUE(alerts_of(a, rules).empty());
  traffic(a, 1, 0);  // 100.2/min: high
  auto alerts = alerts_of(a, rules);
  ASSERT_EQ(alerts.size(), 1U);
  EXPECT_EQ(alerts[0].name, "volume_high");
  EXPECT_DOUBLE_EQ(alerts[0].value, 100.2);

  Analytics quiet;
  traffic(quiet, 50, 0);  // 10/min: not low
  EXPECT_TRUE(alerts_of(quiet, rules).empty());
  Analytics quieter;
  traffic(quieter, 49, 0);  // 9.8/min: low
  alerts = alerts_of(quieter, rules);
  ASSERT_EQ(alerts.size(), 1U);
  EXPECT_EQ(alerts[0].name, "volume_low");
  EXPECT_EQ(alerts[0].severity, "warning");
}

TEST(Alerts, SlowDecisions) {
  AlertRules rules;
  rules.p99_latency_ms = 0.1;  // 100 µs
  Analytics fast;
  traffic(fast, 100, 0, 0, 100);  // bucket edge 100 µs: exactly the threshold
  EXPECT_TRUE(alerts_of(fast, rules).empty());
  Analytics slow;
  traffic(slow, 100, 0, 0, 101);  // next bucket: 200 µs
  const auto alerts = alerts_of(slow, rules);
  ASSERT_EQ(alerts.size(), 1U);
  EXPECT_EQ(alerts[0].name, "slow_decisions");
  EXPECT_DOUBLE_EQ(alerts[0].value, 0.2);
  Analytics few;
  traffic(few, 99, 0, 0, 5000);  // below min_volume samples
  EXPECT_TRUE(alerts_of(few, rules).empty());
}

TEST(Alerts, CriticalComesFirst) {
  AlertRules rules;
  rules.volume_high_per_minute = 1;
  Analytics a;
  traffic(a, 10, 90);
  const auto alerts = alerts_of(a, rules);
  ASSERT_EQ(alerts.size(), 2U);
  EXPECT_EQ(alerts[0].severity, "critical");
  EXPECT_EQ(alerts[1].name, "volume_high");
}

}  // namespace
