#pragma once
/// @file resilience/errors.hpp
/// The typed errors the resilience components throw when they refuse a call.

#include <stdexcept>
#include <string>

#include "ratelimit/time.hpp"

namespace ratelimit {

/// A rate limit refused the call. `retry_after` is how long to wait before the
/// same call could be admitted (kInfinite: never, its cost exceeds the limit);
/// `scope` names the limit that refused ("local", "shared", a policy scope).
class RateLimitExceeded : public std::runtime_error {
 public:
  RateLimitExceeded(Micros retry_after, std::string scope);
  [[nodiscard]] Micros retry_after() const noexcept { return retry_after_; }
  [[nodiscard]] const std::string& scope() const noexcept { return scope_; }

 private:
  Micros retry_after_;
  std::string scope_;
};

/// A circuit breaker is open (or half-open with every probe taken): the call
/// was not made. `retry_after` is the time left until the breaker lets a
/// probe through (0 when half-open and only waiting for probes to finish).
class CircuitOpen : public std::runtime_error {
 public:
  CircuitOpen(std::string breaker, Micros retry_after);
  [[nodiscard]] const std::string& breaker() const noexcept { return breaker_; }
  [[nodiscard]] Micros retry_after() const noexcept { return retry_after_; }

 private:
  std::string breaker_;
  Micros retry_after_;
};

}  // namespace ratelimit
