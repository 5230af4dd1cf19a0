// Analytics on a manual clock: exact aggregates, windows, expiry after 7
// days, the cardinality cap and the latency percentile.

#include "ratelimit/telemetry/analytics.hpp"

#include <gtest/gtest.h>

#include <string>

#include "ratelimit/time.hpp"

namespace {

using ratelimit::kMicrosPerDay;
using ratelimit::kMicrosPerHour;
using ratelimit::kMicrosPerMinute;
using ratelimit::kMicrosPerSecond;
using ratelimit::ManualClock;
using ratelimit::Micros;
using namespace ratelimit::telemetry;

// 2026-01-01T00:00:00Z, a whole minute.
constexpr Micros kStart = Micros{1'767'225'600} * kMicrosPerSecond;

DecisionEvent event(Micros at, bool allowed, std::string_view scope = "per_user",
                    std::string_view tier = "free", std::string_view endpoint = "GET /x",
                    std::string_view identifier = "user:alice") {
  return DecisionEvent{.at = at,
                       .allowed = allowed,
                       .scope = scope,
                       .tier = tier,
                       .endpoint = endpoint,
                       .identifier = identifier,
                       .cost = 2};
}

TEST(Analytics, ExactAggregatesByLabel) {
  ManualClock clock(kStart + 5 * kMicrosPerSecond);
  Analytics analytics;
  for (int i = 0; i < 7; ++i) analytics.record(event(clock.now(), true));
  for (int i = 0; i < 3; ++i) analytics.record(event(clock.now(), false));
  clock.advance(kMicrosPerMinute);
  for (int i = 0; i < 4; ++i)
    analytics.record(event(clock.now(), true, "per_ip", "pro", "POST /y"));
  for (int i = 0; i < 6; ++i)
    analytics.record(event(clock.now(), false, "per_ip", "pro", "POST /y", "ip:10.0.0.1"));

  const Stats s = analytics.stats(Range::hour, clock.now());
  EXPECT_EQ(s.allowed, 11U);
  EXPECT_EQ(s.blocked, 9U);
  EXPECT_EQ(s.total(), 20U);
  EXPECT_DOUBLE_EQ(s.block_rate(), 9.0 / 20.0);
  EXPECT_EQ(s.admitted_cost, 22U);  // 11 allowed decisions of cost 2
  ASSERT_EQ(s.by_scope.size(), 2U);
  EXPECT_EQ(s.by_scope.at("per_user").allowed, 7U);
  EXPECT_EQ(s.by_scope.at("per_user").blocked, 3U);
  EXPECT_EQ(s.by_scope.at("per_ip").allowed, 4U);
  EXPECT_EQ(s.by_scope.at("per_ip").blocked, 6U);
  EXPECT_EQ(s.by_tier.at("free").total(), 10U);
  EXPECT_EQ(s.by_tier.at("pro").blocked, 6U);
  EXPECT_EQ(s.by_endpoint.at("POST /y").allowed, 4U);
  EXPECT_EQ(s.by_endpoint.at("GET /x").blocked, 3U);
  EXPECT_EQ(s.lifetime_allowed, 11U);
  EXPECT_EQ(s.lifetime_blocked, 9U);

  // The series: 60 minutes ending with the current one; the last two hold
  // the traffic, minute by minute.
  ASSERT_EQ(s.series.size(), 60U);
  EXPECT_EQ(s.series_step, kMicrosPerMinute);
  EXPECT_EQ(s.series[58].start, kStart);
  EXPECT_EQ(s.series[58].allowed, 7U);
  EXPECT_EQ(s.series[58].blocked, 3U);
  EXPECT_EQ(s.series[59].allowed, 4U);
  EXPECT_EQ(s.series[59].blocked, 6U);
  EXPECT_EQ(s.from, kStart + kMicrosPerMinute - 59 * kMicrosPerMinute);
  EXPECT_EQ(s.to, kStart + 2 * kMicrosPerMinute);

  ASSERT_EQ(s.top_limited.size(), 2U);
  EXPECT_EQ(s.top_limited[0].identifier, "ip:10.0.0.1");
  EXPECT_EQ(s.top_limited[0].blocked, 6U);
  EXPECT_EQ(s.top_limited[1].identifier, "user:alice");
  EXPECT_EQ(s.top_limited[1].blocked, 3U);
  EXPECT_EQ(s.top_limited_error_bound, 0U);  // fewer identifiers than counters: exact
}

TEST(Analytics, WindowsAndSeriesSteps) {
  Analytics analytics;
  const Micros now = kStart + 3 * kMicrosPerDay;
  analytics.record(event(now - 2 * kMicrosPerHour, false));  // in 24h and 7d
  analytics.record(event(now - 2 * kMicrosPerDay, true));    // in 7d only
  analytics.record(event(now, true));                        // in all three
  const Stats hour = analytics.stats(Range::hour, now);
  const Stats day = analytics.stats(Range::day, now);
  const Stats week = analytics.stats(Range::week, now);
  EXPECT_EQ(hour.total(), 1U);
  EXPECT_EQ(day.total(), 2U);
  EXPECT_EQ(week.total(), 3U);
  EXPECT_EQ(day.series.size(), 144U);  // ten-minute points
  EXPECT_EQ(day.series_step, 10 * kMicrosPerMinute);
  EXPECT_EQ(week.series.size(), 168U);  // hourly points
  std::uint64_t sum = 0;
  for (const auto& p : week.series) sum += p.allowed + p.blocked;
  EXPECT_EQ(sum, 3U);
  EXPECT_EQ(day.top_limited.size(), 1U);
  EXPECT_TRUE(hour.top_limited.empty());
}

TEST(Analytics, MinutesExpireAfterSevenDays) {
  Analytics analytics;
  analytics.record(event(kStart, false));
  // The last minute of the 7-day window still holds it...
  const Micros last_in = kStart + 7 * kMicrosPerDay - kMicrosPerSecond;
  EXPECT_EQ(analytics.stats(Range::week, last_in).blocked, 1U);
  EXPECT_EQ(analytics.stats(Range::week, last_in).top_limited.size(), 1U);
  // ...one minute later it is out of the window.
  const Micros out = kStart + 7 * kMicrosPerDay;
  EXPECT_EQ(analytics.stats(Range::week, out).blocked, 0U);
  // New traffic reuses the ring slot of that minute: the old minute is gone.
  analytics.record(event(out, true));
  EXPECT_EQ(analytics.stats(Range::week, out).total(), 1U);
  EXPECT_EQ(analytics.stats_minutes(1, out).allowed, 1U);
  // A decision from more than 7 days ago is in no window.
  analytics.record(event(out - 8 * kMicrosPerDay, false));
  analytics.record(event(out + kMicrosPerMinute, true));  // folds the late one's shard
  EXPECT_EQ(analytics.stats(Range::week, out + kMicrosPerMinute).blocked, 0U);
  EXPECT_EQ(analytics.stats(Range::week, out + kMicrosPerMinute).lifetime_blocked, 2U);
}

TEST(Analytics, LateDecisionCountsInItsOwnMinute) {
  Analytics analytics;
  analytics.record(event(kStart + kMicrosPerMinute, true));
  analytics.record(event(kStart + 59 * kMicrosPerSecond, false));  // the minute before
  const Stats s = analytics.stats_minutes(2, kStart + kMicrosPerMinute);
  ASSERT_EQ(s.series.size(), 2U);
  EXPECT_EQ(s.series[0].blocked, 1U);
  EXPECT_EQ(s.series[1].allowed, 1U);
}

TEST(Analytics, ClockSteppedBackAnHour) {
  Analytics analytics;
  analytics.record(event(kStart + kMicrosPerHour, true));
  for (int i = 0; i < 3; ++i) analytics.record(event(kStart, false));  // the clock went back
  analytics.record(event(kStart + kMicrosPerHour, true));              // and forward again
  const Stats s = analytics.stats(Range::day, kStart + kMicrosPerHour);
  EXPECT_EQ(s.allowed, 2U);
  EXPECT_EQ(s.blocked, 3U);
  EXPECT_EQ(analytics.stats_minutes(1, kStart).blocked, 3U);
}

TEST(Analytics, LabelCardinalityIsCappedPerMinute) {
  Analytics analytics;
  // 100 scopes in one minute, then 100 more in the next: at most 16 names
  // per minute each, the rest under "(other)"; nothing is lost.
  for (int minute = 0; minute < 2; ++minute) {
    for (int i = 0; i < 100; ++i) {
      const std::string scope = "scope-" + std::to_string(minute * 100 + i);
      analytics.record(event(kStart + minute * kMicrosPerMinute, i % 2 == 0, scope));
    }
  }
  const Micros now = kStart + kMicrosPerMinute;
  const Stats s = analytics.stats(Range::hour, now);
  EXPECT_EQ(s.total(), 200U);
  EXPECT_LE(s.by_scope.size(), 2 * Analytics::kMaxLabelsPerMinute + 1);
  ASSERT_TRUE(s.by_scope.contains(std::string(Analytics::kOtherLabel)));
  std::uint64_t sum = 0;
  for (const auto& [name, counts] : s.by_scope) sum += counts.total();
  EXPECT_EQ(sum, 200U);
  EXPECT_EQ(s.by_scope.at(std::string(Analytics::kOtherLabel)).total(),
            200U - 2 * Analytics::kMaxLabelsPerMinute);
}

TEST(Analytics, InternedNamesAreCapped) {
  // 16 new names a minute for 1,100 minutes: 17,600 names, more than the
  // table holds; the later ones count under "(other)", nothing is lost.
  Analytics analytics;
  constexpr int kMinutes = 1100;
  for (int m = 0; m < kMinutes; ++m) {
    for (int i = 0; i < 16; ++i) {
      analytics.record(
          event(kStart + m * kMicrosPerMinute, true, "name-" + std::to_string(m * 16 + i)));
    }
  }
  const Stats s = analytics.stats(Range::week, kStart + (kMinutes - 1) * kMicrosPerMinute);
  EXPECT_EQ(s.total(), std::uint64_t{kMinutes} * 16);
  // Interned names, "(other)", and the current minute's 16 (not yet interned).
  EXPECT_LE(s.by_scope.size(), Analytics::kMaxNames + 16);
  EXPECT_GE(s.by_scope.at(std::string(Analytics::kOtherLabel)).total(),
            std::uint64_t{kMinutes} * 16 - Analytics::kMaxNames - 16);
}

TEST(Analytics, NamesAreTruncatedAtCharacterBoundaries) {
  Analytics analytics;
  // 63 ASCII bytes then a 2-byte character: the cut at 64 bytes would split it.
  const std::string long_name = std::string(63, 'a') + "\xC3\xA9" + "tail";
  analytics.record(event(kStart, true, long_name));
  const Stats s = analytics.stats(Range::hour, kStart);
  ASSERT_EQ(s.by_scope.size(), 1U);
  EXPECT_EQ(s.by_scope.begin()->first, std::string(63, 'a'));
}

TEST(Analytics, LatencyPercentile) {
  Analytics analytics;
  for (int i = 0; i < 99; ++i) {
    auto e = event(kStart, true);
    e.latency = 20;  // first bucket (<= 25 µs)
    analytics.record(e);
  }
  auto slow = event(kStart, true);
  slow.latency = 30'000;  // 30 ms: bucket edge 25 µs * 2^11 = 51.2 ms
  analytics.record(slow);
  analytics.record(event(kStart, true));  // unmeasured: not a sample
  Stats s = analytics.stats(Range::hour, kStart);
  EXPECT_EQ(s.latency_samples, 100U);
  ASSERT_TRUE(s.p99_latency.has_value());
  EXPECT_EQ(*s.p99_latency, 25);  // 99 of 100 are within 25 µs
  analytics.record(slow);         // now 2 of 101 are slow: p99 is the slow bucket
  s = analytics.stats(Range::hour, kStart);
  EXPECT_EQ(*s.p99_latency, Micros{25} << 11);
  EXPECT_FALSE(Analytics().stats(Range::hour, kStart).p99_latency.has_value());
}

TEST(Analytics, RangeNamesAndBadWindows) {
  EXPECT_EQ(parse_range("1h"), Range::hour);
  EXPECT_EQ(parse_range("24h"), Range::day);
  EXPECT_EQ(parse_range("7d"), Range::week);
  EXPECT_FALSE(parse_range("2h").has_value());
  EXPECT_FALSE(parse_range("").has_value());
  EXPECT_EQ(to_string(Range::day), "24h");
  EXPECT_EQ(minutes_of(Range::week), 10080);
  Analytics analytics;
  EXPECT_THROW((void)analytics.stats_minutes(0, kStart), std::invalid_argument);
  EXPECT_THROW((void)analytics.stats_minutes(10081, kStart), std::invalid_argument);
}

}  // namespace
