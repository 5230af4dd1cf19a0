// Input validation shared by every store: the same bad request gets the same
// InvalidRequest from the memory store and the Redis store.

#include "core/request_validation.hpp"

#include <string>

namespace ratelimit {

void validate_instant(Micros now) {
  if (now < 0 || now > kMaxInstant) {
    throw InvalidRequest("instant " + std::to_string(now) + " µs is outside 0 .. 2^53 µs since the epoch");
  }
}

// Everything about a request but its instant (see validate_instant).
void validate_request(std::span<const Check> checks, std::int64_t cost, std::span<Decision> each) {
  if (checks.empty()) throw InvalidRequest("a decision needs at least one check");
  if (checks.size() > Store::kMaxChecks) {
    throw InvalidRequest("a decision has " + std::to_string(checks.size()) + " checks; at most " +
                         std::to_string(Store::kMaxChecks) + " are allowed");
  }
  if (!each.empty() && each.size() != checks.size()) {
    throw InvalidRequest("`each` must hold one decision per check (" + std::to_string(checks.size()) + "), got " +
                         std::to_string(each.size()));
  }
  if (cost < 0) throw InvalidRequest("cost must be 0 (peek) or positive, got " + std::to_string(cost));
  if (cost > LimitSpec::kMaxLimit) {
    throw InvalidRequest("cost " + std::to_string(cost) + " exceeds the maximum " + std::to_string(LimitSpec::kMaxLimit));
  }
  for (std::size_t i = 0; i < checks.size(); ++i) {
    const Check& c = checks[i];
    if (c.spec == nullptr) throw InvalidRequest("check " + std::to_string(i) + " has no limit spec");
    if (c.key.empty()) throw InvalidRequest("check " + std::to_string(i) + " has an empty key");
    if (c.cost != Check::kDecisionCost && (c.cost < 0 || c.cost > LimitSpec::kMaxLimit)) {
      throw InvalidRequest("check " + std::to_string(i) + " cost " + std::to_string(c.cost) +
                           " is neither Check::kDecisionCost (-1) nor in 0 .. " +
                           std::to_string(LimitSpec::kMaxLimit));
    }
    if (c.key.size() > Store::kMaxKeyLength) {
      throw InvalidRequest("check " + std::to_string(i) + " key is " + std::to_string(c.key.size()) +
                           " bytes; at most " + std::to_string(Store::kMaxKeyLength) + " are allowed");
    }
    for (std::size_t j = 0; j < i; ++j) {
      if (checks[j].key == c.key) {
        throw InvalidRequest("checks " + std::to_string(j) + " and " + std::to_string(i) + " use the same key '" +
                             std::string(c.key) + "'; each state may appear once per decision");
      }
    }
  }
}


}  // namespace ratelimit
