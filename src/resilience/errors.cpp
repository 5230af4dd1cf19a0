#include "ratelimit/resilience/errors.hpp"

#include <string>
#include <utility>

namespace ratelimit {

namespace {
std::string describe_wait(Micros wait) {
  if (wait == kInfinite) return "never";
  return "in " + std::to_string(wait) + " us";
}
}  // namespace

RateLimitExceeded::RateLimitExceeded(Micros retry_after, std::string scope)
    : std::runtime_error("rate limit exceeded (" + scope + "): retry " + describe_wait(retry_after)),
      retry_after_(retry_after),
      scope_(std::move(scope)) {}

CircuitOpen::CircuitOpen(std::string breaker, Micros retry_after)
    : std::runtime_error("circuit '" + breaker + "' is open: retry " + describe_wait(retry_after)),
      breaker_(std::move(breaker)),
      retry_after_(retry_after) {}

}  // namespace ratelimit
