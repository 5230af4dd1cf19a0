#include "ratelimit/resilience/layered_limiter.hpp"

#include <gtest/gtest.h>

#include <memory>
#include <stdexcept>
#include <string>

#include "ratelimit/memory_store.hpp"

namespace ratelimit {
namespace {

struct LayeredLimiterTest : ::testing::Test {
  std::shared_ptr<ManualClock> clock = std::make_shared<ManualClock>(1'000'000);
  std::shared_ptr<MemoryStore> store = std::make_shared<MemoryStore>();
  // 10 per second, shared by every instance on `store`.
  LimitSpec shared_spec{Algorithm::token_bucket, 10, kMicrosPerSecond};

  static CircuitBreakerConfig breaker_config() {
    CircuitBreakerConfig c;
    c.window_size = 4;
    c.minimum_calls = 4;
    c.failure_rate_threshold = 0.5;
    c.wait_in_open = 5 * kMicrosPerSecond;
    c.permitted_calls_in_half_open = 1;
    c.successes_to_close = 1;
    return c;
  }

  // Remaining units of the shared limit for `key`, without charging.
  std::int64_t shared_remaining(const std::string& key) {
    return store->decide_one(Check{&shared_spec, key}, 0, clock->now()).remaining;
  }
};

TEST_F(LayeredLimiterTest, LocalLayerRefusesFirstWithItsOwnRetryAfterAndChargesNothingShared) {
  LayeredLimiterConfig config;
  config.local = LocalLayerConfig{.rate = 2, .burst = 2};
  config.shared = shared_spec;
  LayeredLimiter limiter(config, store, clock);

  limiter.acquire("user:1").success();
  limiter.acquire("user:1").success();
  try {
    (void)limiter.acquire("user:1");
    FAIL() << "the local bucket is empty";
  } catch (const RateLimitExceeded& e) {
    EXPECT_EQ(e.scope(), "local");
    EXPECT_EQ(e.retry_after(), 500'000);  // 2/s: one unit per 500 ms
  }
  EXPECT_EQ(shared_remaining("user:1"), 8);  // the refused call never reached the store
  EXPECT_EQ(limiter.stats().local_denied, 1u);
  clock->advance(500'000);
  limiter.acquire("user:1").success();
}

TEST_F(LayeredLimiterTest, SharedLayerIsOneLimitForEveryInstanceAndRefundsTheLocalUnits) {
  LayeredLimiterConfig config;
  config.local = LocalLayerConfig{.rate = 100, .burst = 100};
  config.shared = shared_spec;
  LayeredLimiter a(config, store, clock);
  LayeredLimiter b(config, store, clock);

  for (int i = 0; i < 5; ++i) a.acquire("k").success();
  for (int i = 0; i < 5; ++i) b.acquire("k").success();
  const double local_before = b.local_bucket()->available();
  try {
    (void)b.acquire("k");
    FAIL() << "the shared limit of 10 is used up by a and b together";
  } catch (const RateLimitExceeded& e) {
    EXPECT_EQ(e.scope(), "shared");
    EXPECT_EQ(e.retry_after(), 100'000);  // 10/s
  }
  EXPECT_DOUBLE_EQ(b.local_bucket()->available(), local_before);  // local units given back
  EXPECT_EQ(b.stats().shared_denied, 1u);
  // Another key has its own shared limit.
  b.acquire("other").success();
}

TEST_F(LayeredLimiterTest, SharedKeysCarryThePrefix) {
  LayeredLimiterConfig config;
  config.shared = shared_spec;
  config.shared_key_prefix = "api:";
  LayeredLimiter limiter(config, store, clock);
  limiter.acquire("user:7").success();
  EXPECT_EQ(shared_remaining("api:user:7"), 9);
  EXPECT_EQ(shared_remaining("user:7"), 10);
}

TEST_F(LayeredLimiterTest, BreakerOpensOnFailuresAndRefusesBeforeChargingAnything) {
  LayeredLimiterConfig config;
  config.name = "payments";
  config.shared = shared_spec;
  config.breaker = breaker_config();
  LayeredLimiter limiter(config, store, clock);

  limiter.acquire("k").success();
  limiter.acquire("k").success();
  limiter.acquire("k").failure();
  EXPECT_EQ(limiter.stats().breaker_state, BreakerState::closed);
  limiter.acquire("k").failure();  // 2 of 4 failed: 50 %
  EXPECT_EQ(limiter.stats().breaker_state, BreakerState::open);
  EXPECT_EQ(shared_remaining("k"), 6);
  EXPECT_THROW((void)limiter.acquire("k"), CircuitOpen);
  EXPECT_EQ(shared_remaining("k"), 6);  // the refused call charged nothing

  clock->advance(2 * kMicrosPerSecond);
  try {
    (void)limiter.acquire("k");
    FAIL() << "open";
  } catch (const CircuitOpen& e) {
    EXPECT_EQ(e.breaker(), "payments");
    EXPECT_EQ(e.retry_after(), 3 * kMicrosPerSecond);
  }

  clock->advance(3 * kMicrosPerSecond - 1);
  EXPECT_THROW((void)limiter.acquire("k"), CircuitOpen);
  clock->advance(1);  // the wait has elapsed: one probe
  LayeredPermit probe = limiter.acquire("k");
  EXPECT_EQ(limiter.stats().breaker_state, BreakerState::half_open);
  probe.success();
  EXPECT_EQ(limiter.stats().breaker_state, BreakerState::closed);
  EXPECT_EQ(limiter.stats().circuit_refused, 3u);
}

TEST_F(LayeredLimiterTest, HalfOpenLetsOnlyItsProbesThroughAndADroppedPermitGivesTheProbeBack) {
  LayeredLimiterConfig config;
  config.local = LocalLayerConfig{.rate = 100, .burst = 100};
  config.breaker = breaker_config();
  LayeredLimiter limiter(config, nullptr, clock);
  limiter.breaker()->open_until(clock->now() + 1);
  clock->advance(1);
  {
    LayeredPermit probe = limiter.acquire("k");
    const double before = limiter.local_bucket()->available();
    EXPECT_THROW((void)limiter.acquire("k"), CircuitOpen);          // the only probe is out
    EXPECT_DOUBLE_EQ(limiter.local_bucket()->available(), before);  // local units refunded
  }  // dropped without an outcome: the probe is free again
  limiter.acquire("k").success();
  EXPECT_EQ(limiter.stats().breaker_state, BreakerState::closed);
}

TEST_F(LayeredLimiterTest, SharedDenialsAndBackendThrottlesSlowTheLocalRate) {
  LayeredLimiterConfig config;
  config.local = LocalLayerConfig{.rate = 0, .burst = 5};  // rate comes from adaptive
  config.shared = shared_spec;
  config.adaptive = AimdConfig{.initial_rate = 40,
                               .min_rate = 1,
                               .max_rate = 100,
                               .successes_to_increase = 1,
                               .increase_step = 1,
                               .increase_ratio = 0,
                               .decrease_factor = 0.5,
                               .decrease_cooldown = 0};  // every throttle counts here
  LayeredLimiter limiter(config, store, clock);
  EXPECT_DOUBLE_EQ(limiter.local_bucket()->rate(), 40);

  limiter.acquire("k").success();  // +1
  EXPECT_DOUBLE_EQ(limiter.local_bucket()->rate(), 41);
  limiter.acquire("k").throttled();  // the backend said 429: x0.5
  EXPECT_DOUBLE_EQ(limiter.local_bucket()->rate(), 20.5);

  // Use up the shared limit through another instance; the next shared
  // denial halves this instance's rate.
  LayeredLimiterConfig other;
  other.shared = shared_spec;
  LayeredLimiter b(other, store, clock);
  for (int i = 0; i < 8; ++i) b.acquire("k").success();
  EXPECT_THROW((void)limiter.acquire("k"), RateLimitExceeded);
  EXPECT_DOUBLE_EQ(limiter.local_bucket()->rate(), 10.25);
  EXPECT_EQ(limiter.stats().throttled, 1u);
  EXPECT_EQ(limiter.stats().shared_denied, 1u);
}

TEST_F(LayeredLimiterTest, CallReportsReturnsThrottlesAndFailures) {
  LayeredLimiterConfig config;
  config.local = LocalLayerConfig{.rate = 100, .burst = 100};
  config.breaker = breaker_config();
  config.breaker->is_failure = [](const std::exception& e) {
    return dynamic_cast<const std::invalid_argument*>(&e) ==
           nullptr;  // bad input is the caller's fault
  };
  LayeredLimiter limiter(config, nullptr, clock);

  EXPECT_EQ(limiter.call("k", [] { return 7; }), 7);
  limiter.call("k", [] {});
  EXPECT_THROW(limiter.call("k", []() -> int { throw RateLimitExceeded(1000, "backend"); }),
               RateLimitExceeded);
  EXPECT_THROW(limiter.call("k", [] { throw std::invalid_argument("bad"); }),
               std::invalid_argument);
  EXPECT_THROW(limiter.call("k", [] { throw std::runtime_error("down"); }), std::runtime_error);
  const auto s = limiter.stats();
  EXPECT_EQ(s.admitted, 5u);
  EXPECT_EQ(s.successes, 2u);
  EXPECT_EQ(s.throttled, 1u);
  EXPECT_EQ(s.failures, 1u);
  EXPECT_EQ(limiter.breaker()->stats().failures, 1u);
  EXPECT_EQ(limiter.breaker()->stats().successes, 2u);
}

TEST_F(LayeredLimiterTest, SlowCallsAreTimedOnTheLimitersClock) {
  LayeredLimiterConfig config;
  config.local = LocalLayerConfig{.rate = 100, .burst = 100};
  config.breaker = breaker_config();
  config.breaker->slow_call_duration = 100'000;
  config.breaker->slow_call_rate_threshold = 0.5;
  LayeredLimiter limiter(config, nullptr, clock);
  for (int i = 0; i < 4; ++i) {
    limiter.call("k", [&] { clock->advance(i < 2 ? 100'000 : 99'999); });
  }
  EXPECT_EQ(limiter.breaker()->stats().slow_calls, 2u);
  EXPECT_EQ(limiter.stats().breaker_state, BreakerState::open);
}

TEST_F(LayeredLimiterTest, BadConfigsAndInputsAreRejectedWithTheirLayerNamed) {
  auto message = [&](LayeredLimiterConfig config, std::shared_ptr<Store> s) -> std::string {
    try {
      LayeredLimiter limiter(std::move(config), std::move(s), clock);
    } catch (const std::invalid_argument& e) {
      return e.what();
    }
    return "";
  };
  EXPECT_NE(message(LayeredLimiterConfig{}, store).find("at least one"), std::string::npos);
  LayeredLimiterConfig shared_only;
  shared_only.shared = shared_spec;
  EXPECT_NE(message(shared_only, nullptr).find("needs a store"), std::string::npos);
  LayeredLimiterConfig bad_local;
  bad_local.local = LocalLayerConfig{.rate = -1, .burst = 1};
  EXPECT_NE(message(bad_local, nullptr).find("local layer"), std::string::npos);
  LayeredLimiterConfig bad_breaker;
  bad_breaker.local = LocalLayerConfig{};
  bad_breaker.breaker = CircuitBreakerConfig{};
  bad_breaker.breaker->minimum_calls = 0;
  EXPECT_NE(message(bad_breaker, nullptr).find("breaker layer"), std::string::npos);
  LayeredLimiterConfig adaptive_alone;
  adaptive_alone.shared = shared_spec;
  adaptive_alone.adaptive = AimdConfig{};
  EXPECT_NE(message(adaptive_alone, store).find("configure local"), std::string::npos);

  shared_only.shared_key_prefix = "";
  LayeredLimiter limiter(shared_only, store, clock);
  EXPECT_THROW((void)limiter.acquire("k", -1), InvalidRequest);
  EXPECT_THROW((void)limiter.acquire(""), InvalidRequest);
  EXPECT_EQ(limiter.stats().admitted, 0u);
}

}  // namespace
}  // namespace ratelimit
