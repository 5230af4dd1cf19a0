#pragma once
// Validation of a store request, shared by every Store implementation (internal).

#include <cstdint>
#include <span>

#include "ratelimit/store.hpp"

namespace ratelimit {

/// Throws InvalidRequest unless 0 <= now <= kMaxInstant.
void validate_instant(Micros now);
/// Everything about a request but its instant: 1..kMaxChecks checks with a
/// spec, a distinct non-empty key of at most kMaxKeyLength bytes and a check
/// cost of Check::kDecisionCost or 0..kMaxLimit, a cost in 0..kMaxLimit, and
/// `each` empty or one per check. Throws InvalidRequest.
void validate_request(std::span<const Check> checks, std::int64_t cost, std::span<Decision> each);

/// The units check `c` is charged in a decision of `cost` (valid input): 0
/// for a peek, else the check's own cost unless it is kDecisionCost.
[[nodiscard]] inline std::int64_t effective_cost(const Check& c, std::int64_t cost) noexcept {
  return cost == 0 || c.cost == Check::kDecisionCost ? cost : c.cost;
}

}  // namespace ratelimit
