#include "ratelimit/decision.hpp"

#include <gtest/gtest.h>

#include <vector>

namespace ratelimit {
namespace {

Decision allowed(std::int64_t remaining, Micros reset, Micros delay = 0) {
  Decision d;
  d.allowed = true;
  d.limit = 100;
  d.remaining = remaining;
  d.reset_after = reset;
  d.delay = delay;
  return d;
}
Decision denied(Micros retry) {
  Decision d;
  d.limit = 10;
  d.retry_after = retry;
  return d;
}

TEST(Combine, AllowedTakesSmallestRemainingThenLongestReset) {
  const std::vector<Decision> each{allowed(5, 100), allowed(3, 50), allowed(3, 70)};
  const Decision c = combine(each);
  EXPECT_TRUE(c.allowed);
  EXPECT_EQ(c.remaining, 3);
  EXPECT_EQ(c.reset_after, 70);
  EXPECT_EQ(c.check_index, 2u);
}

TEST(Combine, DeniedTakesLargestRetryAmongDenials) {
  const std::vector<Decision> each{allowed(0, 900), denied(30), denied(kInfinite), denied(40)};
  const Decision c = combine(each);
  EXPECT_FALSE(c.allowed);
  EXPECT_TRUE(c.never_admissible());
  EXPECT_EQ(c.check_index, 2u);
}

TEST(Combine, DelayIsTheLongestQueueWhenAllowed) {
  const std::vector<Decision> each{allowed(5, 100, 40), allowed(3, 50, 10)};
  const Decision c = combine(each);
  EXPECT_EQ(c.check_index, 1u);
  EXPECT_EQ(c.delay, 40);
}

TEST(Combine, SingleDecisionIsItself) {
  const std::vector<Decision> each{denied(7)};
  EXPECT_EQ(combine(each), each[0]);
}

}  // namespace
}  // namespace ratelimit
