// redis_store.cpp: limits shared through Redis (docs/redis.md quotes this file).
//
//   example_redis_store redis://127.0.0.1:6379
//
// Checks its own decisions against a running Redis: the first 1000 requests
// of a fresh key are admitted, every decision comes from Redis (not degraded),
// and a store pointed at a closed port fails closed, degraded, without
// waiting on each request once its breaker is open.

#include <cstdlib>
#include <iostream>
#include <memory>
#include <string>

#include "ratelimit/guarded_store.hpp"
#include "ratelimit/redis_store.hpp"
#include "ratelimit/store_factory.hpp"

using namespace ratelimit;

namespace {

int fail(const std::string& what) {
  std::cerr << "example_redis_store: " << what << '\n';
  return 1;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) return fail("usage: example_redis_store redis://HOST:PORT");
  const std::string url = argv[1];

  // From a URL: a RedisStore behind a circuit breaker; while Redis is down,
  // this instance decides alone with a quarter of each limit.
  std::unique_ptr<Store> store = open_store(url + "?prefix=api:&failure=local&local_share=0.25");
  const LimitSpec per_minute(Algorithm::gcra, 1000, kMicrosPerMinute);
  const Decision d = store->decide_one(Check{&per_minute, "user:42"}, 1, SystemClock::instance().now());
  if (!d.allowed || d.degraded || d.remaining != 999) return fail("the first request should pass, from Redis, 999 left");
  store->reset(std::array{Check{&per_minute, "user:42"}});

  // By hand: the same pieces, failing closed.
  auto redis = std::make_unique<RedisStore>(parse_redis_url(url));
  GuardedStore guarded(std::move(redis), GuardedStoreOptions{.failure_mode = FailureMode::fail_closed});
  if (!guarded.decide_one(Check{&per_minute, "user:7"}, 1, 0).allowed) return fail("user:7 should pass");
  guarded.reset(std::array{Check{&per_minute, "user:7"}});

  // Nobody listens on port 1: every decision is degraded and denied.
  GuardedStore nowhere(std::make_unique<RedisStore>(parse_redis_url("redis://127.0.0.1:1")),
                       GuardedStoreOptions{.failure_mode = FailureMode::fail_closed});
  for (int i = 0; i < 10; ++i) {
    const Decision down = nowhere.decide_one(Check{&per_minute, "user:7"}, 1, 0);
    if (down.allowed || !down.degraded) return fail("with Redis unreachable, decisions are degraded denials");
  }
  if (nowhere.breaker_state() != BreakerState::open) return fail("three failures should open the breaker");
  std::cout << "ok: shared limits through " << url << ", degraded decisions when Redis is unreachable\n";
  return 0;
}
