// GuardedStore around a real RedisStore while Redis dies or hangs: every
// failure mode answers as configured, the breaker opens after consecutive
// failures so a dead Redis costs microseconds, a half-open probe brings
// decisions back to Redis. The breaker's time is a manual clock; socket
// timeouts are real.

#include <gtest/gtest.h>

#include <array>
#include <chrono>

#include "ratelimit/guarded_store.hpp"
#include "ratelimit/redis_store.hpp"
#include "support/redis_harness.hpp"

namespace ratelimit {
namespace {

using testing::RedisServer;
using Steady = std::chrono::steady_clock;

constexpr Micros kT0 = 1'800'000'000'000'000;
constexpr int kTimeoutMs = 50;

struct Fixture {
  explicit Fixture(FailureMode mode, double share = 1.0) : server(RedisServer::start()), clock(kT0) {
    RedisStoreOptions o = parse_redis_url(server->url());
    o.time_mode = RedisTimeMode::client;
    o.command_timeout_ms = kTimeoutMs;
    o.connect_timeout_ms = kTimeoutMs;
    o.pool_size = 1;
    GuardedStoreOptions g;
    g.failure_mode = mode;
    g.local_share = share;
    g.breaker_failures = 3;
    g.breaker_open = kMicrosPerSecond;
    auto redis = std::make_unique<RedisStore>(o);
    redis_store = redis.get();
    store = std::make_unique<GuardedStore>(std::move(redis), g, clock);
  }
  Decision decide(const Check& c, std::int64_t cost = 1) { return store->decide_one(c, cost, clock.now()); }

  std::unique_ptr<RedisServer> server;
  ManualClock clock;
  RedisStore* redis_store = nullptr;
  std::unique_ptr<GuardedStore> store;
};

const LimitSpec kSpec(Algorithm::token_bucket, 100, kMicrosPerMinute);

TEST(RedisFailure, FailOpenAdmitsDegradedAndTheBreakerOpensAfterThreeFailures) {
  Fixture f(FailureMode::fail_open);
  const Check c{&kSpec, "k"};
  EXPECT_FALSE(f.decide(c).degraded);
  f.server->kill();
  for (int i = 0; i < 3; ++i) {
    const Decision d = f.decide(c);
    EXPECT_TRUE(d.allowed);
    EXPECT_TRUE(d.degraded);
    EXPECT_EQ(d.limit, 100);
  }
  EXPECT_EQ(f.store->breaker_state(), BreakerState::open);
  const auto redis_errors = f.redis_store->redis_stats().errors;
  EXPECT_TRUE(f.decide(c).degraded);
  EXPECT_EQ(f.redis_store->redis_stats().errors, redis_errors) << "an open breaker must not try Redis";
  const GuardedStoreStats s = f.store->guard_stats();
  EXPECT_EQ(s.errors, 3u);
  EXPECT_EQ(s.fallbacks, 4u);
  EXPECT_EQ(s.short_circuited, 1u);
  EXPECT_EQ(s.breaker_opened, 1u);
}

TEST(RedisFailure, FailClosedDeniesUntilTheBreakerTriesAgain) {
  Fixture f(FailureMode::fail_closed);
  const Check c{&kSpec, "k"};
  f.server->kill();
  for (int i = 0; i < 3; ++i) EXPECT_FALSE(f.decide(c).allowed);
  f.clock.advance(250 * kMicrosPerMilli);
  const Decision d = f.decide(c);
  EXPECT_FALSE(d.allowed);
  EXPECT_TRUE(d.degraded);
  EXPECT_EQ(d.retry_after, 750 * kMicrosPerMilli);  // when the half-open probe may run
}

TEST(RedisFailure, LocalModeEnforcesThisInstancesShare) {
  Fixture f(FailureMode::local, 0.25);
  const Check c{&kSpec, "k"};
  f.server->kill();
  int admitted = 0;
  for (int i = 0; i < 40; ++i) {
    const Decision d = f.decide(c);
    EXPECT_TRUE(d.degraded);
    admitted += d.allowed ? 1 : 0;
  }
  EXPECT_EQ(admitted, 25);  // 100 * 0.25
}

// The local store keeps each check's own cost (Check::cost); only limits are
// scaled to this instance's share.
TEST(RedisFailure, LocalModeChargesEachCheckItsOwnCost) {
  Fixture f(FailureMode::local, 0.5);
  f.server->kill();
  const std::array checks{Check{&kSpec, "budget"}, Check{&kSpec, "per-ip", 1}};
  std::array<Decision, 2> each;
  const Decision d = f.store->decide(checks, 10, f.clock.now(), each);
  EXPECT_TRUE(d.allowed);
  EXPECT_TRUE(d.degraded);
  EXPECT_EQ(each[0].remaining, 40);  // 50 locally, charged 10
  EXPECT_EQ(each[1].remaining, 49);  // 50 locally, charged 1
  const Check too_much{&kSpec, "per-ip", 51};
  EXPECT_EQ(f.store->decide_one(too_much, 1, f.clock.now()).retry_after, kInfinite);
  (void)f.store->peek(checks, f.clock.now(), each);
  EXPECT_EQ(each[0].remaining, 40);
  EXPECT_EQ(each[1].remaining, 49);
}

TEST(RedisFailure, HalfOpenProbeReturnsDecisionsToRedis) {
  Fixture f(FailureMode::fail_open);
  const Check c{&kSpec, "k"};
  f.server->kill();
  for (int i = 0; i < 3; ++i) (void)f.decide(c);
  ASSERT_EQ(f.store->breaker_state(), BreakerState::open);
  // Still down at the probe: open again, for another full period.
  f.clock.advance(kMicrosPerSecond);
  EXPECT_TRUE(f.decide(c).degraded);
  EXPECT_EQ(f.store->breaker_state(), BreakerState::open);
  f.clock.advance(kMicrosPerSecond / 2);
  EXPECT_TRUE(f.decide(c).degraded);
  EXPECT_EQ(f.store->guard_stats().short_circuited, 1u);

  f.server->restart();
  f.clock.advance(kMicrosPerSecond / 2);
  const Decision back = f.decide(c);
  EXPECT_FALSE(back.degraded);
  EXPECT_EQ(back.remaining, 99);  // a fresh Redis: the first request of this key
  EXPECT_EQ(f.store->breaker_state(), BreakerState::closed);
  const GuardedStoreStats s = f.store->guard_stats();
  EXPECT_EQ(s.breaker_opened, 2u);
  EXPECT_EQ(s.breaker_half_opened, 2u);
  EXPECT_EQ(s.breaker_closed, 1u);
}

TEST(RedisFailure, AStoppedRedisCostsATimeoutOnlyUntilTheBreakerOpens) {
  Fixture f(FailureMode::fail_open);
  const Check c{&kSpec, "k"};
  EXPECT_FALSE(f.decide(c).degraded);  // connected
  f.server->pause();                   // SIGSTOP: connections hang, nothing answers
  for (int i = 0; i < 3; ++i) {
    const auto start = Steady::now();
    EXPECT_TRUE(f.decide(c).degraded);
    const auto waited = Steady::now() - start;
    // Each failure is bounded by the configured timeout (a reconnect adds a connect timeout).
    EXPECT_LE(waited, std::chrono::milliseconds(2 * kTimeoutMs + 5));
  }
  EXPECT_EQ(f.store->guard_stats().timeouts, 3u);
  ASSERT_EQ(f.store->breaker_state(), BreakerState::open);
  auto slowest = Steady::duration::zero();
  for (int i = 0; i < 1000; ++i) {
    const auto start = Steady::now();
    EXPECT_TRUE(f.decide(c).degraded);
    slowest = std::max(slowest, Steady::now() - start);
  }
  EXPECT_LE(slowest, std::chrono::milliseconds(kTimeoutMs + 5));
  f.server->resume();
  f.clock.advance(kMicrosPerSecond);
  EXPECT_FALSE(f.decide(c).degraded);
  EXPECT_EQ(f.store->breaker_state(), BreakerState::closed);
}

TEST(RedisFailure, BadInputDoesNotCountAsAFailure) {
  Fixture f(FailureMode::fail_closed);
  for (int i = 0; i < 5; ++i) EXPECT_THROW((void)f.decide(Check{&kSpec, ""}), InvalidRequest);
  EXPECT_EQ(f.store->breaker_state(), BreakerState::closed);
  EXPECT_EQ(f.store->guard_stats().fallbacks, 0u);
}

}  // namespace
}  // namespace ratelimit
