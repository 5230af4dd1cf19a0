// CircuitBreakerConfig validation: every bad field throws std::invalid_argument
// naming the field and the value; good configs pass.

#include <gtest/gtest.h>

#include <cmath>
#include <functional>
#include <stdexcept>
#include <string>

#include "ratelimit/resilience/circuit_breaker.hpp"

namespace ratelimit {
namespace {

CircuitBreakerConfig time_config() {
  CircuitBreakerConfig c;
  c.window_type = SlidingWindowType::time;
  c.window_duration = 10 * kMicrosPerSecond;
  c.bucket_duration = kMicrosPerSecond;
  return c;
}

struct BadCase {
  const char* what;
  std::function<void(CircuitBreakerConfig&)> edit;
  const char* field;
  const char* value;
};

TEST(BreakerConfig, DefaultsAreValid) {
  EXPECT_NO_THROW(validate(CircuitBreakerConfig{}));
  EXPECT_NO_THROW(validate(time_config()));
}

TEST(BreakerConfig, BadFieldsAreNamedWithTheirValue) {
  const BadCase cases[] = {
      {"empty name", [](auto& c) { c.name = ""; }, "name", ""},
      {"zero window", [](auto& c) { c.window_size = 0; }, "window_size", "0"},
      {"negative window", [](auto& c) { c.window_size = -5; }, "window_size", "-5"},
      {"huge window", [](auto& c) { c.window_size = 2'000'000; }, "window_size", "2000000"},
      {"min > window",
       [](auto& c) {
         c.window_size = 5;
         c.minimum_calls = 6;
       },
       "minimum_calls", "6"},
      {"zero min", [](auto& c) { c.minimum_calls = 0; }, "minimum_calls", "0"},
      {"threshold 0", [](auto& c) { c.failure_rate_threshold = 0; }, "failure_rate_threshold",
       "0.0"},
      {"threshold > 1", [](auto& c) { c.failure_rate_threshold = 50; }, "failure_rate_threshold",
       "50"},
      {"threshold NaN", [](auto& c) { c.failure_rate_threshold = std::nan(""); },
       "failure_rate_threshold", "nan"},
      {"slow threshold", [](auto& c) { c.slow_call_rate_threshold = -0.1; },
       "slow_call_rate_threshold", "-0.1"},
      {"slow duration", [](auto& c) { c.slow_call_duration = 0; }, "slow_call_duration", "0"},
      {"wait 0", [](auto& c) { c.wait_in_open = 0; }, "wait_in_open", "0"},
      {"probes 0", [](auto& c) { c.permitted_calls_in_half_open = 0; },
       "permitted_calls_in_half_open", "0"},
      {"close > probes", [](auto& c) { c.successes_to_close = 4; }, "successes_to_close", "4"},
      {"close 0", [](auto& c) { c.successes_to_close = 0; }, "successes_to_close", "0"},
  };
  for (const BadCase& k : cases) {
    CircuitBreakerConfig c;
    k.edit(c);
    try {
      validate(c);
      ADD_FAILURE() << k.what << ": no exception";
    } catch (const std::invalid_argument& e) {
      const std::string msg = e.what();
      EXPECT_NE(msg.find(k.field), std::string::npos) << k.what << ": " << msg;
      EXPECT_NE(msg.find(k.value), std::string::npos) << k.what << ": " << msg;
    }
    EXPECT_THROW(CircuitBreaker(c, std::make_shared<ManualClock>()), std::invalid_argument)
        << k.what;
  }
}

TEST(BreakerConfig, TimeWindowShape) {
  const BadCase cases[] = {
      {"bucket 0", [](auto& c) { c.bucket_duration = 0; }, "bucket_duration", "0"},
      {"not a multiple", [](auto& c) { c.window_duration = 2'500'000; }, "window_duration",
       "2500000"},
      {"shorter than a bucket", [](auto& c) { c.window_duration = 1000; }, "window_duration",
       "1000"},
      {"too many buckets",
       [](auto& c) {
         c.bucket_duration = 1;
         c.window_duration = 200'000;
       },
       "window_duration", "200000"},
  };
  for (const BadCase& k : cases) {
    CircuitBreakerConfig c = time_config();
    k.edit(c);
    try {
      validate(c);
      ADD_FAILURE() << k.what << ": no exception";
    } catch (const std::invalid_argument& e) {
      const std::string msg = e.what();
      EXPECT_NE(msg.find(k.field), std::string::npos) << k.what << ": " << msg;
      EXPECT_NE(msg.find(k.value), std::string::npos) << k.what << ": " << msg;
    }
  }
  // A time window may judge fewer calls than minimum_calls could ever need: fine.
  CircuitBreakerConfig c = time_config();
  c.minimum_calls = 1000;
  EXPECT_NO_THROW(validate(c));
}

TEST(BreakerConfig, EnumNames) {
  EXPECT_EQ(to_string(BreakerState::closed), "closed");
  EXPECT_EQ(to_string(BreakerState::open), "open");
  EXPECT_EQ(to_string(BreakerState::half_open), "half_open");
  EXPECT_EQ(to_string(SlidingWindowType::count), "count");
  EXPECT_EQ(to_string(SlidingWindowType::time), "time");
  EXPECT_EQ(to_string(TransitionReason::wait_elapsed), "wait_elapsed");
  EXPECT_EQ(to_string(TransitionReason::probes_failed), "probes_failed");
}

}  // namespace
}  // namespace ratelimit
