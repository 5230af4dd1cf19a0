// Space-Saving: exact while the keys fit; beyond, every key heavier than
// N / capacity is kept and each count is within its error of the truth.
#include "ratelimit/planning/space_saving.hpp"

#include <gtest/gtest.h>

#include <map>
#include <random>

#include "ratelimit/planning/traffic_analyzer.hpp"

namespace ratelimit::planning {
namespace {

TEST(SpaceSaving, ExactWhileKeysFit) {
  SpaceSaving s(4);
  for (const char* k : {"a", "b", "a", "c", "a", "b"}) s.add(k);
  const auto top = s.top(10);
  ASSERT_EQ(top.size(), 3u);
  EXPECT_EQ(top[0].key, "a");
  EXPECT_EQ(top[0].count, 3u);
  EXPECT_EQ(top[0].error, 0u);
  EXPECT_EQ(top[1].key, "b");
  EXPECT_EQ(top[1].count, 2u);
  EXPECT_EQ(top[2].count, 1u);
  EXPECT_EQ(s.total(), 6u);
}

TEST(SpaceSaving, ReplacesTheMinimumAndBoundsTheError) {
  SpaceSaving s(2);
  for (const char* k : {"a", "a", "a", "b", "c"}) s.add(k);
  // "c" took over "b"'s counter (count 1): count 2, error 1.
  const auto top = s.top(2);
  EXPECT_EQ(top[0].key, "a");
  EXPECT_EQ(top[0].count, 3u);
  EXPECT_EQ(top[1].key, "c");
  EXPECT_EQ(top[1].count, 2u);
  EXPECT_EQ(top[1].error, 1u);
}

TEST(SpaceSaving, GuaranteesOnASkewedStream) {
  // 100,000 additions over 20,000 keys, key k with weight ~ 1/(k+1).
  std::mt19937_64 rng(7);
  std::map<std::string, std::uint64_t> truth;
  SpaceSaving s(200);
  const std::uint64_t n = 100'000;
  for (std::uint64_t i = 0; i < n; ++i) {
    const double u = static_cast<double>(rng() >> 11) * 0x1.0p-53;
    const auto k = static_cast<std::uint64_t>(std::exp(u * std::log(20'000.0))) - 1;
    const std::string key = "k" + std::to_string(k);
    ++truth[key];
    s.add(key);
  }
  const auto top = s.top(200);
  std::map<std::string, SpaceSaving::Entry> found;
  for (const auto& e : top) found[e.key] = e;
  for (const auto& [key, count] : truth) {
    if (count > n / 200) {
      ASSERT_TRUE(found.count(key)) << key << " with " << count << " is missing";
    }
    if (found.count(key)) {
      const auto& e = found[key];
      EXPECT_LE(e.count - e.error, count) << key;
      EXPECT_GE(e.count, count) << key;
      EXPECT_LE(e.error, n / 200) << key;
    }
  }
}

TEST(SpaceSaving, AnalyzerSketchesIdentifiersBeyondTheCap) {
  AnalyzeOptions o;
  o.max_identifiers = 1;
  o.untracked_counters = 8;
  TrafficAnalyzer a(o);
  LogRecord r;
  r.time = 1'796'601'600LL * kMicrosPerSecond;
  for (const char* ip : {"1.1.1.1", "2.2.2.2", "2.2.2.2", "3.3.3.3", "2.2.2.2"}) {
    r.ip = ip;
    a.add(r);
  }
  EXPECT_EQ(a.untracked_requests(), 4u);
  const auto top = a.untracked_heavy_hitters().top(1);
  ASSERT_EQ(top.size(), 1u);
  EXPECT_EQ(top[0].key, "2.2.2.2");
  EXPECT_EQ(top[0].count, 3u);
}

}  // namespace
}  // namespace ratelimit::planning
