#include "ratelimit/resilience/load_based_limits.hpp"

#include <gtest/gtest.h>

#include <limits>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

namespace ratelimit {
namespace {

using Reasons = std::vector<std::string>;

struct LoadBasedLimitsTest : ::testing::Test {
  std::shared_ptr<ManualClock> clock = std::make_shared<ManualClock>(1'000 * kMicrosPerSecond);

  // Curves with binary-exact numbers, so factors compare exactly.
  static LoadBasedLimitsConfig exact_config() {
    LoadBasedLimitsConfig c;
    c.cpu = {0.5, 1.0, 0.5, true};
    c.deadband = 0.125;
    c.recovery_per_second = 0.5;
    return c;
  }
};

TEST_F(LoadBasedLimitsTest, DefaultCpuCurveAtAndAroundItsThresholds) {
  const LoadBasedLimits limits({}, clock);
  struct Row {
    double cpu;
    double factor;
  };
  const Row rows[] = {{0.0, 1.0},   {0.70, 1.0}, {0.7000001, 1.0 - 0.7 * 0.0000001 / 0.25},
                      {0.85, 0.58}, {0.95, 0.3}, {1.0, 0.3}};
  for (std::size_t i = 0; i < std::size(rows); ++i) {
    EXPECT_NEAR(limits.evaluate({rows[i].cpu, 0, 0, 0}).factor, rows[i].factor, 1e-12)
        << "row " << i;
  }
  EXPECT_EQ(limits.evaluate({0.85, 0, 0, 0}).reasons, Reasons{"cpu 85% above 70%: capacity x0.58"});
  EXPECT_EQ(limits.evaluate({0.70, 0, 0, 0}).reasons,
            Reasons{"no signal above its threshold: capacity x1.00"});
  EXPECT_EQ(limits.evaluate({0.975, 0, 0, 0}).reasons,
            Reasons{"cpu 97.5% above 70%: capacity x0.30"});
}

TEST_F(LoadBasedLimitsTest, ExactCurveValues) {
  const LoadBasedLimits limits(exact_config(), clock);
  EXPECT_EQ(limits.evaluate({0.5, 0, 0, 0}).factor, 1.0);
  EXPECT_EQ(limits.evaluate({0.75, 0, 0, 0}).factor, 0.75);
  EXPECT_EQ(limits.evaluate({0.875, 0, 0, 0}).factor, 0.625);
  EXPECT_EQ(limits.evaluate({1.0, 0, 0, 0}).factor, 0.5);
}

TEST_F(LoadBasedLimitsTest, TheMostLoadedSignalDecidesAndEveryOneAboveGivesAReason) {
  const LoadBasedLimits limits({}, clock);
  const Adjustment a = limits.evaluate({0.85, 0.90, 0.10, 550});
  // memory: 1 - 0.7 * (0.10 / 0.15); error_rate: 1 - 0.7 * (0.05 / 0.45); queue: 1 - 0.7 * 0.5
  EXPECT_NEAR(a.factor, 1.0 - 0.7 * (0.10 / 0.15), 1e-12);
  EXPECT_EQ(a.reasons,
            (Reasons{"cpu 85% above 70%: capacity x0.58", "memory 90% above 80%: capacity x0.53",
                     "error_rate 10% above 5%: capacity x0.92",
                     "queue_depth 550 above 100: capacity x0.65"}));
}

TEST_F(LoadBasedLimitsTest, DisabledSignalsNeverReduce) {
  LoadBasedLimitsConfig c;
  c.cpu.enabled = false;
  const LoadBasedLimits limits(c, clock);
  EXPECT_EQ(limits.evaluate({1.0, 0, 0, 0}).factor, 1.0);
  EXPECT_EQ(limits.evaluate({1.0, 0, 0, 1000}).factor, 0.3);
}

TEST_F(LoadBasedLimitsTest, DropsAtOnceRecoversAtTheConfiguredPace) {
  LoadBasedLimits limits(exact_config(), clock);
  EXPECT_EQ(limits.factor(), 1.0);
  EXPECT_EQ(limits.adjust({1.0, 0, 0, 0}).factor, 0.5);
  clock->advance(500'000);  // +0.25 in half a second
  const Adjustment a = limits.adjust({0.0, 0, 0, 0});
  EXPECT_EQ(a.factor, 0.75);
  EXPECT_EQ(a.reasons, (Reasons{"no signal above its threshold: capacity x1.00",
                                "recovering: capacity x0.75 toward x1.00 at +0.5/s"}));
  clock->advance(499'999);
  EXPECT_LT(limits.adjust({0.0, 0, 0, 0}).factor, 1.0);
  clock->advance(1);
  const Adjustment done = limits.adjust({0.0, 0, 0, 0});
  EXPECT_EQ(done.factor, 1.0);
  EXPECT_EQ(done.reasons, Reasons{"no signal above its threshold: capacity x1.00"});
  EXPECT_EQ(limits.factor(), 1.0);
}

TEST_F(LoadBasedLimitsTest, SmallDropsWithinTheDeadbandAreHeld) {
  LoadBasedLimits limits(exact_config(), clock);
  const Adjustment held = limits.adjust({0.625, 0, 0, 0});  // target 0.875: drop of 0.125
  EXPECT_EQ(held.factor, 1.0);
  EXPECT_EQ(held.reasons, (Reasons{"cpu 62.5% above 50%: capacity x0.88",
                                   "holding capacity x1.00: target x0.88 is within the deadband "
                                   "of 0.125"}));
  EXPECT_EQ(limits.adjust({0.75, 0, 0, 0}).factor, 0.75);  // drop of 0.25: applies
  // Hovering just below: the factor stays, no flapping back and forth.
  clock->advance(kMicrosPerSecond);
  EXPECT_EQ(limits.adjust({0.625, 0, 0, 0}).factor, 0.875);  // rises at most to the target
  EXPECT_EQ(limits.adjust({0.75, 0, 0, 0}).factor, 0.875);   // 0.125 drop: held
}

TEST_F(LoadBasedLimitsTest, AClockSteppingBackRecoversNothing) {
  LoadBasedLimits limits(exact_config(), clock);
  (void)limits.adjust({1.0, 0, 0, 0});
  clock->advance(-10 * kMicrosPerSecond);
  EXPECT_EQ(limits.adjust({0.0, 0, 0, 0}).factor, 0.5);
  clock->advance(kMicrosPerSecond);
  EXPECT_EQ(limits.adjust({0.0, 0, 0, 0}).factor, 1.0);
}

TEST_F(LoadBasedLimitsTest, BehaviourBonusPenaltyAndCap) {
  LoadBasedLimitsConfig c;
  c.max_factor = 1.1;
  const LoadBasedLimits limits(c, clock);
  const Adjustment load{0.5, {"cpu 82% above 70%: capacity x0.50"}};
  const Adjustment good = limits.for_identifier(load, 0.95);
  EXPECT_DOUBLE_EQ(good.factor, 0.6);
  EXPECT_EQ(good.reasons, (Reasons{"cpu 82% above 70%: capacity x0.50",
                                   "behaviour score 0.95 >= 0.9: bonus x1.20"}));
  EXPECT_DOUBLE_EQ(limits.for_identifier(load, 0.9).factor, 0.6);  // at the threshold
  EXPECT_EQ(limits.for_identifier(load, 0.89).factor, 0.5);        // just below
  EXPECT_EQ(limits.for_identifier(load, 0.31).factor, 0.5);        // just above poor
  EXPECT_EQ(limits.for_identifier(load, 0.3).factor, 0.25);        // at poor
  EXPECT_EQ(limits.for_identifier(load, 0.5).reasons.back(),
            "behaviour score 0.50: no bonus or penalty");
  EXPECT_EQ(limits.for_identifier(load, 0.0).reasons.back(),
            "behaviour score 0.00 <= 0.3: penalty x0.50");

  const Adjustment idle{1.0, {"no signal above its threshold: capacity x1.00"}};
  const Adjustment capped = limits.for_identifier(idle, 1.0);
  EXPECT_EQ(capped.factor, 1.1);
  EXPECT_EQ(capped.reasons.back(), "capped at x1.10");
  EXPECT_THROW((void)limits.for_identifier(idle, 1.5), std::invalid_argument);
  EXPECT_THROW((void)limits.for_identifier(Adjustment{0, {}}, 0.5), std::invalid_argument);
}

TEST_F(LoadBasedLimitsTest, ScoresComeFromBehaviorScores) {
  const LoadBasedLimits limits({}, clock);
  BehaviorScoresConfig sc;
  sc.prior_requests = 0;
  BehaviorScores scores(sc, nullptr, clock);
  for (int i = 0; i < 10; ++i) scores.record("good", Outcome::ok());
  for (int i = 0; i < 10; ++i) scores.record("bad", Outcome{RequestResult::rejected, true});
  const Adjustment load{0.5, {"cpu 82% above 70%: capacity x0.50"}};
  EXPECT_DOUBLE_EQ(limits.for_identifier(load, scores, "good").factor, 0.6);
  EXPECT_EQ(limits.for_identifier(load, scores, "bad").factor, 0.25);
  EXPECT_EQ(limits.for_identifier(load, scores, "unknown").factor, 0.5);  // neutral
}

TEST_F(LoadBasedLimitsTest, ScaledLimitSpecs) {
  const LimitSpec tb(Algorithm::token_bucket, 100, kMicrosPerMinute, 50);
  EXPECT_EQ(scaled(tb, 0.58), LimitSpec(Algorithm::token_bucket, 58, kMicrosPerMinute, 29));
  EXPECT_EQ(scaled(tb, 1.2), LimitSpec(Algorithm::token_bucket, 120, kMicrosPerMinute, 60));
  EXPECT_EQ(scaled(tb, 0.001), LimitSpec(Algorithm::token_bucket, 1, kMicrosPerMinute, 1));
  const LimitSpec fw(Algorithm::fixed_window, 10, kMicrosPerSecond);
  EXPECT_EQ(scaled(fw, 0.3), LimitSpec(Algorithm::fixed_window, 3, kMicrosPerSecond));
  const LimitSpec lb(Algorithm::leaky_bucket, 10, kMicrosPerSecond, 4, LeakyMode::shape);
  EXPECT_EQ(scaled(lb, 0.5),
            LimitSpec(Algorithm::leaky_bucket, 5, kMicrosPerSecond, 2, LeakyMode::shape));
  const LimitSpec log(Algorithm::sliding_log, LimitSpec::kMaxSlidingLogLimit, kMicrosPerSecond);
  EXPECT_EQ(scaled(log, 2.0).limit(), LimitSpec::kMaxSlidingLogLimit);
  EXPECT_THROW((void)scaled(tb, 0), std::invalid_argument);
  EXPECT_THROW((void)scaled(tb, std::numeric_limits<double>::quiet_NaN()), std::invalid_argument);
  EXPECT_THROW((void)scaled(tb, std::numeric_limits<double>::infinity()), std::invalid_argument);
}

TEST_F(LoadBasedLimitsTest, ConfigErrorsNameTheFieldAndValue) {
  struct Row {
    void (*edit)(LoadBasedLimitsConfig&);
    std::string message;
  };
  const Row rows[] = {
      {[](LoadBasedLimitsConfig& c) { c.cpu.start = 1.5; },
       "LoadBasedLimitsConfig.cpu.start must be in [0, 1], got 1.5"},
      {[](LoadBasedLimitsConfig& c) { c.memory.full = 0.5; },
       "LoadBasedLimitsConfig.memory.full (0.5) must be greater than start (0.8)"},
      {[](LoadBasedLimitsConfig& c) { c.error_rate.floor = 0; },
       "LoadBasedLimitsConfig.error_rate.floor must be in (0, 1], got 0"},
      {[](LoadBasedLimitsConfig& c) { c.queue_depth.start = -1; },
       "LoadBasedLimitsConfig.queue_depth.start must be finite and >= 0, got -1"},
      {[](LoadBasedLimitsConfig& c) { c.deadband = 1; },
       "LoadBasedLimitsConfig.deadband must be in [0, 1), got 1"},
      {[](LoadBasedLimitsConfig& c) { c.recovery_per_second = 0; },
       "LoadBasedLimitsConfig.recovery_per_second must be finite and > 0, got 0"},
      {[](LoadBasedLimitsConfig& c) { c.poor_score = 0.9; },
       "LoadBasedLimitsConfig.poor_score (0.9) must be less than good_score (0.9)"},
      {[](LoadBasedLimitsConfig& c) { c.good_factor = 0.9; },
       "LoadBasedLimitsConfig.good_factor must be finite and >= 1, got 0.9"},
      {[](LoadBasedLimitsConfig& c) { c.poor_factor = 0; },
       "LoadBasedLimitsConfig.poor_factor must be in (0, 1], got 0"},
      {[](LoadBasedLimitsConfig& c) { c.max_factor = 0.5; },
       "LoadBasedLimitsConfig.max_factor must be finite and >= 1, got 0.5"},
  };
  for (std::size_t i = 0; i < std::size(rows); ++i) {
    LoadBasedLimitsConfig c;
    rows[i].edit(c);
    EXPECT_EQ(LoadBasedLimits::validate(c), rows[i].message) << "row " << i;
    EXPECT_THROW(LoadBasedLimits(c, clock), std::invalid_argument) << "row " << i;
  }
  EXPECT_EQ(LoadBasedLimits::validate({}), "");
}

TEST_F(LoadBasedLimitsTest, SignalsOutOfRangeThrow) {
  LoadBasedLimits limits({}, clock);
  try {
    (void)limits.adjust({1.5, 0, 0, 0});
    FAIL();
  } catch (const std::invalid_argument& e) {
    EXPECT_EQ(std::string(e.what()), "LoadSignals.cpu must be in [0, 1], got 1.5");
  }
  EXPECT_THROW((void)limits.evaluate({0, -0.1, 0, 0}), std::invalid_argument);
  EXPECT_THROW((void)limits.evaluate({0, 0, std::numeric_limits<double>::quiet_NaN(), 0}),
               std::invalid_argument);
  EXPECT_THROW((void)limits.evaluate({0, 0, 0, -1}), std::invalid_argument);
  EXPECT_EQ(limits.factor(), 1.0);  // nothing changed
}

}  // namespace
}  // namespace ratelimit
