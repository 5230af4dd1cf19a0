#include "ratelimit/resilience/client_limiter.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <memory>
#include <stdexcept>
#include <string>

#include "resilience/client/client_test_support.hpp"

namespace ratelimit {
namespace {

constexpr Micros kStart = 1'000'000'000;

struct ClientLimiterTest : ::testing::Test {
  std::shared_ptr<ManualClock> clock = std::make_shared<ManualClock>(kStart);
  std::shared_ptr<ManualSleeper> sleeper = std::make_shared<ManualSleeper>(*clock);
};

TEST_F(ClientLimiterTest, BlockingAcquireReturnsAtTheReservedInstant) {
  ClientLimiter limiter(10, 2, clock, sleeper);  // one unit per 100 ms
  EXPECT_TRUE(limiter.acquire());
  EXPECT_TRUE(limiter.acquire());
  EXPECT_EQ(clock->now(), kStart);  // the burst did not wait
  EXPECT_EQ(sleeper->waits(), 0U);
  EXPECT_TRUE(limiter.acquire());
  EXPECT_EQ(clock->now(), kStart + 100'000);
  EXPECT_TRUE(limiter.acquire(2));  // two more units: 200 ms more
  EXPECT_EQ(clock->now(), kStart + 300'000);
  EXPECT_EQ(sleeper->waits(), 2U);
  const ClientLimiterStats s = limiter.stats();
  EXPECT_EQ(s.acquired, 4U);
  EXPECT_EQ(s.timed_out, 0U);
  EXPECT_EQ(s.total_wait, 100'000 + 200'000);
}

TEST_F(ClientLimiterTest, TimeoutOneMicrosecondShortFailsAtOnceAndTakesNothing) {
  ClientLimiter limiter(10, 1, clock, sleeper);
  ASSERT_TRUE(limiter.try_acquire());
  EXPECT_EQ(limiter.time_to_available(), 100'000);
  EXPECT_FALSE(limiter.acquire(1, 99'999));
  EXPECT_EQ(clock->now(), kStart);  // returned at once
  EXPECT_EQ(sleeper->waits(), 0U);
  EXPECT_EQ(limiter.time_to_available(), 100'000);  // nothing was taken
  EXPECT_TRUE(limiter.acquire(1, 100'000));         // exactly enough
  EXPECT_EQ(clock->now(), kStart + 100'000);
  EXPECT_EQ(limiter.stats().timed_out, 1U);
}

TEST_F(ClientLimiterTest, ZeroTimeoutIsANonBlockingAcquire) {
  ClientLimiter limiter(10, 1, clock, sleeper);
  EXPECT_TRUE(limiter.acquire(1, 0));
  EXPECT_FALSE(limiter.acquire(1, 0));
  EXPECT_EQ(clock->now(), kStart);
}

TEST_F(ClientLimiterTest, CostAboveBurstIsNeverAvailable) {
  ClientLimiter limiter(10, 2, clock, sleeper);
  EXPECT_EQ(limiter.time_to_available(3), kInfinite);
  EXPECT_FALSE(limiter.acquire(3));  // kInfinite timeout still refuses
  EXPECT_EQ(clock->now(), kStart);
  EXPECT_FALSE(limiter.try_acquire(3));
  EXPECT_TRUE(limiter.try_acquire(2));  // and the bucket is untouched
}

TEST_F(ClientLimiterTest, ARateTooSmallToEverEarnTheUnitsIsRefusedNotWaitedFor) {
  ClientLimiter limiter(1e-12, 1, clock, sleeper);
  ASSERT_TRUE(limiter.try_acquire());
  EXPECT_EQ(limiter.time_to_available(), kInfinite);
  EXPECT_FALSE(limiter.acquire(1, kInfinite));
  EXPECT_EQ(sleeper->waits(), 0U);
}

TEST_F(ClientLimiterTest, TryAcquireNeverBlocksAndRefillsAtTheRate) {
  ClientLimiter limiter(10, 1, clock, sleeper);
  EXPECT_TRUE(limiter.try_acquire());
  EXPECT_FALSE(limiter.try_acquire());
  clock->advance(99'999);
  EXPECT_FALSE(limiter.try_acquire());
  clock->advance(1);
  EXPECT_TRUE(limiter.try_acquire());
  EXPECT_TRUE(limiter.try_acquire(0));  // zero cost always succeeds
  EXPECT_EQ(sleeper->waits(), 0U);
  const ClientLimiterStats s = limiter.stats();
  EXPECT_EQ(s.acquired, 3U);
  EXPECT_EQ(s.rejected, 2U);
}

TEST_F(ClientLimiterTest, PauseAdmitsNothingBeforeItsInstant) {
  ClientLimiter limiter(10, 5, clock, sleeper);
  limiter.pause_until(kStart + 5'000'000);
  EXPECT_EQ(limiter.paused_until(), kStart + 5'000'000);
  EXPECT_EQ(limiter.time_to_available(), 5'000'000);
  clock->set(kStart + 4'999'999);
  EXPECT_FALSE(limiter.try_acquire());
  EXPECT_EQ(limiter.time_to_available(), 1);
  clock->set(kStart + 5'000'000);
  EXPECT_TRUE(limiter.try_acquire());
  EXPECT_EQ(limiter.time_to_available(), 0);
}

TEST_F(ClientLimiterTest, BlockingAcquireWaitsOutThePauseExactly) {
  ClientLimiter limiter(10, 5, clock, sleeper);
  limiter.pause_until(kStart + 2'000'000);
  EXPECT_FALSE(limiter.acquire(1, 1'999'999));  // the pause outlasts the timeout
  EXPECT_EQ(clock->now(), kStart);
  EXPECT_TRUE(limiter.acquire(1, 2'000'000));
  EXPECT_EQ(clock->now(), kStart + 2'000'000);
  EXPECT_EQ(limiter.stats().total_wait, 2'000'000);
}

TEST_F(ClientLimiterTest, PauseOnlyExtendsAndResumeEndsIt) {
  ClientLimiter limiter(10, 5, clock, sleeper);
  limiter.pause_until(kStart + 3'000'000);
  limiter.pause_until(kStart + 1'000'000);  // earlier: ignored
  EXPECT_EQ(limiter.paused_until(), kStart + 3'000'000);
  limiter.pause_until(kStart + 4'000'000);
  EXPECT_EQ(limiter.paused_until(), kStart + 4'000'000);
  limiter.resume();
  EXPECT_LE(limiter.paused_until(), clock->now());
  EXPECT_TRUE(limiter.try_acquire());
}

TEST_F(ClientLimiterTest, APauseSetWhileWaitingIsHonouredWithinTheTimeout) {
  ClientLimiter* target = nullptr;
  auto hook = std::make_shared<client_test::HookSleeper>(
      *clock, [&] { target->pause_until(kStart + 3'000'000); });
  ClientLimiter limiter(1, 1, clock, hook);
  target = &limiter;
  ASSERT_TRUE(limiter.try_acquire());
  EXPECT_TRUE(limiter.acquire(1, 3'000'000));  // reserved for +1 s, paused to +3 s
  EXPECT_EQ(clock->now(), kStart + 3'000'000);
}

TEST_F(ClientLimiterTest, APauseSetWhileWaitingBeyondTheTimeoutGivesUpAndRefunds) {
  ClientLimiter* target = nullptr;
  auto hook = std::make_shared<client_test::HookSleeper>(
      *clock, [&] { target->pause_until(kStart + 3'000'000); });
  ClientLimiter limiter(1, 1, clock, hook);
  target = &limiter;
  ASSERT_TRUE(limiter.try_acquire());
  EXPECT_FALSE(limiter.acquire(1, 2'999'999));
  EXPECT_EQ(clock->now(), kStart + 1'000'000);  // woke at its reservation, then gave up
  EXPECT_EQ(limiter.stats().timed_out, 1U);
  // The unit it had reserved is back: available as soon as the pause ends.
  clock->set(kStart + 3'000'000);
  EXPECT_TRUE(limiter.try_acquire());
}

TEST_F(ClientLimiterTest, SetRateAppliesFromNow) {
  ClientLimiter limiter(10, 1, clock, sleeper);
  ASSERT_TRUE(limiter.try_acquire());
  limiter.set_rate(1);
  EXPECT_EQ(limiter.rate(), 1);
  EXPECT_EQ(limiter.time_to_available(), 1'000'000);
  EXPECT_THROW(limiter.set_rate(0), std::invalid_argument);
}

TEST_F(ClientLimiterTest, BadArgumentsThrowNamingTheFieldAndValue) {
  const double nan = std::numeric_limits<double>::quiet_NaN();
  const double inf = std::numeric_limits<double>::infinity();
  struct Row {
    double rate;
    double burst;
    const char* field;
  };
  for (const Row& row : {Row{0, 1, "rate"}, Row{-1, 1, "rate"}, Row{nan, 1, "rate"},
                         Row{inf, 1, "rate"}, Row{1, 0.5, "burst"}, Row{1, inf, "burst"}}) {
    try {
      ClientLimiter limiter(row.rate, row.burst, clock, sleeper);
      ADD_FAILURE() << "rate " << row.rate << " burst " << row.burst << " accepted";
    } catch (const std::invalid_argument& e) {
      EXPECT_NE(std::string(e.what()).find(row.field), std::string::npos) << e.what();
    }
  }
  ClientLimiter limiter(10, 1, clock, sleeper);
  EXPECT_THROW((void)limiter.try_acquire(-1), std::invalid_argument);
  EXPECT_THROW((void)limiter.try_acquire(nan), std::invalid_argument);
  EXPECT_THROW((void)limiter.acquire(-1), std::invalid_argument);
  EXPECT_THROW((void)limiter.time_to_available(-1), std::invalid_argument);
  try {
    (void)limiter.acquire(1, -1);
    ADD_FAILURE() << "negative timeout accepted";
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("timeout"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("-1"), std::string::npos) << e.what();
  }
  EXPECT_EQ(limiter.stats(), ClientLimiterStats{});  // nothing counted
}

TEST_F(ClientLimiterTest, ACustomClockNeedsASleeper) {
  try {
    ClientLimiter limiter(10, 1, clock);
    ADD_FAILURE() << "ManualClock with SystemSleeper accepted";
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("sleeper"), std::string::npos) << e.what();
  }
  ClientLimiter system(10, 1);  // system clock + SystemSleeper: fine
  EXPECT_TRUE(system.try_acquire());
}

}  // namespace
}  // namespace ratelimit
