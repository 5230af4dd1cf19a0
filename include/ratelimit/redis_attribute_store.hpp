#pragma once
/// @file redis_attribute_store.hpp
/// The AttributeStore in Redis: one hash of records and one generation counter
/// per deployment, shared by every instance.

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "ratelimit/attribute_store.hpp"
#include "ratelimit/redis_store.hpp"

namespace ratelimit {

/// AttributeStore kept in Redis (standalone, Sentinel or Cluster, as
/// `RedisStoreOptions` say), so every instance of a deployment sees the same
/// records and the same generation.
///
/// Layout (docs/redis.md "Attributes"): every record is one field of the hash
/// `<key_prefix>{attrs}`; the field is the record's key, the value is the
/// record's `expires_at` as 8 bytes little-endian (all ones: never) followed
/// by the record's value. The generation is the integer at
/// `<key_prefix>{attrs}:gen`. The hash tag puts both on one Cluster slot.
/// A field whose value is not in this form (shorter than 8 bytes, or an
/// instant above kMaxInstant) counts as expired: hidden from `get` and
/// `list`, deleted by `purge_expired`.
///
/// `put`, `erase` and `purge_expired` each run a short Lua script (EVALSHA)
/// that changes the hash and increments the generation atomically. `get` is
/// one HGET, `generation` one GET. `list` walks the hash with HSCAN, so a
/// large hash never blocks Redis; it is therefore not a snapshot: a record
/// that exists for the whole call is listed, one put or erased during the
/// call may or may not be. Read `generation()` before `list()`: any change
/// the list missed has advanced it, so the next poll sees the difference.
///
/// After Redis loses its data (a restart without persistence, FLUSHALL) the
/// records are gone and `generation` reads 0 until the next change, which
/// restarts the counter at Redis `TIME` in µs: above every value handed out
/// before (unless the old counter had counted more changes than
/// microseconds had passed since it started).
///
/// Uses its own connections (per node: `options.pool_size`, at most 2), not
/// a RedisStore's; connects lazily. Every method throws StoreUnavailable
/// (kinds `connection`, `timeout`, `reply`) when Redis cannot be reached,
/// does not answer within `options.command_timeout_ms` or answers an error,
/// and InvalidRequest for bad input, before anything is sent. Thread-safe.
class RedisAttributeStore final : public AttributeStore {
 public:
  /// Validates the options (throws InvalidRedisUrl) and prepares the
  /// connection pools. `time_mode` and `max_batch` are not used.
  explicit RedisAttributeStore(RedisStoreOptions options);
  ~RedisAttributeStore() override;
  RedisAttributeStore(const RedisAttributeStore&) = delete;
  RedisAttributeStore& operator=(const RedisAttributeStore&) = delete;

  [[nodiscard]] std::optional<Record> get(std::string_view key, Micros now) override;
  void put(const Record& record) override;
  bool erase(std::string_view key, Micros now) override;
  [[nodiscard]] std::vector<Record> list(std::string_view prefix, Micros now) override;
  /// Finds expired records with HSCAN and deletes them in batches, each one
  /// script that checks them again (a record replaced meanwhile stays) and
  /// advances the generation if it deleted any.
  std::size_t purge_expired(Micros now) override;
  [[nodiscard]] std::uint64_t generation() override;

  /// Counters of this store's Redis client (scripts run, errors, timeouts,
  /// reconnects, script loads, redirects, master changes). Monotonic.
  [[nodiscard]] RedisStats redis_stats() const;
  [[nodiscard]] const RedisStoreOptions& options() const noexcept;
  /// The Redis key of the records' hash: `<key_prefix>{attrs}`.
  [[nodiscard]] std::string hash_key() const;
  /// The Redis key of the generation counter: `<key_prefix>{attrs}:gen`.
  [[nodiscard]] std::string generation_key() const;

  struct Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace ratelimit
