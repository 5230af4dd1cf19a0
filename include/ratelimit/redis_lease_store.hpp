#pragma once
/// @file redis_lease_store.hpp
/// The LeaseStore in Redis: per-key concurrency leases shared by every
/// instance of a deployment (one sorted set per key).

#include <memory>
#include <string>
#include <string_view>

#include "ratelimit/redis_store.hpp"
#include "ratelimit/resilience/lease_store.hpp"

namespace ratelimit {

/// LeaseStore kept in Redis (standalone, Sentinel or Cluster, as
/// `RedisStoreOptions` say), so a per-key concurrency limit holds across
/// every instance.
///
/// Layout (docs/resilience/concurrency.md "Redis layout"): the leases of key
/// K are the sorted set `<key_prefix>lease:{K}`; each member is a lease id,
/// its score the lease's expiry instant (Unix µs, the caller's clock). The
/// hash tag puts each set on the slot of K alone, whatever the prefix.
///
/// `acquire` and `renew` are one Lua script each (EVALSHA, atomic):
/// acquire drops the members whose score is <= now (ZREMRANGEBYSCORE), then
/// adds the lease if ZCARD < limit (or re-scores it if the id is already
/// there); renew re-scores a member only if it is still there and live
/// (ZADD XX). Both set the key's Redis TTL (PEXPIRE) to the latest expiry
/// in the set minus now, plus 60 s of slack: instants come from the
/// caller's clock, which need not run at Redis's pace, so the key must
/// outlive its leases in real time too. An abandoned set therefore
/// vanishes on its own. `release` is one ZREM, `in_flight` one ZCOUNT of
/// the scores above now.
///
/// Uses its own connections (per node: `options.pool_size`, at most 2);
/// connects lazily. Every method throws StoreUnavailable (kinds
/// `connection`, `timeout`, `reply`) when Redis cannot be reached, does not
/// answer within `options.command_timeout_ms` or answers an error, and
/// InvalidRequest for bad input before anything is sent. Thread-safe.
class RedisLeaseStore final : public LeaseStore {
 public:
  /// Seconds a lease set outlives its latest expiry in Redis (real time).
  static constexpr int kTtlSlackSeconds = 60;

  /// Validates the options (throws InvalidRedisUrl) and prepares the
  /// connection pools. `time_mode` and `max_batch` are not used.
  explicit RedisLeaseStore(RedisStoreOptions options);
  ~RedisLeaseStore() override;
  RedisLeaseStore(const RedisLeaseStore&) = delete;
  RedisLeaseStore& operator=(const RedisLeaseStore&) = delete;

  [[nodiscard]] bool acquire(std::string_view key, std::int64_t limit, std::string_view lease_id,
                             Micros now, Micros ttl) override;
  void release(std::string_view key, std::string_view lease_id) override;
  [[nodiscard]] bool renew(std::string_view key, std::string_view lease_id, Micros now,
                           Micros ttl) override;
  [[nodiscard]] std::int64_t in_flight(std::string_view key, Micros now) override;

  /// Counters of this store's Redis client. Monotonic.
  [[nodiscard]] RedisStats redis_stats() const;
  [[nodiscard]] const RedisStoreOptions& options() const noexcept;
  /// The Redis key of `key`'s leases: `<key_prefix>lease:{<key>}`.
  [[nodiscard]] std::string redis_key(std::string_view key) const;

  struct Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace ratelimit
