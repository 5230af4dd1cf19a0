// Hand-checked cases for each step function; the conformance vectors and
// property tests cover random sequences.
#include "ratelimit/algorithms.hpp"

#include <gtest/gtest.h>

namespace ratelimit {
namespace {

constexpr Micros kT0 = 1'700'000'000'000'000;

TEST(TokenBucket, GuideExampleHundredPerMinute) {
  const LimitSpec spec(Algorithm::token_bucket, 100, kMicrosPerMinute);
  auto s = algo::token_bucket::fresh(kT0);
  Decision d;
  for (int i = 0; i < 10; ++i) {
    auto r = algo::token_bucket::step(spec, s, kT0, 1);
    d = r.decision;
    s = r.next;
  }
  EXPECT_TRUE(d.allowed);
  EXPECT_EQ(d.remaining, 90);
  EXPECT_EQ(d.reset_after, 6'000'000);  // 10 tokens at 0.6 s each
  auto r = algo::token_bucket::step(spec, s, kT0 + 5 * kMicrosPerSecond, 1);
  EXPECT_EQ(r.decision.remaining, 97);  // 90 + 8.33 refilled, minus 1
}

TEST(TokenBucket, DeniesWithExactRetryAndInfiniteWhenCostExceedsBurst) {
  const LimitSpec spec(Algorithm::token_bucket, 10, kMicrosPerSecond, 2);
  auto s = algo::token_bucket::fresh(kT0);
  s = algo::token_bucket::step(spec, s, kT0, 2).next;
  auto r = algo::token_bucket::step(spec, s, kT0 + 30'000, 1);  // 0.3 tokens back
  EXPECT_FALSE(r.decision.allowed);
  EXPECT_EQ(r.decision.remaining, 0);
  EXPECT_EQ(r.decision.retry_after, 70'000);
  EXPECT_EQ(r.decision.reset_after, 170'000);
  auto big = algo::token_bucket::step(spec, s, kT0, 3);
  EXPECT_FALSE(big.decision.allowed);
  EXPECT_EQ(big.decision.retry_after, kInfinite);
}

TEST(TokenBucket, PeekChangesNothingAndClockBackMintsNothing) {
  const LimitSpec spec(Algorithm::token_bucket, 10, kMicrosPerSecond);
  auto s = algo::token_bucket::step(spec, algo::token_bucket::fresh(kT0), kT0, 10).next;
  auto peek = algo::token_bucket::step(spec, s, kT0 + 100'000, 0);
  EXPECT_TRUE(peek.decision.allowed);
  EXPECT_EQ(peek.decision.remaining, 1);
  // Time goes back 10 s: no elapsed time, `last` stays.
  auto back = algo::token_bucket::step(spec, s, kT0 - 10 * kMicrosPerSecond, 1);
  EXPECT_FALSE(back.decision.allowed);
  EXPECT_EQ(back.next.last, kT0);
}

TEST(Gcra, MatchesTokenBucketOnTheGuideExample) {
  const LimitSpec spec(Algorithm::gcra, 10, kMicrosPerSecond);
  auto s = algo::gcra::fresh(kT0);
  Decision d;
  for (int i = 0; i < 5; ++i) {
    auto r = algo::gcra::step(spec, s, kT0, 1);
    d = r.decision;
    s = r.next;
  }
  EXPECT_EQ(d.remaining, 5);
  auto r = algo::gcra::step(spec, s, kT0 + 3 * kMicrosPerSecond, 1);
  EXPECT_EQ(r.decision.remaining, 9);  // fully refilled after 0.5 s, minus 1
  EXPECT_EQ(r.decision.reset_after, 100'000);
}

TEST(Gcra, ClockBackKeepsAnchorMonotone) {
  const LimitSpec spec(Algorithm::gcra, 1, kMicrosPerSecond, 5);
  auto s = algo::gcra::step(spec, algo::gcra::fresh(kT0), kT0, 1).next;
  auto r = algo::gcra::step(spec, s, kT0 - 500'000, 1);
  EXPECT_TRUE(r.decision.allowed);
  EXPECT_EQ(r.next.anchor, kT0);
  EXPECT_EQ(algo::gcra::expires_at(r.next), kT0 + 2'000'000);  // tat was t0+1s; one more interval
}

TEST(LeakyBucket, ShapeModeDelaysBehindTheQueue) {
  const LimitSpec spec(Algorithm::leaky_bucket, 2, kMicrosPerSecond, 4, LeakyMode::shape);
  auto s = algo::leaky_bucket::fresh(kT0);
  Micros delays[4];
  for (auto& delay : delays) {
    auto r = algo::leaky_bucket::step(spec, s, kT0, 1);
    ASSERT_TRUE(r.decision.allowed);
    delay = r.decision.delay;
    s = r.next;
  }
  EXPECT_EQ(delays[0], 0);
  EXPECT_EQ(delays[1], 500'000);
  EXPECT_EQ(delays[3], 1'500'000);
  auto full = algo::leaky_bucket::step(spec, s, kT0 + 100'000, 1);
  EXPECT_FALSE(full.decision.allowed);
  EXPECT_EQ(full.decision.retry_after, 400'000);
}

TEST(LeakyBucket, PoliceModeNeverDelays) {
  const LimitSpec spec(Algorithm::leaky_bucket, 2, kMicrosPerSecond, 4);
  auto s = algo::leaky_bucket::step(spec, algo::leaky_bucket::fresh(kT0), kT0, 3).next;
  auto r = algo::leaky_bucket::step(spec, s, kT0, 1);
  EXPECT_TRUE(r.decision.allowed);
  EXPECT_EQ(r.decision.delay, 0);
  EXPECT_EQ(r.decision.remaining, 0);
}

TEST(FixedWindow, CountsPerAlignedWindowAndDoesNotCountDenials) {
  const LimitSpec spec(Algorithm::fixed_window, 3, kMicrosPerSecond);
  const Micros start = 100 * kMicrosPerSecond + 250'000;
  auto s = algo::fixed_window::fresh(spec, start);
  s = algo::fixed_window::step(spec, s, start, 3).next;
  auto denied = algo::fixed_window::step(spec, s, start + 1, 1);
  EXPECT_FALSE(denied.decision.allowed);
  EXPECT_EQ(denied.decision.retry_after, 749'999);
  EXPECT_EQ(denied.next.count, 3);
  auto next_window = algo::fixed_window::step(spec, s, 101 * kMicrosPerSecond, 1);
  EXPECT_TRUE(next_window.decision.allowed);
  EXPECT_EQ(next_window.decision.remaining, 2);
  // Back into the previous window: stays in the newer one.
  auto back = algo::fixed_window::step(spec, next_window.next, start, 3);
  EXPECT_FALSE(back.decision.allowed);
  EXPECT_EQ(back.next.count, 1);
}

TEST(SlidingWindow, WeighsThePreviousWindow) {
  const LimitSpec spec(Algorithm::sliding_window, 10, kMicrosPerSecond);
  const Micros w0 = 50 * kMicrosPerSecond;
  auto s = algo::sliding_window::fresh(spec, w0);
  s = algo::sliding_window::step(spec, s, w0 + 100, 10).next;
  // 25% into the next window: estimate = 10 * 0.75 = 7.5, room for 2.
  auto r = algo::sliding_window::step(spec, s, w0 + 1'250'000, 2);
  EXPECT_TRUE(r.decision.allowed);
  EXPECT_EQ(r.decision.remaining, 0);  // 10 - 9.5
  auto d = algo::sliding_window::step(spec, r.next, w0 + 1'250'000, 1);
  EXPECT_FALSE(d.decision.allowed);
  // room = 10 - 1 - 2 = 7; prev=10: t = 2 s - 0.7 s = 1.3 s into the epoch window.
  EXPECT_EQ(d.decision.retry_after, 50'000);
}

TEST(SlidingLog, ExactWindowAndRetryFromOldestEntries) {
  const LimitSpec spec(Algorithm::sliding_log, 3, kMicrosPerSecond);
  algo::sliding_log::State s;
  EXPECT_TRUE(algo::sliding_log::step(spec, s, kT0, 1).allowed);
  EXPECT_TRUE(algo::sliding_log::step(spec, s, kT0 + 100, 2).allowed);
  auto d = algo::sliding_log::step(spec, s, kT0 + 200, 2);
  EXPECT_FALSE(d.allowed);
  EXPECT_EQ(d.retry_after, kMicrosPerSecond + 100 - 200);  // needs both entries gone
  auto one = algo::sliding_log::step(spec, s, kT0 + kMicrosPerSecond, 1);  // first entry expired
  EXPECT_TRUE(one.allowed);
  EXPECT_EQ(one.remaining, 0);
  EXPECT_EQ(s.size(), 2u);
  auto never = algo::sliding_log::step(spec, s, kT0, 4);
  EXPECT_EQ(never.retry_after, kInfinite);
}

TEST(SlidingLog, EvaluateDoesNotRecord) {
  const LimitSpec spec(Algorithm::sliding_log, 3, kMicrosPerSecond);
  algo::sliding_log::State s;
  auto d = algo::sliding_log::evaluate(spec, s, kT0, 2);
  EXPECT_TRUE(d.allowed);
  EXPECT_EQ(d.remaining, 1);
  EXPECT_EQ(d.reset_after, kMicrosPerSecond);
  EXPECT_TRUE(s.empty());
  algo::sliding_log::commit(s, kT0, 2);
  EXPECT_EQ(s.used(), 2);
}

}  // namespace
}  // namespace ratelimit
