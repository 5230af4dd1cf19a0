// SharedCircuitBreaker on a real redis-server: two instances, each with its own
// RedisAttributeStore (as two processes would have), share an open period;
// with Redis gone they keep deciding alone and count the errors.

#include <gtest/gtest.h>

#include <memory>
#include <string>

#include "ratelimit/redis_attribute_store.hpp"
#include "ratelimit/resilience/shared_circuit_breaker.hpp"
#include "support/redis_harness.hpp"

namespace ratelimit::testing {
namespace {

constexpr Micros kStart = 1'700'000'000'000'000;
constexpr Micros kWait = 30 * kMicrosPerSecond;
constexpr Micros kSync = 500 * kMicrosPerMilli;

std::shared_ptr<AttributeStore> store_for(const RedisServer& server) {
  RedisStoreOptions o = parse_redis_url(server.url());
  o.command_timeout_ms = 200;
  o.connect_timeout_ms = 200;
  o.key_prefix = "breaker-test:";
  return std::make_shared<RedisAttributeStore>(o);
}

CircuitBreakerConfig config() {
  CircuitBreakerConfig c;
  c.name = "inventory";
  c.window_size = 10;
  c.minimum_calls = 3;
  c.failure_rate_threshold = 0.5;
  c.wait_in_open = kWait;
  return c;
}

TEST(BreakerRedis, AnOpenPeriodIsSharedThroughRedis) {
  auto server = RedisServer::start();
  auto clock = std::make_shared<ManualClock>(kStart);
  SharedBreakerOptions o;
  o.sync_interval = kSync;
  SharedCircuitBreaker a(config(), store_for(*server), o, clock);
  SharedCircuitBreaker b(config(), store_for(*server), o, clock);
  ASSERT_TRUE(a.try_acquire());
  ASSERT_TRUE(b.try_acquire());

  clock->advance(1000);
  for (int i = 0; i < 3; ++i) a.on_failure();
  ASSERT_EQ(a.state(), BreakerState::open);
  EXPECT_EQ(a.shared_stats().published, 1u);
  EXPECT_EQ(a.shared_stats().store_errors, 0u);
  // The record is in Redis, in the attribute hash.
  EXPECT_NE(server->command({"HGET", "breaker-test:{attrs}", "breaker:inventory"}), "(nil)");

  clock->set(kStart + kSync - 1);
  EXPECT_TRUE(b.try_acquire());
  b.on_success();
  clock->set(kStart + kSync);
  EXPECT_FALSE(b.try_acquire());
  EXPECT_EQ(b.state(), BreakerState::open);
  EXPECT_EQ(b.breaker().retry_after(), kStart + 1000 + kWait - clock->now());
  EXPECT_EQ(b.shared_stats().remote_opens, 1u);
  EXPECT_EQ(b.shared_stats().store_errors, 0u);
}

TEST(BreakerRedis, RedisDownMeansLocalDecisionsAndCountedErrors) {
  auto server = RedisServer::start();
  auto clock = std::make_shared<ManualClock>(kStart);
  SharedBreakerOptions o;
  o.sync_interval = kSync;
  SharedCircuitBreaker a(config(), store_for(*server), o, clock);
  ASSERT_TRUE(a.try_acquire());
  server->kill();
  clock->advance(kSync);
  EXPECT_TRUE(a.try_acquire()) << "a failed sync does not refuse calls";
  EXPECT_EQ(a.shared_stats().store_errors, 1u);
  for (int i = 0; i < 3; ++i) a.on_failure();
  EXPECT_EQ(a.state(), BreakerState::open) << "it still opens on its own evidence";
  EXPECT_EQ(a.shared_stats().store_errors, 2u) << "the failed publication";
  EXPECT_EQ(a.shared_stats().published, 0u);
}

}  // namespace
}  // namespace ratelimit::testing
