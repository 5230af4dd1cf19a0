// The layered limiter (docs/resilience/layered.md quotes this program): a
// local bucket, a limit shared through the store, a circuit breaker and
// AIMD feedback in one object. Runs on a ManualClock and checks its own
// results: exit status 1 on a mismatch, so it runs as a test.

#include <cstdio>
#include <memory>
#include <stdexcept>

#include "ratelimit/memory_store.hpp"
#include "ratelimit/resilience/layered_limiter.hpp"

using namespace ratelimit;

namespace {

int mismatches = 0;

void expect(bool ok, const char* what) {
  if (!ok) {
    std::fprintf(stderr, "MISMATCH: %s\n", what);
    ++mismatches;
  }
}

// Stands in for the service being protected: fails while `down` is set.
struct Backend {
  bool down = false;
  int handle() {
    if (down) throw std::runtime_error("backend unavailable");
    return 200;
  }
};

}  // namespace

int main() {
  auto clock = std::make_shared<ManualClock>(1'700'000'000'000'000);
  auto store = std::make_shared<MemoryStore>();  // a RedisStore shares it between instances

  LayeredLimiterConfig config;
  config.name = "search";
  // 1. This instance: at most 20 calls in a burst, at the rate AIMD sets.
  config.local = LocalLayerConfig{.rate = 50, .burst = 20};
  // 2. Every instance together: 100 calls per minute per tenant.
  config.shared = LimitSpec(Algorithm::sliding_window, 100, kMicrosPerMinute);
  config.shared_key_prefix = "search:";
  // 3. Stop calling the backend when half of the last 10 calls failed.
  config.breaker = CircuitBreakerConfig{};
  config.breaker->window_size = 10;
  config.breaker->minimum_calls = 10;
  config.breaker->failure_rate_threshold = 0.5;
  config.breaker->wait_in_open = 30 * kMicrosPerSecond;
  // 4. Start at 50 calls/s; +1 per success; halve on a throttle.
  config.adaptive = AimdConfig{.initial_rate = 50,
                               .min_rate = 1,
                               .max_rate = 200,
                               .successes_to_increase = 1,
                               .increase_step = 1,
                               .increase_ratio = 0,
                               .decrease_factor = 0.5};
  LayeredLimiter limiter(config, store, clock);

  Backend backend;
  int ok = 0;
  for (int i = 0; i < 20; ++i)
    ok += limiter.call("tenant:7", [&] { return backend.handle(); }) == 200;
  expect(ok == 20, "the first 20 calls pass every layer");
  expect(limiter.stats().local_rate == 70, "each success raised the local rate by 1");

  try {
    limiter.call("tenant:7", [&] { return backend.handle(); });
    expect(false, "the 21st call at the same instant exceeds the local burst");
  } catch (const RateLimitExceeded& e) {
    expect(e.scope() == "local", "refused by the local bucket");
    expect(e.retry_after() == 14'286, "one unit at 70/s takes 14,286 us");  // ceil(1e6 / 70)
  }

  // The backend goes down: after 5 failures, 5 of the last 10 calls failed.
  backend.down = true;
  for (int i = 0; i < 5; ++i) {
    clock->advance(kMicrosPerSecond);
    try {
      limiter.call("tenant:7", [&] { return backend.handle(); });
    } catch (const std::runtime_error&) {
    }
  }
  expect(limiter.stats().breaker_state == BreakerState::open, "the breaker opened");
  try {
    limiter.call("tenant:7", [&] { return backend.handle(); });
    expect(false, "an open breaker refuses");
  } catch (const CircuitOpen& e) {
    expect(e.breaker() == "search", "CircuitOpen names the limiter");
    expect(e.retry_after() == 30 * kMicrosPerSecond, "it opens for 30 s");
  }

  // After 30 s the backend is back: 3 successful probes close the breaker.
  backend.down = false;
  clock->advance(30 * kMicrosPerSecond);
  for (int i = 0; i < 3; ++i) limiter.call("tenant:7", [&] { return backend.handle(); });
  expect(limiter.stats().breaker_state == BreakerState::closed, "the probes closed it");

  expect(limiter.stats().admitted == 28, "20 + 5 failed + 3 probes");
  expect(limiter.stats().circuit_refused == 1, "one refusal while open");
  std::printf("admitted %llu, local denials %llu, breaker refusals %llu, local rate %.0f/s\n",
              static_cast<unsigned long long>(limiter.stats().admitted),
              static_cast<unsigned long long>(limiter.stats().local_denied),
              static_cast<unsigned long long>(limiter.stats().circuit_refused),
              limiter.stats().local_rate);
  return mismatches == 0 ? 0 : 1;
}
