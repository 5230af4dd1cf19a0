// Circuit breakers under concurrent callers (label "concurrency", run under
// TSan): counters stay exact, a breaker opens once, half-open admits exactly
// the permitted probes, registry and shared breaker stay consistent.

#include <gtest/gtest.h>

#include <atomic>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "ratelimit/resilience/breaker_registry.hpp"
#include "ratelimit/resilience/circuit_breaker.hpp"
#include "ratelimit/resilience/shared_circuit_breaker.hpp"

namespace ratelimit {
namespace {

constexpr int kThreads = 4;

template <class F>
void run_threads(F body) {
  std::atomic<bool> go{false};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      while (!go.load()) std::this_thread::yield();
      body(t);
    });
  }
  go = true;
  for (auto& th : threads) th.join();
}

CircuitBreakerConfig config(SlidingWindowType type) {
  CircuitBreakerConfig c;
  c.window_type = type;
  c.window_size = 50;
  c.window_duration = 10 * kMicrosPerSecond;
  c.minimum_calls = 50;
  c.failure_rate_threshold = 0.5;
  c.wait_in_open = kMicrosPerSecond;
  c.permitted_calls_in_half_open = 5;
  c.successes_to_close = 5;
  return c;
}

TEST(BreakerConcurrency, CountersAreExactAndALowFailureRateNeverOpens) {
  for (SlidingWindowType type : {SlidingWindowType::count, SlidingWindowType::time}) {
    auto clock = std::make_shared<ManualClock>(0);
    CircuitBreaker b(config(type), clock);
    constexpr int kCalls = 20'000;
    run_threads([&](int t) {
      for (int i = 0; i < kCalls; ++i) {
        ASSERT_TRUE(b.try_acquire());
        if (i % 10 == 0)
          b.on_failure();
        else
          b.on_success();
        if (t == 0 && i % 1000 == 0) clock->advance(kMicrosPerSecond / 2);
      }
    });
    const CircuitBreakerStats s = b.stats();
    EXPECT_EQ(s.state, BreakerState::closed) << to_string(type);
    EXPECT_EQ(s.calls, std::uint64_t{kThreads} * kCalls) << to_string(type);
    EXPECT_EQ(s.failures, std::uint64_t{kThreads} * (kCalls / 10)) << to_string(type);
    EXPECT_LE(s.failure_rate, 0.5) << to_string(type);
  }
}

TEST(BreakerConcurrency, OpensOnceAndAdmitsExactlyThePermittedProbes) {
  auto clock = std::make_shared<ManualClock>(0);
  CircuitBreaker b(config(SlidingWindowType::count), clock);
  std::atomic<int> opened{0};
  std::atomic<int> half_opened{0};
  b.add_listener([&](const Transition& t) {
    if (t.to == BreakerState::open) ++opened;
    if (t.to == BreakerState::half_open) ++half_opened;
  });
  run_threads([&](int) {
    for (int i = 0; i < 5'000; ++i) {
      if (b.try_acquire()) b.on_failure();
    }
  });
  EXPECT_EQ(opened.load(), 1);
  EXPECT_EQ(b.state(), BreakerState::open);

  clock->advance(kMicrosPerSecond);
  std::atomic<int> admitted{0};
  run_threads([&](int) {
    for (int i = 0; i < 100; ++i) {
      if (b.try_acquire()) ++admitted;
    }
  });
  EXPECT_EQ(admitted.load(), 5);
  EXPECT_EQ(half_opened.load(), 1);
  run_threads([&](int t) {
    if (t == 0) {
      for (int i = 0; i < 5; ++i) b.on_success();
    } else {
      for (int i = 0; i < 100; ++i) (void)b.stats();
    }
  });
  EXPECT_EQ(b.state(), BreakerState::closed);
}

TEST(BreakerConcurrency, RegistryUnderConcurrentKeys) {
  CircuitBreakerRegistry r(config(SlidingWindowType::count), 16, std::make_shared<ManualClock>(0));
  run_threads([&](int t) {
    for (int i = 0; i < 2'000; ++i) {
      auto b = r.get("host-" + std::to_string((i * 7 + t) % 40));
      if (b->try_acquire()) b->on_success();
    }
  });
  const BreakerRegistryStats s = r.stats();
  EXPECT_EQ(s.count, 16u);
  EXPECT_EQ(s.created, s.evictions + s.count);
}

TEST(BreakerConcurrency, SharedBreakerSyncsOncePerInterval) {
  auto clock = std::make_shared<ManualClock>(1'000'000);
  auto store = std::shared_ptr<AttributeStore>(make_memory_attribute_store());
  SharedBreakerOptions o;
  o.sync_interval = 1000;
  SharedCircuitBreaker a(config(SlidingWindowType::count), store, o, clock);
  SharedCircuitBreaker b(config(SlidingWindowType::count), store, o, clock);
  run_threads([&](int t) {
    for (int i = 0; i < 2'000; ++i) {
      if (a.try_acquire()) (t == 0 ? a.on_failure() : a.on_success());
      if (b.try_acquire()) b.on_success();
    }
  });
  EXPECT_EQ(a.shared_stats().syncs, 1u) << "the clock did not move: one sync";
  EXPECT_EQ(b.shared_stats().syncs, 1u);
  clock->advance(1000);
  run_threads([&](int) {
    for (int i = 0; i < 100; ++i) (void)b.try_acquire();
  });
  EXPECT_EQ(b.shared_stats().syncs, 2u);
  EXPECT_EQ(b.state(), a.state()) << "b follows a once synced";
}

}  // namespace
}  // namespace ratelimit
