// The controllers under concurrent use (run under ThreadSanitizer in CI):
// no update is lost, and every sink ends on the controller's final value.

#include <gtest/gtest.h>

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "ratelimit/resilience/adaptive_concurrency.hpp"
#include "ratelimit/resilience/aimd.hpp"
#include "ratelimit/resilience/error_rate_controller.hpp"
#include "ratelimit/resilience/local_bucket.hpp"

namespace ratelimit {
namespace {

constexpr int kThreads = 4;
constexpr int kCallsPerThread = 20'000;

/// Runs `body(thread_index)` on kThreads threads at once.
template <typename Body>
void run_threads(Body body) {
  std::vector<std::thread> threads;
  threads.reserve(kThreads);
  for (int t = 0; t < kThreads; ++t) threads.emplace_back([&body, t] { body(t); });
  for (std::thread& t : threads) t.join();
}

TEST(AdaptiveThreadsTest, AimdCountsEveryCallAndTheBucketEndsOnTheFinalRate) {
  auto clock = std::make_shared<ManualClock>(0);
  AimdConfig c;
  c.initial_rate = 1000;
  c.min_rate = 1;
  c.max_rate = 1e6;
  c.increase_ratio = 0.001;
  c.decrease_factor = 0.9;
  c.decrease_cooldown = 10;
  AimdController aimd(c, clock);
  LocalBucket bucket(1, 1, clock);
  aimd.attach(bucket);
  std::mutex mu;
  double last_seen = 0;
  aimd.add_sink([&](double r) {
    const std::lock_guard lock(mu);
    last_seen = r;
  });
  run_threads([&](int t) {
    for (int i = 0; i < kCallsPerThread; ++i) {
      if (t == 0) clock->advance(1);
      if ((i + t) % 50 == 0) {
        aimd.on_throttle();
      } else if (i % 97 == 0) {
        aimd.on_error();
      } else {
        aimd.on_success();
      }
    }
  });
  const AimdStats s = aimd.stats();
  EXPECT_EQ(s.successes + s.throttles + s.errors,
            static_cast<std::uint64_t>(kThreads * kCallsPerThread));
  EXPECT_GT(s.decreases, 0u);
  EXPECT_GT(s.increases, 0u);
  EXPECT_DOUBLE_EQ(bucket.rate(), aimd.rate());
  const std::lock_guard lock(mu);
  EXPECT_DOUBLE_EQ(last_seen, aimd.rate());
}

TEST(AdaptiveThreadsTest, ErrorRateControllerCountsEveryCall) {
  auto clock = std::make_shared<ManualClock>(0);
  ErrorRateConfig c;
  c.base_rate = 1000;
  c.min_rate = 1;
  c.max_rate = 1e6;
  c.interval = 100;
  c.window = 500;
  c.min_samples = 10;
  ErrorRateController controller(c, clock);
  LocalBucket bucket(1, 1, clock);
  controller.attach(bucket);
  run_threads([&](int t) {
    for (int i = 0; i < kCallsPerThread; ++i) {
      if (t == 0) clock->advance(1);
      // Errors come in bursts so that the rate both falls and recovers.
      if ((i / 2'000) % 2 == 0 && i % 4 == 0) {
        controller.on_error();
      } else {
        controller.on_success();
      }
      if (i % 1'000 == 0) (void)controller.evaluate();
    }
  });
  const ErrorRateStats s = controller.stats();
  EXPECT_EQ(s.successes + s.errors, static_cast<std::uint64_t>(kThreads * kCallsPerThread));
  EXPECT_GT(s.evaluations, 0u);
  EXPECT_GT(s.reductions, 0u);
  EXPECT_GT(s.recoveries, 0u);
  EXPECT_DOUBLE_EQ(bucket.rate(), controller.rate());
}

TEST(AdaptiveThreadsTest, ConcurrencyLimitCountsEverySampleAndTheSinkEndsOnTheFinalLimit) {
  AdaptiveConcurrencyConfig c;
  c.initial_limit = 50;
  c.max_limit = 200;
  AdaptiveConcurrencyLimit limit(c);
  std::atomic<std::int64_t> last_seen{0};
  limit.add_sink([&](std::int64_t n) { last_seen.store(n, std::memory_order_relaxed); });
  run_threads([&](int t) {
    for (int i = 0; i < kCallsPerThread; ++i) {
      // Latency rises and falls so that the limit moves both ways.
      const Micros rtt = 1'000 + ((i / 500) % 2) * 500 + t;
      limit.on_sample(rtt, 60, i % 1'000 == 999);
    }
  });
  const AdaptiveConcurrencyStats s = limit.stats();
  EXPECT_EQ(s.samples, static_cast<std::uint64_t>(kThreads * kCallsPerThread));
  EXPECT_GT(s.increases, 0u);
  EXPECT_GT(s.decreases, 0u);
  EXPECT_EQ(last_seen.load(), limit.limit());
}

}  // namespace
}  // namespace ratelimit
