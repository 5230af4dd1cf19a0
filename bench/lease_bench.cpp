// lease_bench: concurrency leases. ConcurrencyLimiter acquire + release
// (target <= 50 ns uncontended), the same on 2 threads sharing one limiter,
// KeyedConcurrencyLimiter over MemoryLeaseStore, and the floor in the same
// run: one atomic fetch_add + fetch_sub pair on a shared counter.
//
//   lease_bench --benchmark_min_time=0.5s

#include <benchmark/benchmark.h>

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>

#include "ratelimit/resilience/concurrency_limiter.hpp"
#include "ratelimit/resilience/keyed_concurrency_limiter.hpp"
#include "ratelimit/resilience/lease_store.hpp"

namespace {

using namespace ratelimit;

// The baseline: what any lease needs at least (one RMW in, one RMW out) on
// a counter every thread shares.
alignas(64) std::atomic<std::int64_t> g_baseline{0};

void BM_Baseline_AtomicAddSub(benchmark::State& state) {
  for (auto _ : state) {
    benchmark::DoNotOptimize(g_baseline.fetch_add(1, std::memory_order_acquire));
    g_baseline.fetch_sub(1, std::memory_order_release);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_Baseline_AtomicAddSub)->Threads(1)->Threads(2)->UseRealTime();

// Far above the thread count: every acquire succeeds, the benchmark
// measures the admitted path.
ConcurrencyLimiter& shared_limiter() {
  static ConcurrencyLimiter limiter(1'000);
  return limiter;
}

void BM_ConcurrencyLimiter_AcquireRelease(benchmark::State& state) {
  ConcurrencyLimiter& limiter = shared_limiter();
  std::uint64_t refused = 0;
  for (auto _ : state) {
    ConcurrencyLimiter::Lease lease = limiter.try_acquire();
    if (!lease) ++refused;
    benchmark::DoNotOptimize(lease);
  }
  state.SetItemsProcessed(state.iterations());
  state.counters["refused"] = benchmark::Counter(static_cast<double>(refused));
}
BENCHMARK(BM_ConcurrencyLimiter_AcquireRelease)->Threads(1)->Threads(2)->UseRealTime();

// At the limit: every try is refused (the shedding path under overload).
void BM_ConcurrencyLimiter_Refused(benchmark::State& state) {
  ConcurrencyLimiter limiter(1);
  ConcurrencyLimiter::Lease held = limiter.try_acquire();
  for (auto _ : state) {
    ConcurrencyLimiter::Lease lease = limiter.try_acquire();
    benchmark::DoNotOptimize(lease);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_ConcurrencyLimiter_Refused);

// Per key over the in-process store: id generation, validation, the
// shard's mutex and the per-key sorted sets, then the release.
void BM_KeyedConcurrencyLimiter_Memory(benchmark::State& state) {
  static auto store = std::make_shared<MemoryLeaseStore>();
  static KeyedConcurrencyLimiter limiter(store, 1'000, kMicrosPerMinute);
  const std::string key = "tenant:" + std::to_string(state.thread_index() % 8);
  for (auto _ : state) {
    KeyedConcurrencyLimiter::Lease lease = limiter.try_acquire(key);
    benchmark::DoNotOptimize(lease);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_KeyedConcurrencyLimiter_Memory)->Threads(1)->Threads(2)->UseRealTime();

}  // namespace

BENCHMARK_MAIN();
