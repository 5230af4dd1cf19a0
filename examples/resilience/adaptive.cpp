// Adaptive limits (docs/resilience/adaptive.md quotes this program):
//
//   Part 1. AimdController paces a client against a server whose capacity
//           (300 calls/s) the client does not know, through a LocalBucket.
//   Part 2. ErrorRateController cuts the rate when too many calls fail and
//           recovers step by step.
//   Part 3. AdaptiveConcurrencyLimit (Vegas) learns how many calls to keep
//           in flight from their latency and drives a concurrency limit.
//
// Runs on a ManualClock and checks its own results: exit status 1 on a
// mismatch, so it runs as a test.

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <deque>
#include <memory>

#include "ratelimit/resilience/adaptive_concurrency.hpp"
#include "ratelimit/resilience/aimd.hpp"
#include "ratelimit/resilience/error_rate_controller.hpp"
#include "ratelimit/resilience/local_bucket.hpp"

using namespace ratelimit;

namespace {

int mismatches = 0;

void expect(bool ok, const char* what) {
  if (!ok) {
    std::fprintf(stderr, "MISMATCH: %s\n", what);
    ++mismatches;
  }
}

constexpr Micros kStart = 1'700'000'000 * kMicrosPerSecond;

// ---------------------------------------------------------------------------
// Part 1: AIMD against a server of unknown capacity.
// ---------------------------------------------------------------------------
void aimd_part() {
  std::printf("Part 1: AIMD\n");
  auto clock = std::make_shared<ManualClock>(kStart);

  AimdConfig config;
  config.initial_rate = 100;  // calls/s to start with
  config.min_rate = 1;
  config.max_rate = 10'000;
  config.increase_ratio = 0.001;                    // +0.1 % per success
  config.decrease_factor = 0.9;                     // -10 % per throttle...
  config.decrease_cooldown = 20 * kMicrosPerMilli;  // ...at most once per 2 round trips
  AimdController aimd(config, clock);

  // The client waits on a bucket whose rate the controller sets.
  LocalBucket pacer(config.initial_rate, 1, clock);
  aimd.attach(pacer);

  // The server admits 300 calls/s (a token bucket holding 0.1 s of it); its
  // answers reach the client 10 ms after the call was sent.
  LocalBucket server(300, 30, clock);
  struct Answer {
    Micros at;
    bool admitted;
  };
  std::deque<Answer> in_flight;
  std::uint64_t sent = 0;
  std::uint64_t throttled = 0;
  const Micros measure_from = kStart + 20 * kMicrosPerSecond;
  const Micros end = kStart + 60 * kMicrosPerSecond;
  for (;;) {
    const Micros next_send = clock->now() + pacer.time_to_available();
    if (!in_flight.empty() && in_flight.front().at <= next_send) {
      clock->set(in_flight.front().at);
      if (in_flight.front().admitted) {
        aimd.on_success();
      } else {
        aimd.on_throttle();  // e.g. HTTP 429
      }
      in_flight.pop_front();
      continue;
    }
    if (next_send >= end) break;
    clock->set(next_send);
    if (!pacer.try_acquire()) continue;
    const bool admitted = server.try_acquire();
    in_flight.push_back({next_send + 10 * kMicrosPerMilli, admitted});
    if (next_send >= measure_from) {
      ++sent;
      if (!admitted) ++throttled;
    }
  }
  const double admitted_per_second = static_cast<double>(sent - throttled) / 40.0;
  const double throttle_fraction = static_cast<double>(throttled) / static_cast<double>(sent);
  const AimdStats stats = aimd.stats();
  std::printf("  rate %.1f/s, admitted %.1f/s, throttled %.2f %% of calls, %llu decreases\n",
              aimd.rate(), admitted_per_second, 100 * throttle_fraction,
              static_cast<unsigned long long>(stats.decreases));
  expect(std::abs(admitted_per_second - 300) <= 30, "AIMD admits within 10 % of the capacity");
  expect(throttle_fraction < 0.05, "AIMD is throttled on fewer than 5 % of calls");
  expect(pacer.rate() == aimd.rate(), "the pacer runs at the controller's rate");
}

// ---------------------------------------------------------------------------
// Part 2: error-rate controller.
// ---------------------------------------------------------------------------
void error_rate_part() {
  std::printf("Part 2: error rate\n");
  auto clock = std::make_shared<ManualClock>(kStart);

  ErrorRateConfig config;
  config.base_rate = 200;  // calls/s
  config.min_rate = 10;
  config.max_rate = 400;
  config.error_threshold = 0.1;             // act above 10 % failures...
  config.window = kMicrosPerSecond;         // ...over the last second,
  config.interval = 100 * kMicrosPerMilli;  // evaluated every 100 ms
  config.min_samples = 20;
  config.reduction = 0.25;  // -25 % when above
  config.recovery = 0.05;   // +10/s (5 % of base_rate) per good evaluation
  ErrorRateController controller(config, clock);
  controller.add_sink([](double rate) { std::printf("  rate -> %.1f/s\n", rate); });

  // 100 ms of calls at 200/s of which 1 in 4 fails.
  for (int i = 0; i < 20; ++i) {
    if (i % 4 == 0) {
      controller.on_error();
    } else {
      controller.on_success();
    }
  }
  clock->advance(100 * kMicrosPerMilli);  // the next interval starts:
  controller.on_success();                // the first call evaluates the window
  expect(controller.rate() == 150, "25 % errors cut the rate by 25 %");
  ErrorRateStats stats = controller.stats();
  expect(stats.window_error_rate == 0.25 && stats.reductions == 1, "one reduction at 25 %");

  // Then all is well: each interval with enough calls adds 10/s.
  for (int interval = 0; interval < 3; ++interval) {
    for (int i = 0; i < 20; ++i) controller.on_success();
    clock->advance(100 * kMicrosPerMilli);
    (void)controller.evaluate();
  }
  expect(controller.rate() == 180, "three good intervals recover 3 x 10/s");
}

// ---------------------------------------------------------------------------
// Part 3: Vegas concurrency limit.
// ---------------------------------------------------------------------------
void concurrency_part() {
  std::printf("Part 3: adaptive concurrency (Vegas)\n");

  AdaptiveConcurrencyConfig config;
  config.initial_limit = 10;
  config.min_limit = 1;
  config.max_limit = 200;
  config.alpha = 3;  // grow while fewer than 3 calls queue...
  config.beta = 6;   // ...shrink while more than 6 do
  AdaptiveConcurrencyLimit limit(config);

  // Whatever enforces the limit: here a plain variable a dispatcher reads
  // (a ConcurrencyLimiter's set_limit would go here).
  std::int64_t max_in_flight = 0;
  limit.add_sink([&max_in_flight](std::int64_t n) { max_in_flight = n; });

  // A backend with 40 workers, 10 ms per call: above 40 calls in flight the
  // extra ones queue and every call takes 10 ms * in_flight / 40.
  auto rtt_at = [](std::int64_t in_flight) {
    return in_flight <= 40 ? Micros{10'000} : 10'000 * in_flight / 40;
  };
  for (int round_trip = 0; round_trip < 300; ++round_trip) {
    const std::int64_t in_flight = limit.limit();  // the client keeps the limit busy
    for (std::int64_t call = 0; call < in_flight; ++call) {
      limit.on_sample(rtt_at(in_flight), in_flight);
    }
  }
  const AdaptiveConcurrencyStats stats = limit.stats();
  std::printf("  limit %lld, min RTT %lld us, queue estimate %.1f\n",
              static_cast<long long>(limit.limit()), static_cast<long long>(stats.min_rtt),
              stats.last_queue);
  expect(limit.limit() >= 40 + 3 && limit.limit() <= 40 + 6,
         "the limit settles 3 to 6 calls above the 40 workers");
  expect(max_in_flight == limit.limit(), "the sink holds the current limit");
}

}  // namespace

int main() {
  aimd_part();
  error_rate_part();
  concurrency_part();
  if (mismatches > 0) {
    std::fprintf(stderr, "%d mismatches\n", mismatches);
    return 1;
  }
  std::printf("all results as expected\n");
  return 0;
}
