#pragma once
// Input checks shared by every LeaseStore, so the memory and the Redis store
// refuse the same bad call with the same InvalidRequest (internal).

#include <cstdint>
#include <string_view>

#include "ratelimit/resilience/lease_store.hpp"

namespace ratelimit::concurrency {

/// Throws InvalidRequest unless `key` has 1 .. LeaseStore::kMaxKeyLength bytes.
void validate_lease_key(std::string_view key);
/// Throws InvalidRequest unless `id` has 1 .. LeaseStore::kMaxLeaseIdLength bytes.
void validate_lease_id(std::string_view id);
/// Throws InvalidRequest unless 1 <= limit <= LeaseStore::kMaxLimit.
void validate_lease_limit(std::int64_t limit);
/// Throws InvalidRequest unless `now` is in 0 .. kMaxInstant, `ttl` > 0 and
/// `now + ttl` <= kMaxInstant.
void validate_lease_times(Micros now, Micros ttl);

/// Throws std::invalid_argument ("<owner>: limit must be in 1 .. <max>, got
/// <limit>") for a limiter's configured limit.
void require_limiter_limit(std::string_view owner, std::int64_t limit, std::int64_t max);

/// A lease id unique within this process and, with high probability, across
/// processes: a random 64-bit prefix drawn once per process, then a counter
/// ("3f9a...c2-17"). Thread-safe.
[[nodiscard]] std::string next_lease_id();

}  // namespace ratelimit::concurrency
