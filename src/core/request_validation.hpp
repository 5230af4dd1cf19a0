#pragma once
// Validation of a store request, shared by every Store implementation (internal).

#include <cstdint>
#include <span>

#include "ratelimit/store.hpp"

namespace ratelimit {

/// Throws InvalidRequest unless 0 <= now <= kMaxInstant.
void validate_instant(Micros now);
/// Everything about a request but its instant: 1..kMaxChecks checks with a
/// spec and a distinct non-empty key of at most kMaxKeyLength bytes, a cost
/// in 0..kMaxLimit, and `each` empty or one per check. Throws InvalidRequest.
void validate_request(std::span<const Check> checks, std::int64_t cost, std::span<Decision> each);

}  // namespace ratelimit
