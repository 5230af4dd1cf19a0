// CircuitBreaker on a ManualClock: when it opens (count and time windows,
// failure and slow-call rates), the exact instant it turns half-open, the
// probes, forced states, call()/fallback, listeners and statistics.

#include "ratelimit/resilience/circuit_breaker.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

namespace ratelimit {
namespace {

constexpr Micros kStart = 1'000'000'000;
constexpr Micros kWait = 5 * kMicrosPerSecond;

// A ManualClock that counts its readings, to check when the breaker reads it.
class CountingClock final : public Clock {
 public:
  [[nodiscard]] Micros now() const noexcept override {
    reads.fetch_add(1);
    return clock.now();
  }
  ManualClock clock{kStart};
  mutable std::atomic<int> reads{0};
};

CircuitBreakerConfig count_config(std::int64_t window, std::int64_t minimum, double threshold) {
  CircuitBreakerConfig c;
  c.name = "upstream";
  c.window_size = window;
  c.minimum_calls = minimum;
  c.failure_rate_threshold = threshold;
  c.wait_in_open = kWait;
  c.permitted_calls_in_half_open = 1;
  c.successes_to_close = 1;
  return c;
}

struct Harness {
  explicit Harness(CircuitBreakerConfig c)
      : clock(std::make_shared<ManualClock>(kStart)), breaker(std::move(c), clock) {
    breaker.add_listener([this](const Transition& t) { log.push_back(t); });
  }
  // Feeds outcomes: 'S' success, 'F' failure.
  void feed(const std::string& outcomes) {
    for (char o : outcomes) {
      ASSERT_TRUE(breaker.try_acquire());
      if (o == 'F')
        breaker.on_failure();
      else
        breaker.on_success();
    }
  }
  void open_now() {
    breaker.force_closed();  // (no-op for judging) then a clean, judged window
    breaker.reset();
    for (std::int64_t i = 0; i < breaker.config().minimum_calls; ++i) breaker.on_failure();
    ASSERT_EQ(breaker.state(), BreakerState::open);
    log.clear();
  }
  std::shared_ptr<ManualClock> clock;
  CircuitBreaker breaker;
  std::vector<Transition> log;
};

TEST(BreakerCircuit, CountWindowOpensAtThresholdOnceMinimumCallsAreIn) {
  struct Row {
    const char* outcomes;
    BreakerState expected;
  };
  // window 10, minimum 4, threshold 0.5
  const Row rows[] = {
      {"FFF", BreakerState::closed},                                       // 100 % but only 3 calls
      {"SFS", BreakerState::closed},      {"SFSS", BreakerState::closed},  // 25 %
      {"SFSF", BreakerState::open},                                        // 50 % at the 4th call
      {"FFFF", BreakerState::open},       {"SSSSSSFFFF", BreakerState::closed},  // 40 %
      {"SSSSSFFFFF", BreakerState::open},                                        // 50 %
  };
  for (const Row& r : rows) {
    Harness h(count_config(10, 4, 0.5));
    h.feed(r.outcomes);
    EXPECT_EQ(h.breaker.state(), r.expected) << r.outcomes;
  }
}

TEST(BreakerCircuit, ThresholdIsComparedExactly) {
  // 0.3 * 10 is 3.0000000000000004 in doubles; 3 failures of 10 must open.
  Harness open(count_config(10, 10, 0.3));
  open.feed("SSSSSSSFFF");
  EXPECT_EQ(open.breaker.state(), BreakerState::open);
  ASSERT_EQ(open.log.size(), 1u);
  EXPECT_EQ(open.log[0].reason, TransitionReason::failure_rate);
  Harness closed(count_config(10, 10, 0.3));
  closed.feed("SSSSSSSSFF");
  EXPECT_EQ(closed.breaker.state(), BreakerState::closed);
}

TEST(BreakerCircuit, CountWindowSlides) {
  // window 4, minimum 4, threshold 0.75: the first S leaves at the 5th call.
  Harness h(count_config(4, 4, 0.75));
  h.feed("SFFS");
  EXPECT_EQ(h.breaker.state(), BreakerState::closed);  // 2/4
  h.feed("F");
  EXPECT_EQ(h.breaker.state(), BreakerState::open);  // F F S F = 3/4
}

TEST(BreakerCircuit, CountWindowMatchesAReferenceOnEverySequence) {
  // Every sequence of 10 outcomes, window 4, minimum 4, threshold 0.75: the
  // breaker opens iff some 4 consecutive calls hold 3 failures.
  for (unsigned bits = 0; bits < (1u << 10); ++bits) {
    std::string seq;
    bool expect_open = false;
    for (unsigned i = 0; i < 10; ++i) {
      seq += ((bits >> i) & 1u) != 0 ? 'F' : 'S';
      if (i >= 3) {
        int failures = 0;
        for (unsigned j = i - 3; j <= i; ++j) failures += seq[j] == 'F' ? 1 : 0;
        expect_open = expect_open || failures >= 3;
      }
    }
    Harness h(count_config(4, 4, 0.75));
    for (char o : seq) {
      if (o == 'F')
        h.breaker.on_failure();
      else
        h.breaker.on_success();
    }
    EXPECT_EQ(h.breaker.state(), expect_open ? BreakerState::open : BreakerState::closed) << seq;
  }
}

TEST(BreakerCircuit, OpenTurnsHalfOpenAtExactlyOpenedAtPlusWait) {
  Harness h(count_config(4, 2, 0.5));
  h.feed("F");
  h.clock->advance(123);
  const Micros opened_at = h.clock->now();
  h.feed("F");
  ASSERT_EQ(h.breaker.state(), BreakerState::open);
  ASSERT_EQ(h.log.size(), 1u);
  EXPECT_EQ(h.log[0], (Transition{BreakerState::closed, BreakerState::open, opened_at,
                                  TransitionReason::failure_rate}));

  h.clock->set(opened_at + kWait - 1);
  EXPECT_EQ(h.breaker.retry_after(), 1);
  EXPECT_FALSE(h.breaker.try_acquire());
  EXPECT_EQ(h.breaker.state(), BreakerState::open);
  bool called = false;
  try {
    h.breaker.call([&] { called = true; });
    ADD_FAILURE() << "call went through an open breaker";
  } catch (const CircuitOpen& e) {
    EXPECT_EQ(e.breaker(), "upstream");
    EXPECT_EQ(e.retry_after(), 1);
  }
  EXPECT_FALSE(called);

  h.clock->set(opened_at + kWait);
  EXPECT_TRUE(h.breaker.try_acquire());  // the probe
  EXPECT_EQ(h.breaker.state(), BreakerState::half_open);
  ASSERT_EQ(h.log.size(), 2u);
  EXPECT_EQ(h.log[1], (Transition{BreakerState::open, BreakerState::half_open, opened_at + kWait,
                                  TransitionReason::wait_elapsed}));
  EXPECT_FALSE(h.breaker.try_acquire());  // the only probe is out
  EXPECT_EQ(h.breaker.retry_after(), 0);
  h.breaker.on_success();
  EXPECT_EQ(h.breaker.state(), BreakerState::closed);
  EXPECT_EQ(h.log.back().reason, TransitionReason::probes_succeeded);
  EXPECT_EQ(h.breaker.stats().window_calls, 0) << "a closed period starts with an empty window";
  EXPECT_EQ(h.breaker.stats().not_permitted, 3u);
}

TEST(BreakerCircuit, FailedProbeReopensForAnotherFullWait) {
  Harness h(count_config(4, 2, 0.5));
  h.open_now();
  h.clock->advance(kWait);
  ASSERT_TRUE(h.breaker.try_acquire());
  h.clock->advance(7);
  const Micros failed_at = h.clock->now();
  h.breaker.on_failure();
  EXPECT_EQ(h.breaker.state(), BreakerState::open);
  ASSERT_EQ(h.log.size(), 2u);
  EXPECT_EQ(h.log[1], (Transition{BreakerState::half_open, BreakerState::open, failed_at,
                                  TransitionReason::probes_failed}));
  h.clock->set(failed_at + kWait - 1);
  EXPECT_FALSE(h.breaker.try_acquire());
  h.clock->set(failed_at + kWait);
  EXPECT_TRUE(h.breaker.try_acquire());
}

TEST(BreakerCircuit, ProbesCloseAfterSuccessesAndToleratePermittedMinusNeededFailures) {
  CircuitBreakerConfig c = count_config(4, 2, 0.5);
  c.permitted_calls_in_half_open = 3;
  c.successes_to_close = 2;  // one failed probe of three is tolerated
  {
    Harness h(c);
    h.open_now();
    h.clock->advance(kWait);
    for (int i = 0; i < 3; ++i) EXPECT_TRUE(h.breaker.try_acquire()) << i;
    EXPECT_FALSE(h.breaker.try_acquire());
    h.breaker.on_failure();
    EXPECT_EQ(h.breaker.state(), BreakerState::half_open);
    h.breaker.on_success();
    EXPECT_EQ(h.breaker.state(), BreakerState::half_open);
    h.breaker.on_success();
    EXPECT_EQ(h.breaker.state(), BreakerState::closed);
  }
  {
    Harness h(c);
    h.open_now();
    h.clock->advance(kWait);
    for (int i = 0; i < 3; ++i) EXPECT_TRUE(h.breaker.try_acquire()) << i;
    h.breaker.on_success();
    h.breaker.on_failure();
    EXPECT_EQ(h.breaker.state(), BreakerState::half_open);
    h.breaker.on_failure();  // two failures: two successes are out of reach
    EXPECT_EQ(h.breaker.state(), BreakerState::open);
  }
}

TEST(BreakerCircuit, ReleasedProbeFreesItsSlotAndLateResultsJudgeNothing) {
  Harness h(count_config(4, 2, 0.5));
  h.open_now();
  h.breaker.on_success();  // a late result while open: counted, judges nothing
  EXPECT_EQ(h.breaker.state(), BreakerState::open);
  h.clock->advance(kWait);
  ASSERT_TRUE(h.breaker.try_acquire());
  EXPECT_FALSE(h.breaker.try_acquire());
  h.breaker.release();
  EXPECT_EQ(h.breaker.state(), BreakerState::half_open);
  ASSERT_TRUE(h.breaker.try_acquire());
  h.breaker.on_success();
  EXPECT_EQ(h.breaker.state(), BreakerState::closed);
  const CircuitBreakerStats s = h.breaker.stats();
  EXPECT_EQ(s.calls, 2u + 2u);  // two failures that opened it, the late success, the probe
  EXPECT_EQ(s.failures, 2u);
  EXPECT_EQ(s.successes, 2u);
}

TEST(BreakerCircuit, TimeWindowCountsTheLastBuckets) {
  CircuitBreakerConfig c = count_config(1, 1, 0.5);
  c.window_type = SlidingWindowType::time;
  c.window_duration = 10 * kMicrosPerSecond;
  c.bucket_duration = kMicrosPerSecond;
  c.minimum_calls = 2;
  const Micros t0 = 100 * kMicrosPerSecond;  // a bucket boundary
  {
    // Both failures inside the window (buckets 100 and 109): opens.
    Harness h(c);
    h.clock->set(t0);
    h.feed("F");
    h.clock->set(t0 + 10 * kMicrosPerSecond - 1);
    h.feed("F");
    EXPECT_EQ(h.breaker.state(), BreakerState::open);
  }
  {
    // At t0 + 10 s the bucket of t0 has left: one call, below the minimum.
    Harness h(c);
    h.clock->set(t0);
    h.feed("F");
    h.clock->set(t0 + 10 * kMicrosPerSecond);
    h.feed("F");
    EXPECT_EQ(h.breaker.state(), BreakerState::closed);
    EXPECT_EQ(h.breaker.stats().window_calls, 1);
    h.feed("S");  // 1 of 2 failed: 50 %, and the success brought the minimum
    EXPECT_EQ(h.breaker.state(), BreakerState::open);
  }
}

TEST(BreakerCircuit, TimeWindowMatchesAReferenceAcrossSkippedBuckets) {
  // 5 buckets of 1 ms, minimum 3, threshold 0.5; pseudo-random gaps of 0 to
  // 2.5 ms skip buckets. The breaker must open at exactly the call where a
  // reference count over the last 5 buckets first reaches 50 %.
  CircuitBreakerConfig c = count_config(1, 1, 0.5);
  c.window_type = SlidingWindowType::time;
  c.bucket_duration = kMicrosPerMilli;
  c.window_duration = 5 * kMicrosPerMilli;
  c.minimum_calls = 3;
  std::uint64_t seed = 12345;
  const auto next = [&seed](std::uint64_t bound) {
    seed = seed * 6364136223846793005u + 1442695040888963407u;
    return (seed >> 33) % bound;
  };
  for (int run = 0; run < 300; ++run) {
    Harness h(c);
    struct Event {
      std::int64_t epoch;
      bool failed;
    };
    std::vector<Event> events;
    int expected_open_at = -1;
    int opened_at = -1;
    for (int i = 0; i < 40; ++i) {
      h.clock->advance(static_cast<Micros>(next(2500)));
      const bool failed = next(100) < 35;
      const std::int64_t epoch = h.clock->now() / kMicrosPerMilli;
      events.push_back({epoch, failed});
      std::int64_t calls = 0, failures = 0;
      for (const Event& e : events) {
        if (e.epoch > epoch - 5) {
          ++calls;
          failures += e.failed ? 1 : 0;
        }
      }
      if (failed)
        h.breaker.on_failure();
      else
        h.breaker.on_success();
      if (expected_open_at < 0 && calls >= 3 && 2 * failures >= calls) expected_open_at = i;
      if (opened_at < 0 && h.breaker.state() == BreakerState::open) opened_at = i;
      if (opened_at < 0) {
        ASSERT_EQ(h.breaker.stats().window_calls, calls) << "run " << run << " call " << i;
      }
      if (opened_at >= 0) break;
    }
    ASSERT_EQ(opened_at, expected_open_at) << "run " << run;
  }
}

TEST(BreakerCircuit, TimeWindowMemoryIsPerBucketNotPerCall) {
  CircuitBreakerConfig c = count_config(1, 1, 0.5);
  c.window_type = SlidingWindowType::time;
  c.window_duration = 2 * kMicrosPerSecond;
  c.bucket_duration = kMicrosPerSecond;
  c.minimum_calls = 100;
  Harness h(c);
  for (int i = 0; i < 10'000; ++i) h.breaker.on_success();
  for (int i = 0; i < 4'000; ++i) h.breaker.on_failure();
  EXPECT_EQ(h.breaker.state(), BreakerState::closed);  // 28.6 %
  for (int i = 0; i < 6'000; ++i) h.breaker.on_failure();
  EXPECT_EQ(h.breaker.state(), BreakerState::open);  // reached 50 % at 10 000 of 20 000
  EXPECT_EQ(h.breaker.stats().calls, 20'000u);
}

TEST(BreakerCircuit, SlowCallsOpenAtTheirOwnThreshold) {
  CircuitBreakerConfig c = count_config(2, 2, 1.0);
  c.slow_call_duration = 100 * kMicrosPerMilli;
  c.slow_call_rate_threshold = 0.5;
  Harness h(c);
  h.breaker.on_success(100 * kMicrosPerMilli - 1);
  h.breaker.on_success(100 * kMicrosPerMilli - 1);
  EXPECT_EQ(h.breaker.state(), BreakerState::closed);
  h.breaker.on_success(100 * kMicrosPerMilli);  // at the threshold: slow
  EXPECT_EQ(h.breaker.state(), BreakerState::open);
  ASSERT_EQ(h.log.size(), 1u);
  EXPECT_EQ(h.log[0].reason, TransitionReason::slow_call_rate);
  EXPECT_EQ(h.breaker.stats().slow_calls, 1u);
  EXPECT_EQ(h.breaker.stats().failures, 0u);
}

TEST(BreakerCircuit, CallTimesTheFunctionWithTheBreakersClock) {
  CircuitBreakerConfig c = count_config(1, 1, 1.0);
  c.slow_call_duration = 50;
  c.slow_call_rate_threshold = 1.0;
  Harness h(c);
  EXPECT_EQ(h.breaker.call([&] {
    h.clock->advance(49);
    return 7;
  }),
            7);
  EXPECT_EQ(h.breaker.state(), BreakerState::closed);
  h.breaker.call([&] { h.clock->advance(50); });
  EXPECT_EQ(h.breaker.state(), BreakerState::open);
}

TEST(BreakerCircuit, ClosedCountWindowWithoutSlowDetectionNeverReadsTheClock) {
  auto clock = std::make_shared<CountingClock>();
  CircuitBreaker b(count_config(10, 5, 0.5), clock);
  const int before = clock->reads.load();
  for (int i = 0; i < 100; ++i) EXPECT_EQ(b.call([i] { return i; }), i);
  EXPECT_EQ(clock->reads.load(), before);
  // A failure is stamped (last_failure_at), so it reads the clock.
  EXPECT_THROW(b.call([]() -> int { throw std::runtime_error("down"); }), std::runtime_error);
  EXPECT_GT(clock->reads.load(), before);
  EXPECT_EQ(b.stats().last_failure_at, kStart);
}

TEST(BreakerCircuit, CallRecordsExceptionsPerPredicateAndRethrows) {
  CircuitBreakerConfig c = count_config(2, 2, 0.5);
  c.is_failure = [](const std::exception& e) {
    return dynamic_cast<const std::invalid_argument*>(&e) == nullptr;
  };
  Harness h(c);
  for (int i = 0; i < 5; ++i) {
    EXPECT_THROW(h.breaker.call([] { throw std::invalid_argument("caller's fault"); }),
                 std::invalid_argument);
  }
  EXPECT_EQ(h.breaker.state(), BreakerState::closed);
  EXPECT_EQ(h.breaker.stats().calls, 0u) << "ignored exceptions are neither successes nor failures";
  EXPECT_THROW(h.breaker.call([] { throw std::runtime_error("down"); }), std::runtime_error);
  EXPECT_THROW(h.breaker.call([] { throw 42; }), int);  // not a std::exception: always a failure
  EXPECT_EQ(h.breaker.state(), BreakerState::open);
  EXPECT_EQ(h.breaker.stats().failures, 2u);
}

TEST(BreakerCircuit, IgnoredExceptionGivesTheProbeBack) {
  CircuitBreakerConfig c = count_config(2, 1, 0.5);
  c.is_failure = [](const std::exception& e) {
    return dynamic_cast<const std::invalid_argument*>(&e) == nullptr;
  };
  Harness h(c);
  h.open_now();
  h.clock->advance(kWait);
  EXPECT_THROW(h.breaker.call([] { throw std::invalid_argument("bad input"); }),
               std::invalid_argument);
  EXPECT_EQ(h.breaker.state(), BreakerState::half_open);
  EXPECT_EQ(h.breaker.call([] { return 1; }), 1);  // the probe slot was free again
  EXPECT_EQ(h.breaker.state(), BreakerState::closed);
}

TEST(BreakerCircuit, FallbackAnswersRefusalsOnly) {
  Harness h(count_config(2, 1, 0.5));
  const auto fallback = [](const CircuitOpen& e) { return std::string("fallback:") + e.breaker(); };
  EXPECT_EQ(h.breaker.call([] { return std::string("real"); }, fallback), "real");
  EXPECT_THROW(h.breaker.call([]() -> std::string { throw std::runtime_error("down"); }, fallback),
               std::runtime_error);
  ASSERT_EQ(h.breaker.state(), BreakerState::open);
  int calls = 0;
  Micros seen_retry = -1;
  EXPECT_EQ(h.breaker.call(
                [&] {
                  ++calls;
                  return std::string("real");
                },
                [&](const CircuitOpen& e) {
                  seen_retry = e.retry_after();
                  return std::string("cached");
                }),
            "cached");
  EXPECT_EQ(calls, 0);
  EXPECT_EQ(seen_retry, kWait);
}

TEST(BreakerCircuit, ForceOpenHoldsUntilReset) {
  Harness h(count_config(2, 1, 0.5));
  h.breaker.force_open();
  EXPECT_EQ(h.breaker.state(), BreakerState::open);
  EXPECT_FALSE(h.breaker.try_acquire());
  EXPECT_EQ(h.breaker.retry_after(), kInfinite);
  h.clock->advance(10 * kWait);
  EXPECT_FALSE(h.breaker.try_acquire()) << "no probes while forced open";
  EXPECT_TRUE(h.breaker.stats().forced);
  EXPECT_FALSE(h.breaker.open_until(h.clock->now() + 1)) << "forced states ignore open_until";
  h.breaker.reset();
  EXPECT_TRUE(h.breaker.try_acquire());
  EXPECT_FALSE(h.breaker.stats().forced);
  ASSERT_EQ(h.log.size(), 2u);
  EXPECT_EQ(h.log[0].reason, TransitionReason::forced_open);
  EXPECT_EQ(h.log[1], (Transition{BreakerState::open, BreakerState::closed, h.clock->now(),
                                  TransitionReason::reset}));
}

TEST(BreakerCircuit, ForceClosedIgnoresFailuresUntilReset) {
  Harness h(count_config(2, 1, 0.5));
  h.breaker.force_closed();
  h.feed("FFFFF");
  EXPECT_EQ(h.breaker.state(), BreakerState::closed);
  EXPECT_EQ(h.breaker.stats().failures, 5u);
  EXPECT_TRUE(h.breaker.stats().forced);
  h.breaker.reset();
  h.feed("F");
  EXPECT_EQ(h.breaker.state(), BreakerState::open);
}

TEST(BreakerCircuit, OpenUntilOpensExternallyAndExtends) {
  Harness h(count_config(2, 1, 0.5));
  const Micros until = kStart + 1000;
  EXPECT_FALSE(h.breaker.open_until(kStart)) << "not in the future";
  EXPECT_TRUE(h.breaker.open_until(until));
  EXPECT_EQ(h.log.back(), (Transition{BreakerState::closed, BreakerState::open, kStart,
                                      TransitionReason::external}));
  EXPECT_FALSE(h.breaker.open_until(until - 1));
  EXPECT_TRUE(h.breaker.open_until(until + 1));
  h.clock->set(until);
  EXPECT_FALSE(h.breaker.try_acquire());
  h.clock->set(until + 1);
  EXPECT_TRUE(h.breaker.try_acquire());
  EXPECT_EQ(h.breaker.state(), BreakerState::half_open);
}

TEST(BreakerCircuit, ListenersRunOutsideTheLockAndTheirErrorsAreCounted) {
  Harness h(count_config(2, 1, 0.5));
  std::vector<std::string> seen;
  h.breaker.add_listener([&](const Transition& t) {
    // Calling back into the breaker must not deadlock.
    seen.push_back(std::string(to_string(t.to)) + "/" + std::string(to_string(h.breaker.state())) +
                   "/" + std::to_string(h.breaker.stats().calls));
  });
  h.breaker.add_listener([](const Transition&) { throw std::runtime_error("listener bug"); });
  h.feed("F");
  ASSERT_EQ(seen.size(), 1u);
  EXPECT_EQ(seen[0], "open/open/1");
  EXPECT_EQ(h.breaker.stats().listener_errors, 1u);
  EXPECT_EQ(h.log.size(), 1u) << "the first listener still ran";
}

TEST(BreakerCircuit, StatsDescribeCountersAndTheWindow) {
  Harness h(count_config(10, 10, 0.5));
  h.clock->advance(10);
  h.feed("SSF");
  h.clock->advance(5);
  h.feed("FS");
  CircuitBreakerStats s = h.breaker.stats();
  EXPECT_EQ(s.state, BreakerState::closed);
  EXPECT_EQ(s.calls, 5u);
  EXPECT_EQ(s.successes, 3u);
  EXPECT_EQ(s.failures, 2u);
  EXPECT_EQ(s.window_calls, 5);
  EXPECT_DOUBLE_EQ(s.failure_rate, 0.4);
  EXPECT_DOUBLE_EQ(s.success_rate, 0.6);
  EXPECT_DOUBLE_EQ(s.slow_call_rate, 0.0);
  EXPECT_EQ(s.last_failure_at, kStart + 15);
  EXPECT_EQ(s.last_state_change_at, kStart);
  h.breaker.force_open();
  EXPECT_FALSE(h.breaker.try_acquire());
  s = h.breaker.stats();
  EXPECT_EQ(s.not_permitted, 1u);
  EXPECT_EQ(s.last_state_change_at, kStart + 15);
  EXPECT_EQ(s.window_calls, 0);
  EXPECT_EQ(s.calls, 5u) << "counters are cumulative";
}

}  // namespace
}  // namespace ratelimit
