#pragma once
/// @file attribute_store.hpp
/// Small shared records that the policy keeps next to limiter state: tier
/// assignments and whitelist/denylist entries. Kept where the limiter state
/// is (in memory, or in Redis) so that every instance of a deployment agrees.
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "ratelimit/store.hpp"  // InvalidRequest
#include "ratelimit/time.hpp"

namespace ratelimit {

/// A string-to-string map with per-record expiry and a generation counter.
///
/// Records are few and change rarely (an operator assigns a tier, adds a
/// whitelist entry); they are read on every request. So readers keep a local
/// snapshot and refresh it when `generation()` changes: `generation` is cheap,
/// `list` is not.
///
/// Expiry is an absolute instant on the caller's clock (Unix µs). The store
/// hides records whose `expires_at <= now` from `get` and `list`, and
/// `purge_expired` deletes them. Thread-safe.
///
/// Keys and values are arbitrary bytes (NULs and non-UTF-8 included). Every
/// method throws InvalidRequest, before anything changes, for an empty key or
/// one over kMaxKeyLength bytes, a value over kMaxValueLength bytes, or an
/// instant (`now`, `expires_at`) outside 0 .. kMaxInstant. Stores with a
/// backend (Redis) throw StoreUnavailable when it fails; the change may then
/// have been made or not.
class AttributeStore {
 public:
  struct Record {
    std::string key;
    std::string value;
    /// Unix µs after which the record is gone; nullopt = never.
    std::optional<Micros> expires_at;
    friend bool operator==(const Record&, const Record&) = default;
  };

  /// Longest key and value accepted, in bytes (InvalidRequest beyond).
  static constexpr std::size_t kMaxKeyLength = 512;
  static constexpr std::size_t kMaxValueLength = 64 * 1024;

  virtual ~AttributeStore() = default;

  /// The live record under `key`, if any.
  [[nodiscard]] virtual std::optional<Record> get(std::string_view key, Micros now) = 0;
  /// Creates or replaces a record. Advances the generation.
  virtual void put(const Record& record) = 0;
  /// Deletes a record; true if a live one existed. Advances the generation
  /// when something was deleted. An expired record counts as absent: false,
  /// and the generation stays (its remains may be deleted).
  virtual bool erase(std::string_view key, Micros now) = 0;
  /// Every live record whose key starts with `prefix` (plain bytes; "" = all),
  /// sorted by key bytewise (as unsigned bytes, like std::string).
  [[nodiscard]] virtual std::vector<Record> list(std::string_view prefix, Micros now) = 0;
  /// Deletes every record expired at `now`; returns how many. Advances the
  /// generation when it deleted any.
  virtual std::size_t purge_expired(Micros now) = 0;
  /// A number that changes whenever a record is put or erased, by any
  /// instance sharing the store. Never decreases within one store's life.
  /// Its start and step are the store's (only changes are meaningful). Read
  /// it before `list`: a change the list missed has then moved it.
  [[nodiscard]] virtual std::uint64_t generation() = 0;
};

/// The in-process AttributeStore, for the memory store and for tests.
[[nodiscard]] std::unique_ptr<AttributeStore> make_memory_attribute_store();

}  // namespace ratelimit
