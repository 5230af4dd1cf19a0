// LayeredLimiter instances sharing one limit through a real redis-server.

#include <gtest/gtest.h>

#include <atomic>
#include <memory>
#include <thread>
#include <vector>

#include "ratelimit/redis_store.hpp"
#include "ratelimit/resilience/layered_limiter.hpp"
#include "support/redis_harness.hpp"

namespace ratelimit {
namespace {

using testing::RedisServer;

TEST(LayeredLimiterRedis, InstancesOnOneRedisAdmitExactlyTheSharedLimit) {
  auto server = RedisServer::start();
  auto clock = std::make_shared<ManualClock>(1'700'000'000'000'000);
  const LimitSpec shared(Algorithm::gcra, 50, kMicrosPerMinute);

  // Three "instances": each its own store connection, local bucket and breaker.
  std::vector<std::unique_ptr<LayeredLimiter>> instances;
  for (int i = 0; i < 3; ++i) {
    RedisStoreOptions options = parse_redis_url(server->url());
    options.time_mode = RedisTimeMode::client;  // decisions on the manual clock
    LayeredLimiterConfig config;
    config.local = LocalLayerConfig{.rate = 1000, .burst = 1000};
    config.shared = shared;
    config.shared_key_prefix = "layered:";
    config.breaker = CircuitBreakerConfig{};
    instances.push_back(
        std::make_unique<LayeredLimiter>(config, std::make_shared<RedisStore>(options), clock));
  }

  std::atomic<int> admitted{0};
  std::atomic<int> shared_denied{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 6; ++t) {
    threads.emplace_back([&, t] {
      LayeredLimiter& limiter = *instances[static_cast<std::size_t>(t % 3)];
      for (int i = 0; i < 30; ++i) {
        try {
          limiter.acquire("tenant:1").success();
          ++admitted;
        } catch (const RateLimitExceeded& e) {
          if (e.scope() == "shared") ++shared_denied;
        }
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(admitted.load(), 50);
  EXPECT_EQ(shared_denied.load(), 180 - 50);
  std::uint64_t local_denied = 0;
  for (auto& limiter : instances) local_denied += limiter->stats().local_denied;
  EXPECT_EQ(local_denied, 0u);
}

}  // namespace
}  // namespace ratelimit
