// breaker_bench: what a CLOSED circuit breaker adds to a call.
//
// BM_Direct calls a trivial out-of-line function; every other benchmark makes
// the same call through a breaker on the system clock. Overhead = breaker -
// BM_Direct at the same thread count, in the same run (target: <= 30 ns for
// the count window without slow-call detection).

#include <benchmark/benchmark.h>

#include <memory>

#include "ratelimit/resilience/breaker_registry.hpp"
#include "ratelimit/resilience/circuit_breaker.hpp"
#include "ratelimit/resilience/shared_circuit_breaker.hpp"

namespace {

using namespace ratelimit;

// The protected call: out of line, so the baseline pays a real call too.
__attribute__((noinline)) int work(int x) {
  benchmark::ClobberMemory();
  return x + 1;
}

CircuitBreakerConfig config(SlidingWindowType type, bool slow) {
  CircuitBreakerConfig c;
  c.name = "bench";
  c.window_type = type;
  c.window_size = 100;
  c.window_duration = 60 * kMicrosPerSecond;
  c.bucket_duration = kMicrosPerSecond;
  if (slow) c.slow_call_duration = kMicrosPerSecond;
  return c;
}

// One breaker per variant, shared by the threads of a multi-threaded run.
CircuitBreaker& breaker(SlidingWindowType type, bool slow) {
  static CircuitBreaker count_fast(config(SlidingWindowType::count, false));
  static CircuitBreaker count_slow(config(SlidingWindowType::count, true));
  static CircuitBreaker time_fast(config(SlidingWindowType::time, false));
  static CircuitBreaker time_slow(config(SlidingWindowType::time, true));
  if (type == SlidingWindowType::count) return slow ? count_slow : count_fast;
  return slow ? time_slow : time_fast;
}

void BM_Direct(benchmark::State& state) {
  int x = 0;
  for (auto _ : state) {
    x = work(x);
    benchmark::DoNotOptimize(x);
  }
}

// One reading of the system clock: what slow-call detection pays twice and
// a time window once per call.
void BM_ClockNow(benchmark::State& state) {
  const Clock& clock = SystemClock::instance();
  for (auto _ : state) benchmark::DoNotOptimize(clock.now());
}

template <SlidingWindowType kType, bool kSlow>
void BM_Breaker(benchmark::State& state) {
  CircuitBreaker& b = breaker(kType, kSlow);
  int x = 0;
  for (auto _ : state) {
    x = b.call([x] { return work(x); });
    benchmark::DoNotOptimize(x);
  }
  if (state.thread_index() == 0 && b.state() != BreakerState::closed)
    state.SkipWithError("breaker not closed");
}

// try_acquire + on_success by hand (what a caller with its own timing does).
void BM_ManualCountWindow(benchmark::State& state) {
  CircuitBreaker& b = breaker(SlidingWindowType::count, false);
  int x = 0;
  for (auto _ : state) {
    if (b.try_acquire()) {
      x = work(x);
      b.on_success();
    }
    benchmark::DoNotOptimize(x);
  }
}

// The shared variant on the memory attribute store, sync every second.
void BM_SharedCountWindow(benchmark::State& state) {
  static SharedCircuitBreaker shared(
      config(SlidingWindowType::count, false),
      std::shared_ptr<AttributeStore>(make_memory_attribute_store()));
  int x = 0;
  for (auto _ : state) {
    x = shared.call([x] { return work(x); });
    benchmark::DoNotOptimize(x);
  }
}

// Per-key: the registry lookup (mutex + hash of a short key) and the call.
void BM_RegistryCountWindow(benchmark::State& state) {
  static CircuitBreakerRegistry registry(config(SlidingWindowType::count, false), 1024);
  int x = 0;
  for (auto _ : state) {
    x = registry.get("api.example.com")->call([x] { return work(x); });
    benchmark::DoNotOptimize(x);
  }
}

}  // namespace

BENCHMARK(BM_Direct)->Threads(1)->Threads(2);
BENCHMARK(BM_ClockNow)->Threads(1);
BENCHMARK(BM_Breaker<SlidingWindowType::count, false>)
    ->Name("BM_CountWindow")
    ->Threads(1)
    ->Threads(2);
BENCHMARK(BM_Breaker<SlidingWindowType::count, true>)
    ->Name("BM_CountWindowSlowCalls")
    ->Threads(1)
    ->Threads(2);
BENCHMARK(BM_Breaker<SlidingWindowType::time, false>)
    ->Name("BM_TimeWindow")
    ->Threads(1)
    ->Threads(2);
BENCHMARK(BM_Breaker<SlidingWindowType::time, true>)
    ->Name("BM_TimeWindowSlowCalls")
    ->Threads(1)
    ->Threads(2);
BENCHMARK(BM_ManualCountWindow)->Threads(1)->Threads(2);
BENCHMARK(BM_SharedCountWindow)->Threads(1)->Threads(2);
BENCHMARK(BM_RegistryCountWindow)->Threads(1)->Threads(2);

BENCHMARK_MAIN();
