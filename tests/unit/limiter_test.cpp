#include "ratelimit/limiter.hpp"

#include <gtest/gtest.h>

#include "ratelimit/memory_store.hpp"

namespace ratelimit {
namespace {

TEST(Limiter, GuideExampleTenTokensAtOnePerSecond) {
  auto clock = std::make_shared<ManualClock>(1'700'000'000'000'000);
  Limiter limiter(LimitSpec(Algorithm::token_bucket, 10, 10 * kMicrosPerSecond), std::make_shared<MemoryStore>(), clock);
  Decision d;
  for (int i = 0; i < 5; ++i) d = limiter.try_acquire("user:1");
  EXPECT_EQ(d.remaining, 5);
  clock->advance(3 * kMicrosPerSecond);
  d = limiter.try_acquire("user:1");
  EXPECT_TRUE(d.allowed);
  EXPECT_EQ(d.remaining, 7);
  EXPECT_EQ(limiter.peek("user:1").remaining, 7);
  limiter.reset("user:1");
  EXPECT_EQ(limiter.peek("user:1").remaining, 10);
}

TEST(Limiter, UsesTheSystemClockByDefault) {
  Limiter limiter(LimitSpec(Algorithm::fixed_window, 1, kMicrosPerHour), std::make_shared<MemoryStore>());
  EXPECT_TRUE(limiter.try_acquire("k").allowed);
  const Decision d = limiter.try_acquire("k");
  EXPECT_FALSE(d.allowed);
  EXPECT_GT(d.retry_after, 0);
  EXPECT_LE(d.retry_after, kMicrosPerHour);
}

TEST(Limiter, RejectsNullStore) {
  EXPECT_THROW(Limiter(LimitSpec(Algorithm::gcra, 1, 1000), nullptr), std::invalid_argument);
}

}  // namespace
}  // namespace ratelimit
