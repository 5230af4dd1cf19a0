#pragma once
/// @file directory.hpp
/// The policy's runtime records, kept in an AttributeStore so every instance
/// agrees: tier assignments, whitelist and denylist entries (identifiers and
/// CIDR ranges), and the audit trail of their changes.

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "ratelimit/attribute_store.hpp"
#include "ratelimit/policy/cidr_set.hpp"
#include "ratelimit/policy/config.hpp"
#include "ratelimit/policy/identifier_hash.hpp"
#include "ratelimit/policy/published.hpp"
#include "ratelimit/policy/string_map.hpp"
#include "ratelimit/time.hpp"

namespace ratelimit::policy {

enum class ListKind : std::uint8_t { whitelist, denylist };
[[nodiscard]] std::string_view to_string(ListKind kind) noexcept;

/// A tier given to one identifier at run time.
struct TierGrant {
  std::string tier;
  std::string added_by;
  Micros added_at = 0;
  std::optional<Micros> expires_at;
};

/// One change to the directory: who did what, when.
struct AuditRecord {
  Micros at = 0;
  std::string actor;
  /// "tier.assign", "tier.remove", "whitelist.add", "whitelist.remove",
  /// "denylist.add", "denylist.remove", "purge".
  std::string action;
  /// "user:u42", "ip:10.0.0.0/8", "api_key:h:…" (API keys only hashed).
  std::string subject;
  /// The new value or the reason, as given.
  std::string detail;
};

/// What a request is checked against: an immutable copy of the records,
/// replaced whole when they change.
struct DirectorySnapshot {
  /// Indexed by IdType; ids as stored (api keys hashed, ips canonical).
  std::array<StringMap<TierGrant>, 3> tiers;
  std::array<StringMap<ListEntry>, 3> whitelist;
  std::array<StringMap<ListEntry>, 3> denylist;
  CidrSet whitelist_ranges;
  CidrSet denylist_ranges;
  /// Payloads of the range sets index these.
  std::vector<ListEntry> whitelist_range_entries;
  std::vector<ListEntry> denylist_range_entries;
  /// The store generation it was built from; ~0 before the first build.
  std::uint64_t generation = ~std::uint64_t{0};
};

/// Reads and changes the runtime records. Thread-safe.
///
/// Reads on the request path use `snapshot()`, which looks at the store's
/// generation at most once per refresh interval and rebuilds only when it
/// moved: a change made on another instance is seen within that interval, a
/// change made through this object at once. When the store is unreachable
/// the last snapshot stays in force (counted in `refresh_failures`).
class Directory {
 public:
  Directory(AttributeStore& store, const Clock& clock, IdentifierHasher hasher,
            Micros refresh_interval);

  /// The form an identifier is stored and looked up in: api keys hashed, ip
  /// addresses canonical. Throws InvalidRequest for an empty or overlong id or
  /// an ip that is not an address.
  [[nodiscard]] std::string stored_id(IdType type, std::string_view id) const;

  /// Tier assignments. `tier` is not checked here (PolicyEngine checks it
  /// against the config). `ttl`: nullopt = until removed.
  void assign_tier(IdType type, std::string_view id, std::string_view tier,
                   std::optional<Micros> ttl, std::string_view actor);
  [[nodiscard]] std::optional<TierGrant> tier_of(IdType type, std::string_view id);
  bool remove_tier(IdType type, std::string_view id, std::string_view actor);
  /// Every live assignment as (type, stored id, grant).
  struct TierListing {
    IdType type;
    std::string id;
    TierGrant grant;
  };
  [[nodiscard]] std::vector<TierListing> tiers();

  /// Adds or replaces an entry. For a range, set `entry.range` (type ip).
  /// `entry.added_by` is set to `actor`; `ttl` sets `expires_at` from now.
  void add(ListKind kind, ListEntry entry, std::optional<Micros> ttl, std::string_view actor);
  /// Removes an identifier's entry, or a range's when `id` is a CIDR and
  /// `range` is true. True when one existed.
  bool remove(ListKind kind, IdType type, std::string_view id, bool range, std::string_view actor);
  /// Live entries, sorted; `type` filters identifiers (ranges count as ip).
  [[nodiscard]] std::vector<ListEntry> entries(ListKind kind,
                                               std::optional<IdType> type = std::nullopt);

  /// The newest `limit` audit records, newest first. Records are kept for
  /// `kAuditRetention`.
  [[nodiscard]] std::vector<AuditRecord> audit(std::size_t limit = 100);
  static constexpr Micros kAuditRetention = 30 * kMicrosPerDay;

  /// Deletes expired records; returns how many.
  std::size_t purge_expired();

  /// The records to check requests against (see the class comment).
  [[nodiscard]] std::shared_ptr<const DirectorySnapshot> snapshot() {
    return snapshot(clock_.now());
  }
  /// The same, with `now` already read.
  [[nodiscard]] std::shared_ptr<const DirectorySnapshot> snapshot(Micros now);
  /// The same as the calling thread's copy (Published::thread_copy, with
  /// its lifetime rule): for the decision path.
  [[nodiscard]] const std::shared_ptr<const DirectorySnapshot>& thread_snapshot(Micros now);
  /// Forces the next `snapshot()` to look at the store.
  void invalidate() noexcept { next_check_.store(0, std::memory_order_relaxed); }

  [[nodiscard]] std::uint64_t refresh_failures() const noexcept {
    return refresh_failures_.load(std::memory_order_relaxed);
  }
  [[nodiscard]] const IdentifierHasher& hasher() const noexcept { return hasher_; }

 private:
  void refresh(Micros now);
  void record_audit(std::string_view actor, std::string action, std::string subject,
                    std::string detail);

  AttributeStore& store_;
  const Clock& clock_;
  IdentifierHasher hasher_;
  Micros refresh_interval_;
  std::atomic<Micros> next_check_{0};
  std::mutex refresh_mutex_;
  Published<DirectorySnapshot> snapshot_;
  std::atomic<std::uint64_t> refresh_failures_{0};
  std::atomic<std::uint64_t> audit_sequence_{0};
};

}  // namespace ratelimit::policy
