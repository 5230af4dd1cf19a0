// client_bench: what client-side limiting adds to a call.
// - ClientLimiter::try_acquire (pause check + LocalBucket + stats) against
//   the bare LocalBucket::try_acquire it is built on, and the naive baseline
//   (a mutex around a map of buckets, bench/naive_baseline.hpp) on one key;
// - AdaptiveClient::on_response: a plain 200, and a 429 with hints to parse.
// The clock is a ManualClock nudged forward 1 µs per call so the buckets
// refill and every path (admit and refuse) is exercised.

#include <benchmark/benchmark.h>

#include <memory>

#include "naive_baseline.hpp"
#include "ratelimit/resilience/adaptive_client.hpp"
#include "ratelimit/resilience/client_limiter.hpp"
#include "ratelimit/resilience/local_bucket.hpp"

namespace {

using namespace ratelimit;

constexpr Micros kStart = 1'700'000'000'000'000;  // 2023-11-14
// 1 unit per µs of clock: with the clock moving 1 µs per call, about every
// call is admitted, as in a client that stays under its limit.
constexpr double kRate = 1'000'000;
constexpr double kBurst = 100;

void BM_LocalBucketTryAcquire(benchmark::State& state) {
  auto clock = std::make_shared<ManualClock>(kStart);
  LocalBucket bucket(kRate, kBurst, clock);
  for (auto _ : state) {
    clock->advance(1);
    benchmark::DoNotOptimize(bucket.try_acquire());
  }
}
BENCHMARK(BM_LocalBucketTryAcquire);

void BM_NaiveBaselineTryAcquire(benchmark::State& state) {
  ratelimit::bench::NaiveTokenBucket naive(kBurst, kRate);
  Micros now = kStart;
  for (auto _ : state) {
    ++now;
    benchmark::DoNotOptimize(naive.try_acquire("client", 1, now));
  }
}
BENCHMARK(BM_NaiveBaselineTryAcquire);

void BM_ClientLimiterTryAcquire(benchmark::State& state) {
  auto clock = std::make_shared<ManualClock>(kStart);
  auto sleeper = std::make_shared<ManualSleeper>(*clock);
  ClientLimiter limiter(kRate, kBurst, clock, sleeper);
  for (auto _ : state) {
    clock->advance(1);
    benchmark::DoNotOptimize(limiter.try_acquire());
  }
}
BENCHMARK(BM_ClientLimiterTryAcquire);

void BM_ClientLimiterTryAcquireTwoThreads(benchmark::State& state) {
  static std::shared_ptr<ManualClock> clock;
  static std::unique_ptr<ClientLimiter> limiter;
  static std::shared_ptr<ManualSleeper> sleeper;
  if (state.thread_index() == 0) {
    clock = std::make_shared<ManualClock>(kStart);
    sleeper = std::make_shared<ManualSleeper>(*clock);
    limiter = std::make_unique<ClientLimiter>(kRate, kBurst, clock, sleeper);
  }
  for (auto _ : state) {
    clock->advance(1);
    benchmark::DoNotOptimize(limiter->try_acquire());
  }
  if (state.thread_index() == 0) {
    limiter.reset();
    sleeper.reset();
    clock.reset();
  }
}
BENCHMARK(BM_ClientLimiterTryAcquireTwoThreads)->Threads(2);

void BM_AdaptiveOnResponseSuccess(benchmark::State& state) {
  auto clock = std::make_shared<ManualClock>(kStart);
  auto sleeper = std::make_shared<ManualSleeper>(*clock);
  AdaptiveClient client({.initial_rate = 10, .min_rate = 1, .max_rate = 100}, clock, sleeper);
  const HttpHeaders headers{{"Content-Type", "application/json"},
                            {"RateLimit-Limit", "100"},
                            {"RateLimit-Remaining", "42"},
                            {"RateLimit-Reset", "30"}};
  for (auto _ : state) client.on_response(200, headers);
}
BENCHMARK(BM_AdaptiveOnResponseSuccess);

void BM_AdaptiveOnResponse429WithHints(benchmark::State& state) {
  auto clock = std::make_shared<ManualClock>(kStart);
  auto sleeper = std::make_shared<ManualSleeper>(*clock);
  AdaptiveClient client({.initial_rate = 10, .min_rate = 1, .max_rate = 100}, clock, sleeper);
  const HttpHeaders headers{{"Retry-After", "Tue, 14 Nov 2023 22:13:40 GMT"},
                            {"X-RateLimit-Remaining", "0"},
                            {"X-RateLimit-Reset", "1700000020"},
                            {"RateLimit-Policy", "100;w=60"}};
  for (auto _ : state) client.on_response(429, headers);
}
BENCHMARK(BM_AdaptiveOnResponse429WithHints);

}  // namespace

BENCHMARK_MAIN();
