// The cost of Analytics::record, the analytics' part of every decision,
// next to a relaxed atomic increment (the cheapest possible counter), on one
// and two threads. Steady state: the same minute, names already seen.
//
//   build/<dir>/bench/telemetry_bench

#include <benchmark/benchmark.h>

#include <array>
#include <atomic>
#include <string>

#include "ratelimit/telemetry/analytics.hpp"
#include "ratelimit/time.hpp"

namespace {

using ratelimit::telemetry::Analytics;
using ratelimit::telemetry::DecisionEvent;

constexpr ratelimit::Micros kNow = ratelimit::Micros{1'767'225'600} * ratelimit::kMicrosPerSecond;

Analytics& shared_analytics() {
  static Analytics analytics;
  return analytics;
}

alignas(64) std::atomic<std::uint64_t> g_counter{0};

void BM_RelaxedAtomicIncrement(benchmark::State& state) {
  for (auto _ : state) g_counter.fetch_add(1, std::memory_order_relaxed);
}
BENCHMARK(BM_RelaxedAtomicIncrement)->Threads(1)->Threads(2);

// Allowed decisions over a few scopes, tiers and endpoints.
void BM_RecordAllowed(benchmark::State& state) {
  Analytics& analytics = shared_analytics();
  const std::array<const char*, 4> scopes = {"per_user", "per_ip", "global", "ocr_process"};
  std::size_t i = 0;
  for (auto _ : state) {
    analytics.record(DecisionEvent{.at = kNow,
                                   .allowed = true,
                                   .scope = scopes[i & 3],
                                   .tier = (i & 1) != 0 ? "free" : "pro",
                                   .endpoint = "POST /ocr/process",
                                   .identifier = "user:alice",
                                   .cost = 1,
                                   .latency = 12});
    ++i;
  }
}
BENCHMARK(BM_RecordAllowed)->Threads(1)->Threads(2);

// Blocked decisions also feed the heavy-hitters summary: 1,000 identifiers,
// more than its 64 counters.
void BM_RecordBlocked(benchmark::State& state) {
  Analytics& analytics = shared_analytics();
  std::array<std::string, 1000> ids;
  for (std::size_t k = 0; k < ids.size(); ++k) ids[k] = "user:" + std::to_string(k * 7919);
  std::size_t i = 0;
  for (auto _ : state) {
    // Skewed: every other event is one of 8 heavy callers.
    const std::string& id = (i & 1) != 0 ? ids[i % 8] : ids[(i * 31) % ids.size()];
    analytics.record(DecisionEvent{.at = kNow,
                                   .allowed = false,
                                   .scope = "per_user",
                                   .tier = "free",
                                   .endpoint = "GET /users",
                                   .identifier = id,
                                   .cost = 1,
                                   .latency = 12});
    ++i;
  }
}
BENCHMARK(BM_RecordBlocked)->Threads(1)->Threads(2);

// A query over a full week (what /v1/stats?range=7d and each 7d dashboard
// snapshot cost): every minute holds 16 scopes and 100 blocked identifiers,
// so every heavy-hitters summary is full.
void BM_QueryWeek(benchmark::State& state) {
  static Analytics* const full = [] {
    auto* a = new Analytics;
    std::array<std::string, 16> scopes;
    for (std::size_t k = 0; k < scopes.size(); ++k) scopes[k] = "scope-" + std::to_string(k);
    for (int m = 0; m < Analytics::kRingMinutes; ++m) {
      for (int i = 0; i < 100; ++i) {
        const std::string id = "user:" + std::to_string((m * 100 + i) % 5000);
        a->record(DecisionEvent{.at = kNow + m * ratelimit::kMicrosPerMinute,
                                .allowed = i % 3 != 0,
                                .scope = scopes[static_cast<std::size_t>(i) % 16],
                                .tier = "free",
                                .endpoint = "GET /users",
                                .identifier = id});
      }
    }
    return a;
  }();
  const ratelimit::Micros now = kNow + (Analytics::kRingMinutes - 1) * ratelimit::kMicrosPerMinute;
  for (auto _ : state)
    benchmark::DoNotOptimize(full->stats(ratelimit::telemetry::Range::week, now));
}
BENCHMARK(BM_QueryWeek)->Unit(benchmark::kMillisecond);

}  // namespace

BENCHMARK_MAIN();
