#include <gtest/gtest.h>

#include <limits>
#include <memory>
#include <stdexcept>
#include <string>

#include "ratelimit/resilience/load_signals.hpp"

namespace ratelimit {
namespace {

struct LoadFeedTest : ::testing::Test {
  std::shared_ptr<ManualClock> clock = std::make_shared<ManualClock>(1'000 * kMicrosPerSecond);
  // 6 intervals of 10 s: a 60 s window; 10 samples before the rate is unscaled.
  LoadFeedConfig config{10 * kMicrosPerSecond, 6, 10};
};

TEST_F(LoadFeedTest, ErrorRateOverTheWindowDampedBelowMinSamples) {
  LoadFeed feed(config, clock);
  EXPECT_EQ(feed.error_rate(), 0.0);
  feed.record_error();
  EXPECT_DOUBLE_EQ(feed.error_rate(), 0.1);  // 1 error / max(1, 10)
  for (int i = 0; i < 19; ++i) feed.record_success();
  EXPECT_DOUBLE_EQ(feed.error_rate(), 0.05);  // 1 / 20
}

TEST_F(LoadFeedTest, OutcomesAgeOutIntervalByInterval) {
  LoadFeed feed(config, clock);
  for (int i = 0; i < 10; ++i) feed.record_error();  // interval 100 (t = 1000 s)
  clock->advance(10 * kMicrosPerSecond);
  for (int i = 0; i < 10; ++i) feed.record_success();  // interval 101
  EXPECT_DOUBLE_EQ(feed.error_rate(), 0.5);
  // The errors' interval leaves the window when interval 106 starts.
  clock->set(1'060 * kMicrosPerSecond - 1);
  EXPECT_DOUBLE_EQ(feed.error_rate(), 0.5);
  clock->set(1'060 * kMicrosPerSecond);
  EXPECT_DOUBLE_EQ(feed.error_rate(), 0.0);
  clock->set(1'070 * kMicrosPerSecond);  // everything aged out: the fixed value (0)
  EXPECT_DOUBLE_EQ(feed.error_rate(), 0.0);
}

TEST_F(LoadFeedTest, TheMostRecentSourceWins) {
  LoadFeed feed(config, clock);
  for (int i = 0; i < 10; ++i) feed.record_error();
  EXPECT_DOUBLE_EQ(feed.error_rate(), 1.0);
  feed.set_error_rate(0.25);  // clears the window
  EXPECT_DOUBLE_EQ(feed.error_rate(), 0.25);
  for (int i = 0; i < 10; ++i) feed.record_success();
  EXPECT_DOUBLE_EQ(feed.error_rate(), 0.0);
  clock->advance(60 * kMicrosPerSecond);  // window empty again: the fixed value
  EXPECT_DOUBLE_EQ(feed.error_rate(), 0.25);
}

TEST_F(LoadFeedTest, FillsTheApplicationSignals) {
  LoadFeed feed(config, clock);
  feed.set_queue_depth(42);
  feed.set_error_rate(0.5);
  EXPECT_EQ(feed.fill(LoadSignals{0.9, 0.8, 0, 0}), (LoadSignals{0.9, 0.8, 0.5, 42}));
}

TEST_F(LoadFeedTest, RejectsBadValuesAndConfig) {
  LoadFeed feed(config, clock);
  EXPECT_THROW(feed.set_error_rate(1.5), std::invalid_argument);
  EXPECT_THROW(feed.set_error_rate(std::numeric_limits<double>::quiet_NaN()),
               std::invalid_argument);
  EXPECT_THROW(feed.set_queue_depth(-1), std::invalid_argument);
  EXPECT_THROW(feed.set_queue_depth(std::numeric_limits<double>::infinity()),
               std::invalid_argument);
  try {
    LoadFeed bad(LoadFeedConfig{0, 6, 10}, clock);
    FAIL();
  } catch (const std::invalid_argument& e) {
    EXPECT_EQ(std::string(e.what()), "LoadFeedConfig.interval must be at least 1 µs, got 0");
  }
  EXPECT_THROW(LoadFeed(LoadFeedConfig{1, 0, 10}, clock), std::invalid_argument);
  EXPECT_THROW(LoadFeed(LoadFeedConfig{1, 1001, 10}, clock), std::invalid_argument);
  EXPECT_THROW(LoadFeed(LoadFeedConfig{1, 6, 0}, clock), std::invalid_argument);
}

}  // namespace
}  // namespace ratelimit
