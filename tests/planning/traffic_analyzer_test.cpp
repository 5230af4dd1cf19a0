// Known answers: logs built so that every reported number can be worked out
// by hand (see each test's comment).
#include "ratelimit/planning/traffic_analyzer.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "ratelimit/planning/traffic_report.hpp"

namespace ratelimit::planning {
namespace {

constexpr Micros kS = kMicrosPerSecond;
// 2026-12-07T00:00:00Z, a Monday.
constexpr Micros kMonday = 1'796'601'600LL * kS;

struct Line {
  std::string ip, user, method, path;
  Micros time;
};

AnalyzeOptions options(IdentifierKind by, Micros window, std::size_t max_identifiers = 1000) {
  AnalyzeOptions o;
  o.by = by;
  o.window = window;
  o.max_identifiers = max_identifiers;
  return o;
}

void feed(TrafficAnalyzer& a, const std::vector<Line>& lines) {
  for (const auto& l : lines) {
    LogRecord r;
    r.time = l.time;
    r.ip = l.ip;
    r.user = l.user;
    r.method = l.method;
    r.path = l.path;
    r.status = 200;
    a.add(r);
  }
}

/// Identifier i (1..100) sends i requests in one second, at second 100*i.
std::vector<Line> staircase() {
  std::vector<Line> lines;
  for (int i = 1; i <= 100; ++i) {
    for (int k = 0; k < i; ++k) {
      lines.push_back({"10.0.0." + std::to_string(i), "", "GET", "/items/" + std::to_string(k),
                       kMonday + 100 * i * kS + k * 1000});
    }
  }
  return lines;
}

TEST(TrafficAnalyzer, RatesAndPercentilesOfAStaircase) {
  TrafficAnalyzer a;
  feed(a, staircase());
  const auto r = build_report(a, Target{});
  EXPECT_EQ(r.requests, 5050u);
  // Seconds 100 .. 10000 inclusive: 9901 seconds.
  EXPECT_DOUBLE_EQ(r.average_rps, 5050.0 / 9901.0);
  EXPECT_EQ(r.peak_rps, 100u);
  EXPECT_EQ(r.peak_rps_at, kMonday + 10000 * kS);
  EXPECT_EQ(r.per_identifier.count, 100u);
  EXPECT_DOUBLE_EQ(r.per_identifier.mean, 50.5);
  EXPECT_EQ(r.per_identifier.median, 50u);
  EXPECT_EQ(r.per_identifier.p95, 95u);
  EXPECT_EQ(r.per_identifier.p99, 99u);
  EXPECT_EQ(r.per_identifier.max, 100u);
  EXPECT_EQ(r.peak_per_second.p99, 99u);
  ASSERT_FALSE(r.top_identifiers.empty());
  EXPECT_EQ(r.top_identifiers[0].name, "10.0.0.100");
  // One endpoint after normalization: /items/{id}.
  ASSERT_EQ(r.endpoints.size(), 1u);
  EXPECT_EQ(r.endpoints[0].endpoint, "GET /items/{id}");
  EXPECT_EQ(r.endpoints[0].requests, 5050u);
  EXPECT_EQ(r.endpoints[0].peak_second, 100u);
  // Everything on Monday (10000 s < 1 day); hours 0, 1 and 2.
  EXPECT_EQ(r.by_weekday[0], 5050u);
  EXPECT_EQ(r.peak_weekday, 0);
  // Hour 0: seconds < 3600 -> i = 1..35; hour 1: i = 36..71; hour 2: 72..100.
  EXPECT_EQ(r.by_hour[0], 35u * 36 / 2);
  EXPECT_EQ(r.by_hour[1], 71u * 72 / 2 - 35u * 36 / 2);
  EXPECT_EQ(r.peak_hour, 2);
  EXPECT_EQ(r.busiest_hour_at, kMonday + 2 * kMicrosPerHour);
  EXPECT_EQ(r.busiest_hour_requests, 5050u - 71u * 72 / 2);
  EXPECT_EQ(r.busiest_day_at, kMonday);
  EXPECT_EQ(r.busiest_day_requests, 5050u);
}

TEST(TrafficAnalyzer, RecommendsForAPercentileTarget) {
  TrafficAnalyzer a;
  feed(a, staircase());
  const auto recs = recommend(a, Target{Target::Kind::identifiers, 0.99});
  ASSERT_EQ(recs.size(), 6u);
  for (const auto& rec : recs) {
    SCOPED_TRACE(std::string(to_string(rec.algorithm)));
    EXPECT_EQ(rec.window, kMicrosPerMinute);
    EXPECT_EQ(rec.identifiers, 100u);
    // Each identifier's requests fall in one second: every measure of
    // identifier i is i, so p99 = 99 and only identifier 100 is limited.
    EXPECT_EQ(rec.limit, 99);
    EXPECT_EQ(rec.identifiers_never_limited, 99u);
    if (is_bucket(rec.algorithm)) {
      EXPECT_EQ(rec.burst, 99);
    }
  }
  EXPECT_EQ(recs[3].algorithm, Algorithm::fixed_window);
  EXPECT_EQ(recs[3].requests_limited, 1u);
}

TEST(TrafficAnalyzer, RecommendsForABlockedFraction) {
  TrafficAnalyzer a;
  feed(a, staircase());
  // Limit L denies sum_{i>L} (i - L): L = 91 denies 45 of 5050 (0.89%),
  // L = 90 denies 55 (1.09%). So 1% gives 91.
  const auto recs = recommend(a, Target{Target::Kind::blocked_requests, 0.01});
  const auto& fixed = recs[3];
  EXPECT_EQ(fixed.limit, 91);
  EXPECT_EQ(fixed.requests_limited, 45u);
  EXPECT_EQ(fixed.identifiers_never_limited, 91u);
  // Nothing may be denied: the largest window count.
  EXPECT_EQ(recommend(a, Target{Target::Kind::blocked_requests, 0.0})[3].limit, 100);
}

TEST(TrafficAnalyzer, BurstNeedDrainsAtTheLadderRate) {
  // One identifier: 10 requests at t=0, then 10 more at t=5 s. At 1/s the
  // bucket drains 5 between them: level 10 -> 5 -> 15. At 2/s it empties.
  TrafficAnalyzer a(options(IdentifierKind::ip, kMicrosPerHour));
  std::vector<Line> lines;
  for (int k = 0; k < 10; ++k) lines.push_back({"1.1.1.1", "", "GET", "/", kMonday});
  for (int k = 0; k < 10; ++k) lines.push_back({"1.1.1.1", "", "GET", "/", kMonday + 5 * kS});
  feed(a, lines);
  const auto& s = a.identifiers().at("1.1.1.1");
  EXPECT_FLOAT_EQ(s.burst_needed[6], 15.0f);  // 1/s
  EXPECT_FLOAT_EQ(s.burst_needed[7], 10.0f);  // 2/s
  EXPECT_FLOAT_EQ(s.burst_needed[0], 20.0f - 5.0f / 64.0f);
  EXPECT_EQ(s.peak_second, 10u);
  EXPECT_EQ(s.peak_window, 20u);
}

TEST(TrafficAnalyzer, SlidingEstimateAcrossAWindowEdge) {
  // Window 60 s: 30 requests at 0:50, 30 at 1:10. At 1:10 the estimate is
  // 30 * (50/60) + 30 = 55; aligned windows peak at 30, adjacent pairs at 60.
  TrafficAnalyzer a;
  std::vector<Line> lines;
  for (int k = 0; k < 30; ++k) lines.push_back({"1.1.1.1", "", "GET", "/", kMonday + 50 * kS});
  for (int k = 0; k < 30; ++k) lines.push_back({"1.1.1.1", "", "GET", "/", kMonday + 70 * kS});
  feed(a, lines);
  const auto& s = a.identifiers().at("1.1.1.1");
  EXPECT_EQ(s.peak_window, 30u);
  EXPECT_EQ(s.peak_two_windows, 60u);
  EXPECT_NEAR(s.peak_sliding_estimate, 55.0f, 1e-3);
}

TEST(TrafficAnalyzer, IdentifierKindsAnonymousAndCap) {
  TrafficAnalyzer a(options(IdentifierKind::user, kMicrosPerMinute, 2));
  feed(a, {{"1.1.1.1", "", "GET", "/", kMonday},
           {"1.1.1.1", "alice", "GET", "/", kMonday},
           {"1.1.1.1", "bob", "GET", "/", kMonday},
           {"1.1.1.1", "carol", "GET", "/", kMonday},
           {"1.1.1.1", "alice", "GET", "/", kMonday - kS}});
  EXPECT_EQ(a.anonymous_requests(), 1u);
  EXPECT_EQ(a.untracked_requests(), 1u);  // carol: beyond the cap
  EXPECT_EQ(a.identifiers().size(), 2u);
  EXPECT_EQ(a.out_of_order(), 1u);
  EXPECT_EQ(a.identifiers().at("alice").requests, 2u);
}

TEST(TrafficAnalyzer, WeekdaysUseTheLogsOffset) {
  // Sunday 23:30 UTC logged at +0100 is Monday 00:30 local.
  TrafficAnalyzer a;
  LogRecord r;
  r.time = kMonday - 30 * kMicrosPerMinute;
  r.utc_offset_minutes = 60;
  r.ip = "1.1.1.1";
  a.add(r);
  EXPECT_EQ(a.weekly()[0][0], 1u);
  r.utc_offset_minutes = 0;
  a.add(r);
  EXPECT_EQ(a.weekly()[6][23], 1u);
}

TEST(TargetParsing, Percentiles) {
  EXPECT_DOUBLE_EQ(parse_target("p99")->value, 0.99);
  EXPECT_DOUBLE_EQ(parse_target("p99.9")->value, 0.999);
  EXPECT_DOUBLE_EQ(parse_target("0.5")->value, 0.5);
  EXPECT_FALSE(parse_target("p0"));
  EXPECT_FALSE(parse_target("p101"));
  EXPECT_FALSE(parse_target("ninety"));
}

TEST(Distribution, NearestRank) {
  std::vector<std::uint64_t> v{5, 1, 4, 2, 3};
  const auto d = distribution_of(v);
  EXPECT_EQ(d.median, 3u);
  EXPECT_EQ(d.p95, 5u);
  EXPECT_EQ(d.max, 5u);
  EXPECT_DOUBLE_EQ(d.mean, 3.0);
  std::vector<std::uint64_t> none;
  EXPECT_EQ(distribution_of(none).count, 0u);
}

}  // namespace
}  // namespace ratelimit::planning
