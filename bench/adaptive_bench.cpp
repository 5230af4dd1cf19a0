// adaptive_bench: what the adaptive controllers add to each call a client
// makes (docs/resilience/adaptive.md, "Cost"). Single thread; the baseline
// is one relaxed atomic increment, the least a per-call counter costs.

#include <benchmark/benchmark.h>

#include <atomic>
#include <cstdint>
#include <memory>

#include "ratelimit/resilience/adaptive_concurrency.hpp"
#include "ratelimit/resilience/aimd.hpp"
#include "ratelimit/resilience/error_rate_controller.hpp"
#include "ratelimit/resilience/local_bucket.hpp"

namespace {

using namespace ratelimit;

void BM_AtomicIncrement(benchmark::State& state) {
  std::atomic<std::uint64_t> counter{0};
  for (auto _ : state) counter.fetch_add(1, std::memory_order_relaxed);
  benchmark::DoNotOptimize(counter.load());
}
BENCHMARK(BM_AtomicIncrement);

/// A config whose rate changes on every success (ratio tiny, max huge), so
/// the benchmark pays for the change and, with a bucket, its delivery.
AimdConfig changing_config() {
  AimdConfig c;
  c.initial_rate = 1000;
  c.min_rate = 1;
  c.max_rate = 1e300;
  c.increase_ratio = 1e-12;
  c.decrease_factor = 0.9;
  c.decrease_cooldown = kMicrosPerSecond;
  return c;
}

void BM_AimdOnSuccess(benchmark::State& state) {
  AimdController aimd(changing_config());  // system clock
  for (auto _ : state) aimd.on_success();
  benchmark::DoNotOptimize(aimd.rate());
}
BENCHMARK(BM_AimdOnSuccess);

void BM_AimdOnSuccessNoChange(benchmark::State& state) {
  AimdConfig c = changing_config();
  c.successes_to_increase = 1'000'000'000;  // counts only
  AimdController aimd(c);
  for (auto _ : state) aimd.on_success();
  benchmark::DoNotOptimize(aimd.rate());
}
BENCHMARK(BM_AimdOnSuccessNoChange);

void BM_AimdOnSuccessDrivingABucket(benchmark::State& state) {
  AimdController aimd(changing_config());
  LocalBucket bucket(1000, 1);
  aimd.attach(bucket);
  for (auto _ : state) aimd.on_success();
  benchmark::DoNotOptimize(bucket.rate());
}
BENCHMARK(BM_AimdOnSuccessDrivingABucket);

/// The common case during an overshoot: the throttle falls in the cool-down
/// (the first one decreases; the rest only count).
void BM_AimdOnThrottle(benchmark::State& state) {
  AimdConfig c = changing_config();
  c.decrease_cooldown = 1'000 * kMicrosPerSecond;
  AimdController aimd(c);
  for (auto _ : state) aimd.on_throttle();
  benchmark::DoNotOptimize(aimd.rate());
}
BENCHMARK(BM_AimdOnThrottle);

void BM_ErrorRateOnSuccess(benchmark::State& state) {
  ErrorRateConfig c;
  c.base_rate = 1000;
  c.min_rate = 1;
  c.max_rate = 1e9;
  c.interval = 100'000;
  c.window = kMicrosPerSecond;
  ErrorRateController controller(c);
  for (auto _ : state) controller.on_success();
  benchmark::DoNotOptimize(controller.rate());
}
BENCHMARK(BM_ErrorRateOnSuccess);

void BM_VegasOnSample(benchmark::State& state) {
  AdaptiveConcurrencyConfig c;
  c.initial_limit = 100;
  c.max_limit = 10'000;
  AdaptiveConcurrencyLimit limit(c);
  Micros rtt = 1'000;
  for (auto _ : state) {
    limit.on_sample(rtt, 100);
    rtt = rtt == 1'000 ? 1'100 : 1'000;  // the limit moves both ways
  }
  benchmark::DoNotOptimize(limit.limit());
}
BENCHMARK(BM_VegasOnSample);

}  // namespace

BENCHMARK_MAIN();
