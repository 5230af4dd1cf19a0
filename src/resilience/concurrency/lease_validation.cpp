#include "resilience/concurrency/lease_validation.hpp"

#include <atomic>
#include <cstdio>
#include <random>
#include <stdexcept>
#include <string>

#include "core/request_validation.hpp"

namespace ratelimit::concurrency {

void validate_lease_key(std::string_view key) {
  if (key.empty()) throw InvalidRequest("lease key must not be empty");
  if (key.size() > LeaseStore::kMaxKeyLength) {
    throw InvalidRequest("lease key has " + std::to_string(key.size()) + " bytes; at most " +
                         std::to_string(LeaseStore::kMaxKeyLength) + " are allowed");
  }
}

void validate_lease_id(std::string_view id) {
  if (id.empty()) throw InvalidRequest("lease id must not be empty");
  if (id.size() > LeaseStore::kMaxLeaseIdLength) {
    throw InvalidRequest("lease id has " + std::to_string(id.size()) + " bytes; at most " +
                         std::to_string(LeaseStore::kMaxLeaseIdLength) + " are allowed");
  }
}

void validate_lease_limit(std::int64_t limit) {
  if (limit < 1 || limit > LeaseStore::kMaxLimit) {
    throw InvalidRequest("lease limit must be in 1 .. " + std::to_string(LeaseStore::kMaxLimit) +
                         ", got " + std::to_string(limit));
  }
}

void validate_lease_times(Micros now, Micros ttl) {
  validate_instant(now);
  if (ttl <= 0) throw InvalidRequest("lease ttl must be > 0 µs, got " + std::to_string(ttl));
  if (ttl > kMaxInstant - now) {
    throw InvalidRequest("lease expiry now + ttl (" + std::to_string(now) + " + " +
                         std::to_string(ttl) + " µs) is past 2^53 µs since the epoch");
  }
}

std::string next_lease_id() {
  // random_device once per process: ids of two processes sharing a Redis
  // differ by their prefix; the counter keeps one process's ids apart.
  static const std::uint64_t prefix = [] {
    std::random_device rd;
    return (std::uint64_t{rd()} << 32) ^ std::uint64_t{rd()};
  }();
  static std::atomic<std::uint64_t> counter{0};
  const std::uint64_t n = counter.fetch_add(1, std::memory_order_relaxed);
  char buf[48];
  const int len =
      std::snprintf(buf, sizeof buf, "%016llx-%llx", static_cast<unsigned long long>(prefix),
                    static_cast<unsigned long long>(n));
  return std::string(buf, static_cast<std::size_t>(len));
}

void require_limiter_limit(std::string_view owner, std::int64_t limit, std::int64_t max) {
  if (limit < 1 || limit > max) {
    throw std::invalid_argument(std::string(owner) + ": limit must be in 1 .. " +
                                std::to_string(max) + ", got " + std::to_string(limit));
  }
}

}  // namespace ratelimit::concurrency
