// Closed-loop simulations (the quality bar of issue 5): a client paced by an
// adaptive controller against a backend whose capacity it does not know.
// Discrete events on a ManualClock, seeded PRNGs: deterministic.
//
// The configs are the ones docs/resilience/adaptive.md recommends and
// explains; the numbers the doc quotes come from these runs.

#include "resilience/adaptive/simulation.hpp"

#include <gtest/gtest.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace ratelimit {
namespace {

using adaptive_sim::ConcurrencyWindow;
using adaptive_sim::Phase;
using adaptive_sim::RateWindow;

constexpr Micros kSecond = kMicrosPerSecond;
/// Time from a call's send to its answer reaching the client.
constexpr Micros kLatency = 10'000;

// ---------------------------------------------------------------------------
// AIMD against a token bucket of hidden capacity that throttles above it.
// ---------------------------------------------------------------------------

AimdConfig aimd_config() {
  AimdConfig c;
  c.initial_rate = 100;
  c.min_rate = 1;
  c.max_rate = 1e6;
  c.successes_to_increase = 1;
  c.increase_ratio = 0.001;            // ~105 calls from 0.9 C back to C
  c.decrease_factor = 0.9;             // sawtooth between 0.9 C and C: mean ~0.95 C
  c.decrease_cooldown = 2 * kLatency;  // one overshoot, one decrease
  return c;
}

/// Runs the AIMD client for `duration` against `phases`; fills `windows`.
AimdStats run_aimd(const AimdConfig& config, const std::vector<Phase>& phases, Micros duration,
                   std::vector<RateWindow>& windows) {
  auto clock = std::make_shared<ManualClock>(1'700'000'000 * kSecond);
  AimdController aimd(config, clock);
  LocalBucket client(config.initial_rate, 1, clock);
  aimd.attach(client);
  // The backend's bucket holds 100 ms of its capacity, like most servers'.
  adaptive_sim::ThrottlingBackend backend(clock, phases, 0.1);
  adaptive_sim::run_rate_client(
      *clock, client, [&backend](Micros now) { return backend(now); },
      [&aimd](bool admitted) { admitted ? aimd.on_success() : aimd.on_throttle(); },
      [&aimd] { return aimd.rate(); }, kLatency, duration, windows);
  return aimd.stats();
}

class AdaptiveAimdSimulation : public ::testing::TestWithParam<double> {};

TEST_P(AdaptiveAimdSimulation, ConvergesToTheHiddenCapacity) {
  const double capacity = GetParam();
  // 20 s of warm-up (from 100/s the rate grows per success), 100 s measured.
  std::vector<RateWindow> w = {{20 * kSecond, 120 * kSecond}};
  const AimdStats stats = run_aimd(aimd_config(), {{0, capacity}}, 120 * kSecond, w);
  EXPECT_NEAR(w[0].admitted_per_second(), capacity, 0.1 * capacity);
  EXPECT_NEAR(w[0].mean_rate(), capacity, 0.1 * capacity);
  EXPECT_LT(w[0].refused_fraction(), 0.05);
  EXPECT_GT(stats.decreases, 10u);  // it really oscillated around the capacity
  RecordProperty("admitted_per_second", std::to_string(w[0].admitted_per_second()));
  RecordProperty("throttle_fraction", std::to_string(w[0].refused_fraction()));
}

INSTANTIATE_TEST_SUITE_P(Capacities, AdaptiveAimdSimulation,
                         ::testing::Values(50.0, 500.0, 5000.0));

TEST(AdaptiveAimdSimulationTest, ReconvergesWhenTheCapacityChanges) {
  std::vector<RateWindow> w = {
      {30 * kSecond, 60 * kSecond}, {90 * kSecond, 120 * kSecond}, {150 * kSecond, 180 * kSecond}};
  run_aimd(aimd_config(), {{0, 500}, {60 * kSecond, 200}, {120 * kSecond, 1000}}, 180 * kSecond, w);
  const double capacities[] = {500, 200, 1000};
  for (std::size_t i = 0; i < w.size(); ++i) {
    EXPECT_NEAR(w[i].admitted_per_second(), capacities[i], 0.1 * capacities[i]) << "phase " << i;
    EXPECT_NEAR(w[i].mean_rate(), capacities[i], 0.1 * capacities[i]) << "phase " << i;
    EXPECT_LT(w[i].refused_fraction(), 0.05) << "phase " << i;
  }
}

TEST(AdaptiveAimdSimulationTest, WithoutACooldownOneOvershootCollapsesTheRate) {
  // The reason for decrease_cooldown: at 5000/s, 50 calls are in flight when
  // the first throttle comes back; decreasing on each of their throttles
  // multiplies the rate by 0.9^k.
  AimdConfig c = aimd_config();
  c.decrease_cooldown = 0;
  std::vector<RateWindow> w = {{20 * kSecond, 120 * kSecond}};
  run_aimd(c, {{0, 5000}}, 120 * kSecond, w);
  EXPECT_LT(w[0].admitted_per_second(), 0.5 * 5000);
}

// ---------------------------------------------------------------------------
// Error-rate controller against a backend that fails the excess above its
// capacity (plus 1 % background errors), at random with a fixed seed.
// ---------------------------------------------------------------------------

ErrorRateConfig error_rate_config(double base_rate) {
  ErrorRateConfig c;
  c.base_rate = base_rate;
  c.min_rate = 1;
  c.max_rate = 10 * base_rate;
  c.error_threshold = 0.05;
  c.window = 500'000;
  c.interval = 100'000;
  c.min_samples = 20;
  c.reduction = 0.05;
  c.recovery = 0.0025;
  return c;
}

ErrorRateStats run_error_rate(const ErrorRateConfig& config, const std::vector<Phase>& phases,
                              Micros duration, std::vector<RateWindow>& windows) {
  auto clock = std::make_shared<ManualClock>(1'700'000'000 * kSecond);
  ErrorRateController controller(config, clock);
  LocalBucket client(config.base_rate, 1, clock);
  controller.attach(client);
  adaptive_sim::OverloadedBackend backend(clock->now(), phases, 0.01, 100'000, 42);
  adaptive_sim::run_rate_client(
      *clock, client, [&backend](Micros now) { return backend(now); },
      [&controller](bool ok) { ok ? controller.on_success() : controller.on_error(); },
      [&controller] { return controller.rate(); }, kLatency, duration, windows);
  return controller.stats();
}

class AdaptiveErrorRateSimulation : public ::testing::TestWithParam<double> {};

TEST_P(AdaptiveErrorRateSimulation, ConvergesToTheHiddenCapacity) {
  const double capacity = GetParam();
  std::vector<RateWindow> w = {{20 * kSecond, 120 * kSecond}};
  // Starts 50 % above the capacity: it must come down first.
  const ErrorRateStats stats =
      run_error_rate(error_rate_config(1.5 * capacity), {{0, capacity}}, 120 * kSecond, w);
  EXPECT_NEAR(w[0].admitted_per_second(), capacity, 0.1 * capacity);
  EXPECT_NEAR(w[0].mean_rate(), capacity, 0.1 * capacity);
  EXPECT_LT(w[0].refused_fraction(), 0.05);  // of which ~1 % are background errors
  EXPECT_GT(stats.reductions, 10u);
  EXPECT_GT(stats.recoveries, 10u);
}

INSTANTIATE_TEST_SUITE_P(Capacities, AdaptiveErrorRateSimulation,
                         ::testing::Values(50.0, 500.0, 5000.0));

TEST(AdaptiveErrorRateSimulationTest, ReconvergesWhenTheCapacityChanges) {
  std::vector<RateWindow> w = {
      {30 * kSecond, 60 * kSecond}, {90 * kSecond, 120 * kSecond}, {170 * kSecond, 200 * kSecond}};
  run_error_rate(error_rate_config(750), {{0, 500}, {60 * kSecond, 200}, {120 * kSecond, 800}},
                 200 * kSecond, w);
  const double capacities[] = {500, 200, 800};
  for (std::size_t i = 0; i < w.size(); ++i) {
    EXPECT_NEAR(w[i].admitted_per_second(), capacities[i], 0.1 * capacities[i]) << "phase " << i;
    EXPECT_LT(w[i].refused_fraction(), 0.05) << "phase " << i;
  }
}

// ---------------------------------------------------------------------------
// Vegas concurrency limit against a backend of `capacity` workers whose
// latency grows with the queue once more calls are in flight.
// ---------------------------------------------------------------------------

constexpr Micros kService = 10'000;  // µs per call without queueing

AdaptiveConcurrencyConfig vegas_config() {
  AdaptiveConcurrencyConfig c;  // the defaults: alpha 3, beta 6, steps 1 per RTT
  c.initial_limit = 5;
  c.min_limit = 1;
  c.max_limit = 10'000;
  return c;
}

class AdaptiveConcurrencySimulation : public ::testing::TestWithParam<double> {};

TEST_P(AdaptiveConcurrencySimulation, SettlesJustAboveTheCapacity) {
  const double capacity = GetParam();
  AdaptiveConcurrencyLimit limit(vegas_config());
  std::vector<ConcurrencyWindow> w = {{20 * kSecond, 60 * kSecond}};
  adaptive_sim::run_concurrency_client(limit, {{0, capacity}}, kService, 0.01, 7, 60 * kSecond, w);
  // Vegas keeps alpha..beta calls queued: the limit settles in
  // [capacity, capacity + beta] and stays there.
  EXPECT_GE(w[0].limit_min, static_cast<std::int64_t>(capacity));
  EXPECT_LE(w[0].limit_max, static_cast<std::int64_t>(capacity + vegas_config().beta));
  // And the backend is kept busy: throughput near capacity / service time.
  const double best = capacity * 1e6 / static_cast<double>(kService);
  EXPECT_GT(w[0].throughput(), 0.95 * best);
}

INSTANTIATE_TEST_SUITE_P(Capacities, AdaptiveConcurrencySimulation,
                         ::testing::Values(10.0, 50.0, 200.0));

TEST(AdaptiveConcurrencySimulationTest, FollowsACapacityThatChanges) {
  AdaptiveConcurrencyLimit limit(vegas_config());
  std::vector<ConcurrencyWindow> w = {
      {20 * kSecond, 40 * kSecond}, {60 * kSecond, 80 * kSecond}, {100 * kSecond, 120 * kSecond}};
  adaptive_sim::run_concurrency_client(limit, {{0, 50}, {40 * kSecond, 20}, {80 * kSecond, 100}},
                                       kService, 0.01, 7, 120 * kSecond, w);
  const double capacities[] = {50, 20, 100};
  for (std::size_t i = 0; i < w.size(); ++i) {
    EXPECT_GE(w[i].limit_min, static_cast<std::int64_t>(capacities[i])) << "phase " << i;
    EXPECT_LE(w[i].limit_max, static_cast<std::int64_t>(capacities[i] + 6)) << "phase " << i;
  }
}

}  // namespace
}  // namespace ratelimit
