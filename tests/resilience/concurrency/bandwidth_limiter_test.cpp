// BandwidthLimiter on a ManualClock + ManualSleeper: transfers take exactly
// the time their size and the rate say; waits happen through the Sleeper.

#include "ratelimit/resilience/bandwidth_limiter.hpp"

#include <gtest/gtest.h>

#include <cstdint>
#include <limits>
#include <memory>
#include <stdexcept>
#include <string>

#include "ratelimit/resilience/sleeper.hpp"

namespace ratelimit {
namespace {

constexpr Micros kStart = 1'000'000;
constexpr double kMBps = 1'000'000;  // 1 MB/s
constexpr std::uint64_t kChunk = 64 * 1024;

struct BandwidthLimiterTest : ::testing::Test {
  std::shared_ptr<ManualClock> clock = std::make_shared<ManualClock>(kStart);
  std::shared_ptr<ManualSleeper> sleeper = std::make_shared<ManualSleeper>(*clock);
};

TEST_F(BandwidthLimiterTest, TenMegabytesAtOneMegabytePerSecondInChunks) {
  BandwidthLimiter limiter(kMBps, static_cast<double>(kChunk), clock, sleeper);
  constexpr std::uint64_t kTotal = 10'000'000;
  for (std::uint64_t sent = 0; sent < kTotal; sent += kChunk) {
    limiter.acquire(std::min(kChunk, kTotal - sent));
  }
  // The first 64 KiB pass on the full burst; the other 9'934'464 bytes take
  // one µs each at 1 MB/s.
  EXPECT_EQ(clock->now() - kStart, 9'934'464);
  const BandwidthLimiter::Stats s = limiter.stats();
  EXPECT_EQ(s.bytes_passed, kTotal);
  EXPECT_EQ(s.waited, 9'934'464);
  EXPECT_EQ(s.waits, 152u) << "every chunk after the first waited";
  EXPECT_EQ(sleeper->waits(), 152u);
}

TEST_F(BandwidthLimiterTest, OneLargeAcquireGoesInBurstSizedPiecesAndTakesTheSameTime) {
  BandwidthLimiter limiter(kMBps, static_cast<double>(kChunk), clock, sleeper);
  limiter.acquire(10'000'000);
  EXPECT_EQ(clock->now() - kStart, 9'934'464);
  EXPECT_EQ(limiter.stats().bytes_passed, 10'000'000u);
  EXPECT_EQ(sleeper->waits(), 152u) << "pieces of 65536: 153 of them, 152 waited for";
}

TEST_F(BandwidthLimiterTest, AFullBurstPassesAtOnceThenTheRateApplies) {
  BandwidthLimiter limiter(1000, 500, clock, sleeper);  // 1 byte per ms
  limiter.acquire(500);
  EXPECT_EQ(clock->now(), kStart);
  EXPECT_EQ(sleeper->waits(), 0u);
  limiter.acquire(1);
  EXPECT_EQ(clock->now(), kStart + 1000);
  clock->advance(10'000);  // 10 bytes earned
  limiter.acquire(10);
  EXPECT_EQ(clock->now(), kStart + 11'000) << "earned bytes pass without waiting";
  EXPECT_EQ(sleeper->waits(), 1u);
}

TEST_F(BandwidthLimiterTest, TryAcquireNeverWaits) {
  BandwidthLimiter limiter(1000, 100, clock, sleeper);
  EXPECT_TRUE(limiter.try_acquire(60));
  EXPECT_FALSE(limiter.try_acquire(41));
  EXPECT_TRUE(limiter.try_acquire(40));
  EXPECT_FALSE(limiter.try_acquire(1));
  clock->advance(999);
  EXPECT_FALSE(limiter.try_acquire(1)) << "1 µs short of a byte";
  clock->advance(1);
  EXPECT_TRUE(limiter.try_acquire(1));
  clock->advance(kMicrosPerHour);
  EXPECT_FALSE(limiter.try_acquire(101)) << "more than the burst never passes at once";
  EXPECT_TRUE(limiter.try_acquire(0));
  EXPECT_EQ(limiter.stats().bytes_passed, 101u);
  EXPECT_EQ(clock->now(), kStart + 1000 + kMicrosPerHour);
}

TEST_F(BandwidthLimiterTest, TimedAcquireWaitsOnlyIfTheWholeAmountFitsTheTimeout) {
  BandwidthLimiter limiter(1000, 100, clock, sleeper);
  ASSERT_TRUE(limiter.try_acquire(100));  // empty
  EXPECT_FALSE(limiter.acquire(50, 49'999)) << "needs 50 ms";
  EXPECT_EQ(clock->now(), kStart) << "gave up at once, without waiting";
  EXPECT_TRUE(limiter.acquire(50, 50'000));
  EXPECT_EQ(clock->now(), kStart + 50'000);
  // 250 bytes > burst: three pieces (100, 100, 50) reserved together.
  EXPECT_FALSE(limiter.acquire(250, 249'999));
  EXPECT_EQ(clock->now(), kStart + 50'000);
  EXPECT_TRUE(limiter.acquire(250, 250'000)) << "the refused attempt took nothing";
  EXPECT_EQ(clock->now(), kStart + 300'000);
  EXPECT_TRUE(limiter.acquire(0, 0));
  const BandwidthLimiter::Stats s = limiter.stats();
  EXPECT_EQ(s.bytes_passed, 400u);
  EXPECT_EQ(s.timeouts, 2u);
  EXPECT_EQ(s.waited, 300'000);
  EXPECT_THROW((void)limiter.acquire(1, -1), std::invalid_argument);
}

TEST_F(BandwidthLimiterTest, SetRateAppliesFromNowOn) {
  BandwidthLimiter limiter(1000, 1000, clock, sleeper);
  limiter.acquire(1000);
  clock->advance(500'000);  // 500 bytes earned at 1000/s
  limiter.set_rate(100);    // then 1 byte per 10 ms
  EXPECT_EQ(limiter.rate(), 100);
  limiter.acquire(501);
  EXPECT_EQ(clock->now(), kStart + 500'000 + 10'000);
  EXPECT_THROW(limiter.set_rate(0), std::invalid_argument);
  EXPECT_EQ(limiter.rate(), 100);
}

TEST_F(BandwidthLimiterTest, BadConfigurationThrowsNamingTheField) {
  const auto message = [&](double rate, double burst) -> std::string {
    try {
      BandwidthLimiter limiter(rate, burst, clock, sleeper);
    } catch (const std::invalid_argument& e) {
      return e.what();
    }
    return "accepted";
  };
  EXPECT_NE(message(0, 10).find("bytes_per_second"), std::string::npos);
  EXPECT_NE(message(-5, 10).find("got -5"), std::string::npos);
  EXPECT_NE(message(std::numeric_limits<double>::infinity(), 10).find("bytes_per_second"),
            std::string::npos);
  EXPECT_NE(message(10, 0.5).find("burst_bytes"), std::string::npos);
  EXPECT_NE(message(10, std::numeric_limits<double>::quiet_NaN()).find("burst_bytes"),
            std::string::npos);
  EXPECT_EQ(message(10, 1), "accepted");
  EXPECT_THROW(BandwidthLimiter(10, 10, clock, nullptr), std::invalid_argument);
  EXPECT_THROW(BandwidthLimiter(10, 10, nullptr, sleeper), std::invalid_argument);
}

}  // namespace
}  // namespace ratelimit
