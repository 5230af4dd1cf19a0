#include "ratelimit/resilience/local_bucket.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <memory>
#include <stdexcept>
#include <thread>
#include <vector>

#include "ratelimit/resilience/sleeper.hpp"

namespace ratelimit {
namespace {

struct LocalBucketTest : ::testing::Test {
  std::shared_ptr<ManualClock> clock = std::make_shared<ManualClock>(1'000'000);
};

TEST_F(LocalBucketTest, StartsFullThenRefillsAtTheRateToTheMicrosecond) {
  LocalBucket bucket(10, 5, clock);  // 10/s: one unit per 100 ms
  for (int i = 0; i < 5; ++i) EXPECT_TRUE(bucket.try_acquire());
  EXPECT_FALSE(bucket.try_acquire());
  EXPECT_EQ(bucket.time_to_available(), 100'000);
  clock->advance(99'999);
  EXPECT_FALSE(bucket.try_acquire());
  EXPECT_EQ(bucket.time_to_available(), 1);
  clock->advance(1);
  EXPECT_TRUE(bucket.try_acquire());
  EXPECT_FALSE(bucket.try_acquire());
}

TEST_F(LocalBucketTest, NeverHoldsMoreThanBurst) {
  LocalBucket bucket(10, 3, clock);
  clock->advance(60 * kMicrosPerSecond);
  EXPECT_DOUBLE_EQ(bucket.available(), 3);
  EXPECT_EQ(bucket.time_to_available(4), kInfinite);
  EXPECT_FALSE(bucket.reserve(4, kInfinite).has_value());
  EXPECT_DOUBLE_EQ(bucket.available(), 3);
}

TEST_F(LocalBucketTest, ReservationsQueueInOrderAndKeepTheRate) {
  LocalBucket bucket(10, 1, clock);
  EXPECT_EQ(bucket.reserve(1, 0), 0);
  EXPECT_EQ(bucket.reserve(1, kMicrosPerSecond), 100'000);   // waits one interval
  EXPECT_EQ(bucket.reserve(1, kMicrosPerSecond), 200'000);   // behind the first waiter
  EXPECT_FALSE(bucket.reserve(1, 299'999).has_value());      // would wait 300 ms: refused, nothing taken
  EXPECT_EQ(bucket.reserve(1, 300'000), 300'000);
  EXPECT_DOUBLE_EQ(bucket.available(), -3);
  bucket.refund(1);  // the last waiter gave up
  EXPECT_EQ(bucket.time_to_available(), 300'000);
}

TEST_F(LocalBucketTest, SetRateKeepsWhatTheOldRateEarned) {
  LocalBucket bucket(10, 10, clock);
  for (int i = 0; i < 10; ++i) ASSERT_TRUE(bucket.try_acquire());
  clock->advance(50'000);  // half a unit at 10/s
  bucket.set_rate(100);    // from now on one unit per 10 ms
  EXPECT_EQ(bucket.time_to_available(), 5'000);
  EXPECT_DOUBLE_EQ(bucket.rate(), 100);
}

TEST_F(LocalBucketTest, SetBurstDropsUnitsAboveTheNewCapacity) {
  LocalBucket bucket(1, 10, clock);
  bucket.set_burst(2);
  EXPECT_DOUBLE_EQ(bucket.available(), 2);
  bucket.set_burst(4);
  EXPECT_DOUBLE_EQ(bucket.available(), 2);
  EXPECT_DOUBLE_EQ(bucket.burst(), 4);
}

TEST_F(LocalBucketTest, ClockSteppingBackEarnsNothing) {
  LocalBucket bucket(10, 1, clock);
  ASSERT_TRUE(bucket.try_acquire());
  clock->advance(-kMicrosPerSecond);
  EXPECT_FALSE(bucket.try_acquire());
  clock->advance(kMicrosPerSecond + 100'000);
  EXPECT_TRUE(bucket.try_acquire());
}

TEST_F(LocalBucketTest, RejectsBadArgumentsWithAMessage) {
  EXPECT_THROW(LocalBucket(0, 1, clock), std::invalid_argument);
  EXPECT_THROW(LocalBucket(1, 0.5, clock), std::invalid_argument);
  EXPECT_THROW(LocalBucket(std::numeric_limits<double>::infinity(), 1, clock), std::invalid_argument);
  LocalBucket bucket(1, 1, clock);
  EXPECT_THROW(bucket.try_acquire(-1), std::invalid_argument);
  EXPECT_THROW(bucket.set_rate(-2), std::invalid_argument);
  try {
    bucket.set_burst(std::nan(""));
    FAIL();
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("burst"), std::string::npos);
  }
  EXPECT_DOUBLE_EQ(bucket.burst(), 1);
}

TEST(ManualSleeperTest, MovesTheClockForwardOnlyAndCountsWaits) {
  ManualClock clock(100);
  ManualSleeper sleeper(clock);
  sleeper.sleep_until(50);
  EXPECT_EQ(clock.now(), 100);
  EXPECT_EQ(sleeper.waits(), 0u);
  sleeper.sleep_until(250);
  EXPECT_EQ(clock.now(), 250);
  EXPECT_EQ(sleeper.waits(), 1u);
  EXPECT_EQ(sleeper.slept(), 150);
}

TEST(LocalBucketConcurrency, AdmitsExactlyBurstAcrossThreads) {
  auto clock = std::make_shared<ManualClock>(0);
  LocalBucket bucket(1, 1000, clock);
  std::atomic<int> admitted{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 500; ++i) admitted += bucket.try_acquire() ? 1 : 0;
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(admitted.load(), 1000);
}

}  // namespace
}  // namespace ratelimit
