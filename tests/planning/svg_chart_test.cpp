// Charts are well-formed XML (xmllint parses them) and draw what they say:
// N points, the limit line at its value, 168 heatmap cells.
#include "ratelimit/planning/svg_chart.hpp"

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "ratelimit/planning/html_report.hpp"
#include "ratelimit/planning/traffic_report.hpp"

namespace ratelimit::planning {
namespace {

constexpr Micros kS = kMicrosPerSecond;
constexpr Micros kMonday = 1'796'601'600LL * kS;

std::filesystem::path artifact(const std::string& name) {
  const auto dir = std::filesystem::path(RATELIMIT_TEST_ARTIFACTS);
  std::filesystem::create_directories(dir);
  return dir / name;
}

void expect_well_formed(const std::string& document, const std::string& name) {
  const auto path = artifact(name);
  std::ofstream(path) << document;
  const std::string command = "xmllint --noout '" + path.string() + "'";
  ASSERT_EQ(std::system(command.c_str()), 0)
      << "xmllint rejected " << path << " (is libxml2-utils installed?)";
}

int count(const std::string& text, const std::string& what) {
  int n = 0;
  for (auto at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++n;
  return n;
}

TrafficAnalyzer sample_analyzer() {
  TrafficAnalyzer a;
  // 3000 seconds; second s has (s % 7) requests from ip s % 13.
  for (int s = 0; s < 3000; ++s) {
    for (int k = 0; k < s % 7; ++k) {
      LogRecord r;
      r.time = kMonday + s * kS;
      const std::string ip = "10.0.0." + std::to_string(s % 13);
      r.ip = ip;
      r.method = "GET";
      r.path = "/x";
      a.add(r);
    }
  }
  return a;
}

TEST(SvgChart, RateChartHasItsPointsAndTheLimitLine) {
  auto a = sample_analyzer();
  const auto series = rate_series(a.seconds(), 1000);
  // Second 0 has no request, so the log spans seconds 1..2999: 2999
  // seconds in at most 1000 points, 3 seconds each, the busiest kept.
  ASSERT_EQ(series.peak_rps.size(), 1000u);
  EXPECT_EQ(series.bucket, 3 * kS);
  EXPECT_EQ(series.peak_rps[0], 3u);  // seconds 1,2,3 -> 1,2,3 requests
  EXPECT_EQ(series.peak_rps[1], 6u);  // seconds 4,5,6 -> 4,5,6 requests
  const auto svg = rate_chart_svg(series, 4.5, "proposed: 270/1m & more");
  expect_well_formed(svg, "rate.svg");
  EXPECT_NE(svg.find("class=\"series\" data-points=\"1000\""), std::string::npos);
  // The polyline's points (found by hand: libstdc++'s regex recurses per
  // character and overflows the stack on a 1000-point attribute under ASan).
  const auto points_at = svg.find(" points=\"");
  ASSERT_NE(points_at, std::string::npos);
  const auto begin = points_at + 9;
  const std::string points = svg.substr(begin, svg.find('"', begin) - begin);
  EXPECT_EQ(count(points, ","), 1000);
  // The y axis tops out at nice_ceiling(max(6, 4.95)) = 10; the plot spans
  // y = 30 .. 310, so 4.5 is drawn at 310 - 4.5 / 10 * 280 = 184.
  EXPECT_NE(svg.find("y1=\"184\" x2=\"940\" y2=\"184\" stroke=\"#d62728\" stroke-dasharray=\"6,4\" "
                     "stroke-width=\"1.5\" class=\"limit\" data-value=\"4.5\""),
            std::string::npos)
      << svg.substr(svg.find("class=\"limit\"") - 200, 300);
  EXPECT_NE(svg.find("270/1m &amp; more"), std::string::npos);
}

TEST(SvgChart, RateSeriesOfAStrayTimestampStaysSmall) {
  // One line in 1971, three in 2026: 55 years of span, still 1000 points,
  // and cheap (only the two days with requests are visited).
  SecondCounts seconds;
  seconds.add(365 * kMicrosPerDay);
  for (int i = 0; i < 3; ++i) seconds.add(kMonday);
  const auto series = rate_series(seconds, 1000);
  ASSERT_EQ(series.peak_rps.size(), 1000u);
  EXPECT_EQ(series.peak_rps.front(), 1u);
  EXPECT_EQ(series.peak_rps.back(), 3u);
  EXPECT_EQ(seconds.peak(), 3u);
}

TEST(SvgChart, DistributionAndHeatmap) {
  auto a = sample_analyzer();
  std::vector<std::uint64_t> totals{1, 1, 2, 3, 4, 1000};
  const auto dist = distribution_chart_svg(totals);
  expect_well_formed(dist, "distribution.svg");
  // Bins [1,2): 2, [2,4): 2, [4,8): 1, ... [512,1024): 1 -> 10 bins.
  EXPECT_EQ(count(dist, "class=\"bar\""), 10);
  EXPECT_NE(dist.find("data-from=\"1\" data-count=\"2\""), std::string::npos);
  EXPECT_NE(dist.find("data-from=\"512\" data-count=\"1\""), std::string::npos);
  const auto heat = heatmap_svg(a.weekly());
  expect_well_formed(heat, "heatmap.svg");
  EXPECT_EQ(count(heat, "class=\"cell\""), 168);
  // Seconds 0..2999 are Monday 00:00..00:49: sum of s % 7.
  std::uint64_t total = 0;
  for (int s = 0; s < 3000; ++s) total += static_cast<std::uint64_t>(s % 7);
  EXPECT_NE(
      heat.find("data-day=\"0\" data-hour=\"0\" data-count=\"" + std::to_string(total) + "\""),
      std::string::npos);
}

TEST(HtmlReport, IsWellFormedAndSelfContained) {
  auto a = sample_analyzer();
  const auto report = build_report(a, Target{});
  ReportCharts charts{rate_chart_svg(rate_series(a.seconds()), 3.0, "limit"),
                      distribution_chart_svg({1, 2, 3}), heatmap_svg(a.weekly())};
  ReportInputs inputs;
  inputs.title = "test <report>";
  inputs.files = {"a.log"};
  const auto html = html_report(report, charts, inputs, std::nullopt);
  // XHTML-compatible output: xmllint parses it as XML after the doctype.
  expect_well_formed(html.substr(html.find('\n') + 1), "report.xhtml");
  EXPECT_EQ(count(html, "<svg "), 3);
  EXPECT_EQ(html.find("src="), std::string::npos);
  EXPECT_EQ(html.find("href="), std::string::npos);
  EXPECT_NE(html.find("test &lt;report&gt;"), std::string::npos);
}

}  // namespace
}  // namespace ratelimit::planning
