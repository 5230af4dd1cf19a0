// Names of the breaker's enums and the validation of its settings.

#include <cmath>
#include <stdexcept>
#include <string>

#include "ratelimit/resilience/circuit_breaker.hpp"

namespace ratelimit {

std::string_view to_string(BreakerState s) noexcept {
  switch (s) {
    case BreakerState::closed:
      return "closed";
    case BreakerState::open:
      return "open";
    case BreakerState::half_open:
      return "half_open";
  }
  return "?";
}

std::string_view to_string(SlidingWindowType t) noexcept {
  switch (t) {
    case SlidingWindowType::count:
      return "count";
    case SlidingWindowType::time:
      return "time";
  }
  return "?";
}

std::string_view to_string(TransitionReason r) noexcept {
  switch (r) {
    case TransitionReason::failure_rate:
      return "failure_rate";
    case TransitionReason::slow_call_rate:
      return "slow_call_rate";
    case TransitionReason::wait_elapsed:
      return "wait_elapsed";
    case TransitionReason::probes_succeeded:
      return "probes_succeeded";
    case TransitionReason::probes_failed:
      return "probes_failed";
    case TransitionReason::external:
      return "external";
    case TransitionReason::forced_open:
      return "forced_open";
    case TransitionReason::forced_closed:
      return "forced_closed";
    case TransitionReason::reset:
      return "reset";
  }
  return "?";
}

namespace {

[[noreturn]] void reject(const CircuitBreakerConfig& c, std::string_view field,
                         const std::string& value, std::string_view expected) {
  throw std::invalid_argument("circuit breaker '" + c.name + "': " + std::string(field) +
                              " must be " + std::string(expected) + ", got " + value);
}

void require_fraction(const CircuitBreakerConfig& c, std::string_view field, double v) {
  if (!(v > 0.0 && v <= 1.0)) reject(c, field, std::to_string(v), "a fraction in (0, 1]");
}

}  // namespace

void validate(const CircuitBreakerConfig& c) {
  if (c.name.empty()) throw std::invalid_argument("circuit breaker: name must not be empty");
  switch (c.window_type) {
    case SlidingWindowType::count:
      if (c.window_size < 1 || c.window_size > CircuitBreakerConfig::kMaxWindowSize) {
        reject(c, "window_size", std::to_string(c.window_size),
               "in 1 .. " + std::to_string(CircuitBreakerConfig::kMaxWindowSize));
      }
      if (c.minimum_calls > c.window_size) {
        reject(c, "minimum_calls", std::to_string(c.minimum_calls),
               "at most window_size (" + std::to_string(c.window_size) + ") for a count window");
      }
      break;
    case SlidingWindowType::time:
      if (c.bucket_duration < 1)
        reject(c, "bucket_duration", std::to_string(c.bucket_duration), "at least 1 us");
      if (c.window_duration < c.bucket_duration || c.window_duration % c.bucket_duration != 0) {
        reject(c, "window_duration", std::to_string(c.window_duration),
               "a positive multiple of bucket_duration (" + std::to_string(c.bucket_duration) +
                   " us)");
      }
      if (c.window_duration / c.bucket_duration > CircuitBreakerConfig::kMaxBuckets) {
        reject(c, "window_duration", std::to_string(c.window_duration),
               "at most " + std::to_string(CircuitBreakerConfig::kMaxBuckets) +
                   " buckets of bucket_duration");
      }
      break;
    default:
      reject(c, "window_type", std::to_string(static_cast<int>(c.window_type)), "count or time");
  }
  require_fraction(c, "failure_rate_threshold", c.failure_rate_threshold);
  require_fraction(c, "slow_call_rate_threshold", c.slow_call_rate_threshold);
  if (c.slow_call_duration && *c.slow_call_duration < 1) {
    reject(c, "slow_call_duration", std::to_string(*c.slow_call_duration),
           "at least 1 us (or unset)");
  }
  if (c.minimum_calls < 1)
    reject(c, "minimum_calls", std::to_string(c.minimum_calls), "at least 1");
  if (c.wait_in_open < 1 || c.wait_in_open > kMaxInstant) {
    reject(c, "wait_in_open", std::to_string(c.wait_in_open), "in 1 .. 2^53 us");
  }
  if (c.permitted_calls_in_half_open < 1) {
    reject(c, "permitted_calls_in_half_open", std::to_string(c.permitted_calls_in_half_open),
           "at least 1");
  }
  if (c.successes_to_close < 1 || c.successes_to_close > c.permitted_calls_in_half_open) {
    reject(c, "successes_to_close", std::to_string(c.successes_to_close),
           "in 1 .. permitted_calls_in_half_open (" +
               std::to_string(c.permitted_calls_in_half_open) + ")");
  }
}

}  // namespace ratelimit
