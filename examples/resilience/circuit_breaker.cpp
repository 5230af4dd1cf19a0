// Circuit breakers (docs/resilience/circuit-breaker.md quotes this program).
// Runs on a ManualClock and checks its own results: exit status 1 on a
// mismatch, so it runs as a test.

#include "ratelimit/resilience/circuit_breaker.hpp"

#include <cstdio>
#include <memory>
#include <stdexcept>
#include <string>

#include "ratelimit/attribute_store.hpp"
#include "ratelimit/resilience/breaker_registry.hpp"
#include "ratelimit/resilience/shared_circuit_breaker.hpp"

using namespace ratelimit;

namespace {

int mismatches = 0;

void expect(bool ok, const char* what) {
  if (!ok) {
    std::fprintf(stderr, "MISMATCH: %s\n", what);
    ++mismatches;
  }
}

}  // namespace

int main() {
  auto clock = std::make_shared<ManualClock>(1'700'000'000'000'000);
  const Micros start = clock->now();

  // A breaker for calls to an inventory service.
  CircuitBreakerConfig config;
  config.name = "inventory";
  config.window_size = 20;                           // judge the last 20 calls
  config.minimum_calls = 5;                          // once there are at least 5
  config.failure_rate_threshold = 0.5;               // open at 50 % failures
  config.slow_call_duration = 2 * kMicrosPerSecond;  // a call of 2 s or more is slow
  config.slow_call_rate_threshold = 0.8;             // open at 80 % slow calls
  config.wait_in_open = 10 * kMicrosPerSecond;       // then refuse calls for 10 s
  config.permitted_calls_in_half_open = 2;           // then let 2 probes through
  config.successes_to_close = 2;                     // both must succeed to close
  CircuitBreaker breaker(config, clock);
  breaker.add_listener([](const Transition& t) {
    std::printf("%s -> %s at %lld (%s)\n", std::string(to_string(t.from)).c_str(),
                std::string(to_string(t.to)).c_str(), static_cast<long long>(t.at),
                std::string(to_string(t.reason)).c_str());
  });

  // The protected call, and what to answer while the circuit is open.
  bool inventory_up = false;
  auto fetch_stock = [&]() -> int {
    if (!inventory_up) throw std::runtime_error("inventory: connection refused");
    return 42;
  };
  auto cached_stock = [](const CircuitOpen&) { return -1; };

  for (int i = 0; i < 5; ++i) {
    try {
      (void)breaker.call(fetch_stock);  // fails: recorded, then rethrown
    } catch (const std::runtime_error& e) {
      std::printf("call %d: %s\n", i, e.what());
    }
  }
  // 5 failures of 5 calls: open. Calls now get the fallback without trying.
  int stock = breaker.call(fetch_stock, cached_stock);
  expect(breaker.state() == BreakerState::open, "open after 5 failures");
  expect(stock == -1, "fallback while open");

  // Open -> half-open happens at exactly opened_at + wait_in_open.
  clock->set(start + 10 * kMicrosPerSecond - 1);
  expect(!breaker.try_acquire(), "still open 1 us before the wait ends");
  clock->set(start + 10 * kMicrosPerSecond);
  inventory_up = true;
  stock = breaker.call(fetch_stock, cached_stock);  // probe 1 of 2
  expect(breaker.state() == BreakerState::half_open, "half-open after probe 1");
  stock = breaker.call(fetch_stock, cached_stock);  // probe 2 of 2: closes
  expect(breaker.state() == BreakerState::closed, "closed after 2 good probes");
  expect(stock == 42, "real answer once closed");

  const CircuitBreakerStats stats = breaker.stats();
  expect(stats.calls == 7 && stats.failures == 5 && stats.not_permitted == 2,
         "7 calls, 5 failures, 2 refused (the fallback and the try_acquire)");

  // One breaker per upstream host, at most 1000 of them.
  CircuitBreakerRegistry per_host(config, 1000, clock);
  std::shared_ptr<CircuitBreaker> host = per_host.get("eu.inventory.internal");
  expect(host->name() == "inventory/eu.inventory.internal", "per-key breaker name");
  expect(host->call(fetch_stock) == 42, "per-key call");

  // Two instances sharing open periods through an attribute store (Redis in
  // production: RedisAttributeStore), looking at it every 500 ms.
  std::shared_ptr<AttributeStore> store = make_memory_attribute_store();
  SharedBreakerOptions sharing;
  sharing.sync_interval = 500 * kMicrosPerMilli;
  SharedCircuitBreaker instance_a(config, store, sharing, clock);
  SharedCircuitBreaker instance_b(config, store, sharing, clock);
  expect(instance_b.try_acquire(), "b closed at first");
  instance_b.on_success();
  for (int i = 0; i < 5; ++i) instance_a.on_failure();  // a opens and publishes
  clock->advance(500 * kMicrosPerMilli);                // b's next look at the store
  expect(!instance_b.try_acquire(), "b sees a's open period");
  expect(instance_b.state() == BreakerState::open, "b is open too");

  if (mismatches != 0) return 1;
  std::printf("circuit_breaker example: all checks passed\n");
  return 0;
}
