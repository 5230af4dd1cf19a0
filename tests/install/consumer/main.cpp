// Uses the installed library through its public API only and checks real
// decisions. Exits non-zero on the first mismatch.
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <ratelimit/ratelimit.hpp>
#include <ratelimit/guarded_store.hpp>
#include <ratelimit/redis_store.hpp>
#include <ratelimit/policy/config_loader.hpp>
#include <ratelimit/policy/engine.hpp>

namespace {

int g_failures = 0;

void expect(bool ok, const char* what) {
  if (!ok) {
    std::fprintf(stderr, "FAIL: %s\n", what);
    ++g_failures;
  }
}

}  // namespace

int main() {
  using namespace ratelimit;

  auto clock = std::make_shared<ManualClock>(1'700'000'000 * kMicrosPerSecond);
  auto store = std::make_shared<MemoryStore>();
  // 3 tokens, refilled at 3 per second: one every 333'334 µs (rounded up).
  Limiter limiter(LimitSpec(Algorithm::token_bucket, 3, kMicrosPerSecond), store, clock);

  for (int i = 0; i < 3; ++i) {
    const Decision d = limiter.try_acquire("user:1");
    expect(d.allowed, "first three requests are allowed");
    expect(d.limit == 3, "limit is the burst");
    expect(d.remaining == 2 - i, "remaining counts down");
    expect(d.retry_after == 0, "no retry_after when allowed");
  }
  const Decision denied = limiter.try_acquire("user:1");
  expect(!denied.allowed, "fourth request is denied");
  expect(denied.remaining == 0, "nothing remains");
  expect(denied.retry_after > 0 && denied.retry_after <= kMicrosPerSecond / 3 + 1,
         "retry_after is one refill interval");
  expect(!denied.never_admissible(), "a single token is admissible later");

  // Another key has its own bucket.
  expect(limiter.try_acquire("user:2").allowed, "other keys are independent");

  // After the advertised wait the same request is admitted again.
  clock->advance(denied.retry_after);
  expect(limiter.try_acquire("user:1").allowed, "allowed again after retry_after");

  // A cost above the burst can never be admitted.
  expect(limiter.try_acquire("user:3", 4).never_admissible(), "cost > burst is never admissible");

  // Invalid input is an exception, never a decision.
  bool threw = false;
  try {
    (void)LimitSpec(Algorithm::fixed_window, 0, kMicrosPerSecond);
  } catch (const InvalidLimitSpec&) {
    threw = true;
  }
  expect(threw, "a zero limit throws InvalidLimitSpec");

  // The Redis store links (ratelimit::redis, hiredis) and works without a
  // server: nothing listens on port 1, so a guarded store fails open, degraded.
  GuardedStore guarded(std::make_unique<RedisStore>(parse_redis_url("redis://127.0.0.1:1?timeout_ms=50")),
                       GuardedStoreOptions{});
  const LimitSpec spec(Algorithm::gcra, 10, kMicrosPerSecond);
  const Decision open = guarded.decide_one(Check{&spec, "k"}, 1, clock->now());
  expect(open.allowed && open.degraded, "an unreachable Redis fails open, degraded");

  // The policy engine (ratelimit::policy) loads a YAML config and decides.
  const auto config = policy::load_config(
      "default_tier: free\ntiers:\n  free: {limits: [{name: burst, rate: 1/s, burst: 2}]}\n", "consumer.yaml");
  const auto attributes = make_memory_attribute_store();
  policy::PolicyEngine engine(*store, *attributes, *clock, config);
  expect(engine.decide({.user = "u"}).allowed, "policy: first request allowed");
  expect(engine.decide({.user = "u"}).allowed, "policy: second request allowed");
  const auto third = engine.decide({.user = "u"});
  expect(!third.allowed && third.scope == "burst" && third.tier == "free", "policy: third denied by 'burst'");
  try {
    (void)policy::load_config("tiers: 3\n", "bad.yaml");
    expect(false, "policy: a bad config throws");
  } catch (const policy::ConfigError& e) {
    expect(e.issues().at(0).line == 1, "policy: errors carry their line");
  }

  if (g_failures != 0) {
    std::fprintf(stderr, "%d check(s) failed\n", g_failures);
    return EXIT_FAILURE;
  }
  std::puts("ratelimit consumer: all checks passed");
  return EXIT_SUCCESS;
}
