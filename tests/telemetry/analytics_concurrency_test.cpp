// Analytics under threads (label "concurrency", run under TSan): decisions
// recorded from several threads while the clock moves and queries run are
// all counted, exactly.

#include <gtest/gtest.h>

#include <atomic>
#include <string>
#include <thread>
#include <vector>

#include "ratelimit/telemetry/analytics.hpp"
#include "ratelimit/time.hpp"

namespace {

using ratelimit::kMicrosPerMinute;
using ratelimit::kMicrosPerSecond;
using ratelimit::ManualClock;
using ratelimit::Micros;
using namespace ratelimit::telemetry;

constexpr Micros kStart = Micros{1'767'225'600} * kMicrosPerSecond;

TEST(AnalyticsConcurrency, EveryDecisionIsCounted) {
  constexpr int kThreads = 4;
  constexpr int kPerThread = 20'000;
  ManualClock clock(kStart);
  Analytics analytics;
  std::atomic<bool> done{false};
  std::vector<std::thread> writers;
  for (int t = 0; t < kThreads; ++t) {
    writers.emplace_back([&, t] {
      const std::string scope = "scope-" + std::to_string(t);
      const std::string who = "id-" + std::to_string(t);
      for (int i = 0; i < kPerThread; ++i) {
        analytics.record({.at = clock.now(),
                          .allowed = i % 4 != 0,
                          .scope = scope,
                          .tier = "free",
                          .identifier = who,
                          .latency = 10});
      }
    });
  }
  // The clock moves over several minutes while a reader queries.
  std::thread mover([&] {
    for (int i = 0; i < 6 && !done.load(); ++i) {
      clock.advance(30 * kMicrosPerSecond);
      (void)analytics.stats(Range::hour, clock.now());
      std::this_thread::yield();
    }
  });
  for (auto& w : writers) w.join();
  done = true;
  mover.join();

  const Stats s = analytics.stats(Range::hour, clock.now() + kMicrosPerMinute);
  EXPECT_EQ(s.total(), std::uint64_t{kThreads} * kPerThread);
  EXPECT_EQ(s.blocked, std::uint64_t{kThreads} * kPerThread / 4);
  EXPECT_EQ(s.lifetime_allowed + s.lifetime_blocked, s.total());
  EXPECT_EQ(s.latency_samples, s.total());
  for (int t = 0; t < kThreads; ++t) {
    const auto& c = s.by_scope.at("scope-" + std::to_string(t));
    EXPECT_EQ(c.total(), std::uint64_t{kPerThread});
  }
  EXPECT_EQ(s.by_tier.at("free").total(), s.total());
  // Four identifiers: the summary is exact.
  ASSERT_EQ(s.top_limited.size(), 4U);
  for (const auto& id : s.top_limited) EXPECT_EQ(id.blocked, std::uint64_t{kPerThread} / 4);
}

}  // namespace
