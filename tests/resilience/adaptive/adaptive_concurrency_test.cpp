#include "ratelimit/resilience/adaptive_concurrency.hpp"

#include <gtest/gtest.h>

#include <cstdint>
#include <limits>
#include <stdexcept>
#include <string>
#include <vector>

namespace ratelimit {
namespace {

// Steps equal to the limit move it by exactly one per sample, which keeps
// the expected values readable.
AdaptiveConcurrencyConfig config() {
  AdaptiveConcurrencyConfig c;
  c.initial_limit = 10;
  c.min_limit = 2;
  c.max_limit = 12;
  c.alpha = 2;
  c.beta = 4;
  c.increase_step = 10;
  c.decrease_step = 10;
  c.drop_factor = 0.5;
  c.smoothing = 1;
  return c;
}

TEST(AdaptiveConcurrencyLimitTest, RejectsInvalidConfigNamingTheField) {
  struct Row {
    void (*mutate)(AdaptiveConcurrencyConfig&);
    const char* field;
  };
  const std::vector<Row> rows = {
      {[](AdaptiveConcurrencyConfig& c) { c.min_limit = 0; }, "min_limit"},
      {[](AdaptiveConcurrencyConfig& c) { c.max_limit = 1; }, "max_limit"},
      {[](AdaptiveConcurrencyConfig& c) { c.initial_limit = 13; }, "initial_limit"},
      {[](AdaptiveConcurrencyConfig& c) { c.initial_limit = 1; }, "initial_limit"},
      {[](AdaptiveConcurrencyConfig& c) { c.alpha = -1; }, "alpha"},
      {[](AdaptiveConcurrencyConfig& c) { c.beta = 1; }, "beta"},  // < alpha
      {[](AdaptiveConcurrencyConfig& c) { c.increase_step = 0; }, "increase_step"},
      {[](AdaptiveConcurrencyConfig& c) {
         c.decrease_step = std::numeric_limits<double>::infinity();
       },
       "decrease_step"},
      {[](AdaptiveConcurrencyConfig& c) { c.drop_factor = 1; }, "drop_factor"},
      {[](AdaptiveConcurrencyConfig& c) { c.smoothing = 0; }, "smoothing"},
      {[](AdaptiveConcurrencyConfig& c) { c.smoothing = 1.1; }, "smoothing"},
  };
  for (std::size_t i = 0; i < rows.size(); ++i) {
    AdaptiveConcurrencyConfig c = config();
    rows[i].mutate(c);
    try {
      AdaptiveConcurrencyLimit limit(c);
      ADD_FAILURE() << "row " << i << " was accepted";
    } catch (const std::invalid_argument& e) {
      EXPECT_NE(std::string(e.what()).find(rows[i].field), std::string::npos)
          << "row " << i << ": " << e.what();
    }
  }
}

TEST(AdaptiveConcurrencyLimitTest, RejectsImpossibleSamples) {
  AdaptiveConcurrencyLimit limit(config());
  EXPECT_THROW(limit.on_sample(0, 5), std::invalid_argument);
  EXPECT_THROW(limit.on_sample(-3, 5), std::invalid_argument);
  EXPECT_THROW(limit.on_sample(100, -1), std::invalid_argument);
  EXPECT_EQ(limit.stats().samples, 0u);
}

TEST(AdaptiveConcurrencyLimitTest, GrowsWhileTheQueueIsBelowAlphaAndShrinksAboveBeta) {
  AdaptiveConcurrencyLimit limit(config());
  limit.on_sample(100, 10);  // first sample: min_rtt 100, queue 0 < alpha
  EXPECT_EQ(limit.limit(), 11);
  EXPECT_EQ(limit.stats().min_rtt, 100);
  limit.on_sample(125, 11);  // queue = 11 * (1 - 100/125) = 2.2: in [alpha, beta], hold
  EXPECT_EQ(limit.limit(), 11);
  EXPECT_DOUBLE_EQ(limit.stats().last_queue, 11 * (1 - 100.0 / 125));
  limit.on_sample(200, 11);  // queue = 5.5 > beta: 11 - 10/11
  EXPECT_DOUBLE_EQ(limit.stats().exact_limit, 11 - 10.0 / 11);
  EXPECT_EQ(limit.limit(), 10);
  const AdaptiveConcurrencyStats s = limit.stats();
  EXPECT_EQ(s.samples, 3u);
  EXPECT_EQ(s.increases, 1u);
  EXPECT_EQ(s.decreases, 1u);
  EXPECT_EQ(s.last_rtt, 200);
}

TEST(AdaptiveConcurrencyLimitTest, QueueEstimateAtTheBoundsChangesNothing) {
  AdaptiveConcurrencyConfig c = config();
  c.initial_limit = 8;
  AdaptiveConcurrencyLimit limit(c);
  limit.on_sample(300, 1);  // app-limited: sets min_rtt 300 only
  ASSERT_EQ(limit.stats().min_rtt, 300);
  limit.on_sample(400, 8);  // queue = 8 * (1 - 3/4) = 2 = alpha: hold
  EXPECT_DOUBLE_EQ(limit.stats().last_queue, 2);
  EXPECT_DOUBLE_EQ(limit.stats().exact_limit, 8);
  limit.on_sample(600, 8);  // queue = 4 = beta: hold
  EXPECT_DOUBLE_EQ(limit.stats().last_queue, 4);
  EXPECT_DOUBLE_EQ(limit.stats().exact_limit, 8);
  limit.on_sample(1'200, 8);  // queue = 6 > beta: 8 - 10/8
  EXPECT_DOUBLE_EQ(limit.stats().exact_limit, 6.75);
  limit.on_sample(310, 8);  // queue = 6.75 * (1 - 300/310) < alpha: + 10/6.75
  EXPECT_DOUBLE_EQ(limit.stats().exact_limit, 6.75 + 10 / 6.75);
}

TEST(AdaptiveConcurrencyLimitTest, IgnoresRttWhenTheClientUsesLessThanHalfTheLimit) {
  AdaptiveConcurrencyLimit limit(config());
  limit.on_sample(100, 4);  // 2 * 4 < 10: app-limited
  EXPECT_DOUBLE_EQ(limit.stats().exact_limit, 10);
  EXPECT_EQ(limit.stats().app_limited, 1u);
  EXPECT_EQ(limit.stats().min_rtt, 100);  // but the latency still counts
  limit.on_sample(100, 5);                // 2 * 5 == 10: used
  EXPECT_EQ(limit.limit(), 11);
}

TEST(AdaptiveConcurrencyLimitTest, DropsCutTheLimitAndTheirRttIsNoLatency) {
  AdaptiveConcurrencyLimit limit(config());
  limit.on_sample(5, 10, true);
  EXPECT_EQ(limit.limit(), 5);
  EXPECT_EQ(limit.stats().min_rtt, 0);
  EXPECT_EQ(limit.stats().drops, 1u);
  for (int i = 0; i < 5; ++i) limit.on_sample(1, 1, true);
  EXPECT_EQ(limit.limit(), 2);  // min_limit
}

TEST(AdaptiveConcurrencyLimitTest, SmoothingMovesPartOfTheWay) {
  AdaptiveConcurrencyConfig c = config();
  c.smoothing = 0.5;
  c.increase_step = 20;  // target 12
  AdaptiveConcurrencyLimit limit(c);
  limit.on_sample(100, 10);
  EXPECT_DOUBLE_EQ(limit.stats().exact_limit, 11);
}

TEST(AdaptiveConcurrencyLimitTest, NeverLeavesMinAndMax) {
  AdaptiveConcurrencyLimit limit(config());
  for (int i = 0; i < 10; ++i) limit.on_sample(100, 12);
  EXPECT_EQ(limit.limit(), 12);
  EXPECT_DOUBLE_EQ(limit.stats().exact_limit, 12);
  // queue = limit * 0.9 here: latency alone lowers the limit only until
  // the queue estimate falls to beta (limit <= 4 / 0.9); drops go further.
  for (int i = 0; i < 100; ++i) limit.on_sample(1'000, 12);
  const double settled = limit.stats().exact_limit;
  EXPECT_LE(settled, 4 / 0.9);
  EXPECT_GT(settled, 4 / 0.9 - 10 / (4 / 0.9));  // stopped at the first step below
  limit.on_sample(1'000, 12);
  EXPECT_DOUBLE_EQ(limit.stats().exact_limit, settled);
  for (int i = 0; i < 5; ++i) limit.on_sample(1'000, 12, true);
  EXPECT_EQ(limit.limit(), 2);
  EXPECT_DOUBLE_EQ(limit.stats().exact_limit, 2);
}

TEST(AdaptiveConcurrencyLimitTest, ProbeForgetsTheMinimumRtt) {
  AdaptiveConcurrencyConfig c = config();
  c.probe_every = 2;
  AdaptiveConcurrencyLimit limit(c);
  limit.on_sample(100, 10);
  limit.on_sample(300, 10);
  EXPECT_EQ(limit.stats().min_rtt, 100);
  limit.on_sample(300, 10);  // third sample: a new estimate starts
  EXPECT_EQ(limit.stats().min_rtt, 300);
  EXPECT_EQ(limit.stats().probes, 1u);
  limit.on_sample(250, 10);
  EXPECT_EQ(limit.stats().min_rtt, 250);
  limit.on_sample(400, 10);  // fifth: reset again
  EXPECT_EQ(limit.stats().min_rtt, 400);
  EXPECT_EQ(limit.stats().probes, 2u);
}

TEST(AdaptiveConcurrencyLimitTest, SinkSeesOnlyChangesOfTheIntegerLimit) {
  AdaptiveConcurrencyConfig c = config();
  c.increase_step = 3;  // +0.3 per sample at limit 10
  AdaptiveConcurrencyLimit limit(c);
  std::vector<std::int64_t> seen;
  limit.add_sink([&seen](std::int64_t n) { seen.push_back(n); });
  limit.on_sample(100, 10);  // 10.3 -> 10
  limit.on_sample(100, 10);  // 10.6 -> 11
  limit.on_sample(100, 10);  // ~10.88 -> 11
  EXPECT_EQ(seen, (std::vector<std::int64_t>{10, 11}));
}

}  // namespace
}  // namespace ratelimit
