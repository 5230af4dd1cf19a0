// The heavy-hitters summary: on a skewed stream it finds the true top
// identifiers, and every estimate is within the stated error bound, also
// after merging summaries (as Analytics does across shards and minutes).

#include "ratelimit/telemetry/heavy_hitters.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <random>
#include <string>
#include <vector>

namespace {

using ratelimit::telemetry::HeavyHitters;

// A Zipf(1.1) stream over `distinct` identifiers, with a fixed seed.
std::vector<std::string> skewed_stream(std::size_t events, std::size_t distinct) {
  std::vector<double> weights(distinct);
  for (std::size_t i = 0; i < distinct; ++i) weights[i] = 1.0 / std::pow(double(i + 1), 1.1);
  std::discrete_distribution<std::size_t> pick(weights.begin(), weights.end());
  std::mt19937_64 rng(42);
  std::vector<std::string> out;
  out.reserve(events);
  for (std::size_t i = 0; i < events; ++i) out.push_back("id-" + std::to_string(pick(rng)));
  return out;
}

std::map<std::string, std::uint64_t> true_counts(const std::vector<std::string>& stream) {
  std::map<std::string, std::uint64_t> counts;
  for (const auto& id : stream) ++counts[id];
  return counts;
}

// Every estimate is a lower bound within error_bound() of the truth, the
// bound is at most N/65, and the true top `k` are the summary's top `k`.
void expect_guarantees(const HeavyHitters& hh, const std::map<std::string, std::uint64_t>& truth,
                       std::uint64_t n, std::size_t k) {
  EXPECT_EQ(hh.total(), n);
  const std::uint64_t bound = hh.error_bound();
  EXPECT_LE(bound, n / (HeavyHitters::kCapacity + 1));
  for (const auto& [id, count] : truth) {
    const std::uint64_t estimate = hh.estimate(id);
    EXPECT_LE(estimate, count) << id;
    EXPECT_GE(estimate + bound, count) << id;
  }
  std::vector<std::pair<std::uint64_t, std::string>> sorted;
  for (const auto& [id, count] : truth) sorted.emplace_back(count, id);
  std::sort(sorted.rbegin(), sorted.rend());
  const auto top = hh.top(k);
  ASSERT_EQ(top.size(), k);
  for (std::size_t i = 0; i < k; ++i) EXPECT_EQ(top[i].id, sorted[i].second) << "rank " << i;
}

TEST(HeavyHitters, FindsTheTopOfASkewedStream) {
  const auto stream = skewed_stream(200'000, 5'000);
  HeavyHitters hh;
  for (const auto& id : stream) hh.add(id);
  expect_guarantees(hh, true_counts(stream), stream.size(), 5);
  EXPECT_GT(hh.error_bound(), 0U);  // 5,000 identifiers in 64 counters: not exact
}

TEST(HeavyHitters, MergedSummariesKeepTheBound) {
  // 16 shards of 10 minutes: 160 summaries, merged in a chain and a tree.
  const auto stream = skewed_stream(160'000, 5'000);
  std::vector<HeavyHitters> parts(160);
  for (std::size_t i = 0; i < stream.size(); ++i) parts[i % parts.size()].add(stream[i]);
  HeavyHitters chain;
  for (const auto& p : parts) chain.merge(p);
  expect_guarantees(chain, true_counts(stream), stream.size(), 5);

  while (parts.size() > 1) {
    std::vector<HeavyHitters> next((parts.size() + 1) / 2);
    for (std::size_t i = 0; i < parts.size(); ++i) next[i / 2].merge(parts[i]);
    parts = std::move(next);
  }
  expect_guarantees(parts[0], true_counts(stream), stream.size(), 5);
}

TEST(HeavyHitters, ExactWhileItFits) {
  HeavyHitters hh;
  for (int i = 0; i < 64; ++i) hh.add("id-" + std::to_string(i), static_cast<std::uint64_t>(i + 1));
  EXPECT_EQ(hh.error_bound(), 0U);
  EXPECT_EQ(hh.estimate("id-63"), 64U);
  EXPECT_EQ(hh.estimate("id-0"), 1U);
  EXPECT_EQ(hh.top(1)[0].id, "id-63");
  // The 65th identifier (weight 1) takes 1 off every counter: id-0 drops out.
  hh.add("newcomer");
  EXPECT_EQ(hh.estimate("id-0"), 0U);
  EXPECT_EQ(hh.estimate("newcomer"), 0U);
  EXPECT_EQ(hh.estimate("id-63"), 63U);
  EXPECT_EQ(hh.error_bound(), 1U);  // (N - kept) / 65 = 65 / 65
  hh.clear();
  EXPECT_EQ(hh.total(), 0U);
  EXPECT_TRUE(hh.top(10).empty());
}

TEST(HeavyHitters, LongIdentifiersAreTruncated) {
  HeavyHitters hh;
  const std::string long_id(100, 'x');
  hh.add(long_id);
  hh.add(long_id.substr(0, 80));  // same first 64 bytes
  EXPECT_EQ(hh.estimate(long_id), 2U);
  ASSERT_EQ(hh.top(1).size(), 1U);
  EXPECT_EQ(hh.top(1)[0].id.size(), HeavyHitters::kMaxIdBytes);
}

}  // namespace
