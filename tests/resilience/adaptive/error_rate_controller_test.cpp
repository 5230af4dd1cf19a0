#include "ratelimit/resilience/error_rate_controller.hpp"

#include <gtest/gtest.h>

#include <limits>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "ratelimit/resilience/local_bucket.hpp"

namespace ratelimit {
namespace {

struct AdaptiveErrorRateTest : ::testing::Test {
  // Starts on an interval boundary: interval 10 is [1.0 s, 1.1 s).
  std::shared_ptr<ManualClock> clock = std::make_shared<ManualClock>(1'000'000);

  static ErrorRateConfig config() {
    ErrorRateConfig c;
    c.base_rate = 100;
    c.min_rate = 10;
    c.max_rate = 150;
    c.error_threshold = 0.25;
    c.interval = 100'000;
    c.window = 300'000;
    c.min_samples = 4;
    c.reduction = 0.5;
    c.recovery = 0.1;  // +10/s per good evaluation
    return c;
  }

  static void feed(ErrorRateController& c, int successes, int errors) {
    for (int i = 0; i < successes; ++i) c.on_success();
    for (int i = 0; i < errors; ++i) c.on_error();
  }
};

TEST_F(AdaptiveErrorRateTest, RejectsInvalidConfigNamingTheField) {
  struct Row {
    void (*mutate)(ErrorRateConfig&);
    const char* field;
  };
  const std::vector<Row> rows = {
      {[](ErrorRateConfig& c) { c.min_rate = 0; }, "min_rate"},
      {[](ErrorRateConfig& c) { c.max_rate = 5; }, "max_rate"},
      {[](ErrorRateConfig& c) { c.max_rate = std::numeric_limits<double>::infinity(); },
       "max_rate"},
      {[](ErrorRateConfig& c) { c.base_rate = 151; }, "base_rate"},
      {[](ErrorRateConfig& c) { c.error_threshold = -0.01; }, "error_threshold"},
      {[](ErrorRateConfig& c) { c.error_threshold = 1.01; }, "error_threshold"},
      {[](ErrorRateConfig& c) { c.error_threshold = std::numeric_limits<double>::quiet_NaN(); },
       "error_threshold"},
      {[](ErrorRateConfig& c) { c.interval = 0; }, "interval"},
      {[](ErrorRateConfig& c) { c.window = 0; }, "window"},
      {[](ErrorRateConfig& c) { c.window = 250'000; }, "window"},  // not a multiple
      {[](ErrorRateConfig& c) { c.window = 100'000 * (kMaxErrorRateBuckets + 1); }, "window"},
      {[](ErrorRateConfig& c) { c.min_samples = 0; }, "min_samples"},
      {[](ErrorRateConfig& c) { c.reduction = 0; }, "reduction"},
      {[](ErrorRateConfig& c) { c.reduction = 1.5; }, "reduction"},
      {[](ErrorRateConfig& c) { c.recovery = 0; }, "recovery"},
  };
  for (std::size_t i = 0; i < rows.size(); ++i) {
    ErrorRateConfig c = config();
    rows[i].mutate(c);
    try {
      ErrorRateController controller(c, clock);
      ADD_FAILURE() << "row " << i << " was accepted";
    } catch (const std::invalid_argument& e) {
      EXPECT_NE(std::string(e.what()).find(rows[i].field), std::string::npos)
          << "row " << i << ": " << e.what();
    }
  }
  ErrorRateConfig edge = config();
  edge.error_threshold = 1;
  edge.reduction = 1;
  edge.window = edge.interval * kMaxErrorRateBuckets;
  EXPECT_NO_THROW(ErrorRateController(edge, clock));
}

TEST_F(AdaptiveErrorRateTest, EvaluatesAtTheFirstCallOfANewInterval) {
  ErrorRateController c(config(), clock);
  feed(c, 4, 0);
  clock->set(1'099'999);
  c.on_success();
  EXPECT_EQ(c.stats().evaluations, 0u);
  EXPECT_DOUBLE_EQ(c.rate(), 100);
  clock->set(1'100'000);
  c.on_success();
  ErrorRateStats s = c.stats();
  EXPECT_EQ(s.evaluations, 1u);
  EXPECT_EQ(s.window_samples, 5u);  // the triggering call belongs to the new interval
  EXPECT_DOUBLE_EQ(s.window_error_rate, 0);
  EXPECT_DOUBLE_EQ(c.rate(), 110);
  EXPECT_EQ(s.recoveries, 1u);
  EXPECT_EQ(s.last_change_at, 1'100'000);
  c.on_error();  // same interval: no second evaluation
  EXPECT_EQ(c.stats().evaluations, 1u);
}

TEST_F(AdaptiveErrorRateTest, ReducesAboveTheThresholdAndStartsAFreshWindow) {
  ErrorRateController c(config(), clock);
  feed(c, 3, 2);  // 40 %
  clock->set(1'100'000);
  c.on_error();
  ErrorRateStats s = c.stats();
  EXPECT_DOUBLE_EQ(c.rate(), 50);
  EXPECT_EQ(s.reductions, 1u);
  EXPECT_DOUBLE_EQ(s.window_error_rate, 0.4);
  // The old errors are gone: the next window holds only the call that
  // triggered the evaluation, too few samples to act on.
  clock->set(1'200'000);
  c.on_success();
  s = c.stats();
  EXPECT_EQ(s.evaluations, 2u);
  EXPECT_EQ(s.window_samples, 1u);
  EXPECT_DOUBLE_EQ(c.rate(), 50);
  EXPECT_EQ(s.reductions, 1u);
}

TEST_F(AdaptiveErrorRateTest, AnErrorRateAtTheThresholdIsNotAboveIt) {
  ErrorRateController c(config(), clock);
  feed(c, 3, 1);  // exactly 25 %
  clock->set(1'100'000);
  EXPECT_TRUE(c.evaluate());
  EXPECT_DOUBLE_EQ(c.rate(), 110);
  EXPECT_FALSE(c.evaluate());  // once per interval
}

TEST_F(AdaptiveErrorRateTest, TooFewSamplesChangeNothing) {
  ErrorRateController c(config(), clock);
  feed(c, 0, 3);
  clock->set(1'100'000);
  EXPECT_TRUE(c.evaluate());
  EXPECT_DOUBLE_EQ(c.rate(), 100);
  EXPECT_EQ(c.stats().window_samples, 3u);
  EXPECT_DOUBLE_EQ(c.stats().window_error_rate, 1);
}

TEST_F(AdaptiveErrorRateTest, SamplesLeaveTheWindowAfterItsLength) {
  // Window = intervals 10..12 when evaluated at 13, 11..13 at 14.
  ErrorRateController at_13(config(), clock);
  ErrorRateController at_14(config(), clock);
  feed(at_13, 4, 0);
  feed(at_14, 4, 0);
  clock->set(1'300'000);
  EXPECT_TRUE(at_13.evaluate());
  EXPECT_EQ(at_13.stats().window_samples, 4u);
  clock->set(1'400'000);
  EXPECT_TRUE(at_14.evaluate());
  EXPECT_EQ(at_14.stats().window_samples, 0u);
  EXPECT_DOUBLE_EQ(at_14.rate(), 100);
}

TEST_F(AdaptiveErrorRateTest, RateStaysWithinMinAndMax) {
  ErrorRateController c(config(), clock);
  Micros t = 1'000'000;
  for (int i = 0; i < 10; ++i) {
    feed(c, 4, 0);
    t += 100'000;
    clock->set(t);
    ASSERT_TRUE(c.evaluate());
  }
  EXPECT_DOUBLE_EQ(c.rate(), 150);
  EXPECT_EQ(c.stats().recoveries, 5u);  // 110 .. 150, then capped
  for (int i = 0; i < 10; ++i) {
    feed(c, 0, 4);
    t += 100'000;
    clock->set(t);
    ASSERT_TRUE(c.evaluate());
  }
  EXPECT_DOUBLE_EQ(c.rate(), 10);
  EXPECT_EQ(c.stats().reductions, 4u);  // 75 37.5 18.75 10
}

TEST_F(AdaptiveErrorRateTest, AClockSteppingBackDoesNotReopenClosedIntervals) {
  ErrorRateController c(config(), clock);
  clock->set(1'100'000);
  EXPECT_TRUE(c.evaluate());
  clock->set(500'000);  // back 6 intervals
  feed(c, 4, 0);        // counted in interval 11, the latest seen
  EXPECT_FALSE(c.evaluate());
  clock->set(1'200'000);
  EXPECT_TRUE(c.evaluate());
  EXPECT_EQ(c.stats().window_samples, 4u);
  EXPECT_DOUBLE_EQ(c.rate(), 110);
}

TEST_F(AdaptiveErrorRateTest, AttachDrivesALocalBucketAndSinksSeeEveryChange) {
  LocalBucket bucket(1, 1, clock);
  ErrorRateController c(config(), clock);
  std::vector<double> seen;
  c.attach(bucket);
  c.add_sink([&seen](double r) { seen.push_back(r); });
  EXPECT_DOUBLE_EQ(bucket.rate(), 100);
  feed(c, 0, 4);
  clock->set(1'100'000);
  c.on_success();
  EXPECT_DOUBLE_EQ(bucket.rate(), 50);
  EXPECT_EQ(seen, (std::vector<double>{100, 50}));
}

}  // namespace
}  // namespace ratelimit
