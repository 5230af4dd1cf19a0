#pragma once
/// @file resilience/lease_store.hpp
/// Where per-key concurrency leases live: the LeaseStore interface, shared by
/// every instance that uses one, and its in-process implementation.

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string_view>

#include "ratelimit/store.hpp"  // InvalidRequest, StoreUnavailable
#include "ratelimit/time.hpp"

namespace ratelimit {

/// Holds, per key, the leases currently out: each a lease id with an expiry
/// instant. A key admits a new lease while it has fewer than `limit` live
/// leases. A lease is live while `now < expires_at`; it expires unless
/// renewed, so a holder that crashes without releasing frees its slot at its
/// expiry instead of leaking it.
///
/// Instants are the caller's (Unix µs, 0 .. kMaxInstant), durations µs.
/// Every method validates its input before it changes anything and throws
/// InvalidRequest (a std::invalid_argument naming the field and the value)
/// for an empty key or one over kMaxKeyLength bytes, an empty lease id or one
/// over kMaxLeaseIdLength bytes, a limit outside 1 .. kMaxLimit, a ttl <= 0,
/// or an instant (`now`, `now + ttl`) outside 0 .. kMaxInstant. Stores with
/// a backend (Redis) throw StoreUnavailable when it fails; the change may
/// then have been made or not (a lease taken then simply expires).
/// Thread-safe.
class LeaseStore {
 public:
  static constexpr std::size_t kMaxKeyLength = 512;
  static constexpr std::size_t kMaxLeaseIdLength = 128;
  static constexpr std::int64_t kMaxLimit = std::int64_t{1} << 30;

  virtual ~LeaseStore() = default;

  /// Takes a lease `lease_id` on `key`, live until `now + ttl`, if fewer than
  /// `limit` leases are live at `now`; false (nothing changed) otherwise.
  /// Expired leases of `key` are dropped first. If `lease_id` already holds
  /// a live lease on `key` it is re-taken (its expiry set to `now + ttl`) and
  /// counts once, so an acquire retried after a lost reply is harmless.
  [[nodiscard]] virtual bool acquire(std::string_view key, std::int64_t limit,
                                     std::string_view lease_id, Micros now, Micros ttl) = 0;
  /// Gives a lease back. Releasing a lease that is not there (never taken,
  /// released already, expired and dropped) does nothing.
  virtual void release(std::string_view key, std::string_view lease_id) = 0;
  /// Extends a live lease to `now + ttl`; false, and nothing extended, when it
  /// is not live at `now` (never taken, released, or expired: its slot may
  /// already be someone else's).
  [[nodiscard]] virtual bool renew(std::string_view key, std::string_view lease_id, Micros now,
                                   Micros ttl) = 0;
  /// Leases of `key` live at `now`. May be stale as soon as it returns.
  [[nodiscard]] virtual std::int64_t in_flight(std::string_view key, Micros now) = 0;
};

/// The in-process LeaseStore: per key, the live leases ordered by expiry,
/// in 16 shards with a mutex each.
///
/// Memory stays bounded by the live leases: a key's entry is erased as soon
/// as it holds no lease; a key's expired leases are dropped whenever the key
/// is used; and each shard sweeps all its keys once it has served as many
/// acquires as it holds keys (so the sweep costs O(1) per acquire, amortized),
/// which drops the leases of crashed holders on keys nobody uses any more.
class MemoryLeaseStore final : public LeaseStore {
 public:
  MemoryLeaseStore();
  ~MemoryLeaseStore() override;
  MemoryLeaseStore(const MemoryLeaseStore&) = delete;
  MemoryLeaseStore& operator=(const MemoryLeaseStore&) = delete;

  [[nodiscard]] bool acquire(std::string_view key, std::int64_t limit, std::string_view lease_id,
                             Micros now, Micros ttl) override;
  void release(std::string_view key, std::string_view lease_id) override;
  [[nodiscard]] bool renew(std::string_view key, std::string_view lease_id, Micros now,
                           Micros ttl) override;
  [[nodiscard]] std::int64_t in_flight(std::string_view key, Micros now) override;

  /// Drops every lease expired at `now` and every key left without one.
  /// Returns how many leases it dropped. Throws InvalidRequest for an
  /// instant outside 0 .. kMaxInstant.
  std::size_t purge_expired(Micros now);
  /// Keys that currently have an entry (live leases, or expired ones not
  /// dropped yet).
  [[nodiscard]] std::size_t keys() const;

  struct Shard;

 private:
  static constexpr std::size_t kShards = 16;
  Shard& shard_for(std::string_view key) const;
  std::array<std::unique_ptr<Shard>, kShards> shards_;
};

}  // namespace ratelimit
