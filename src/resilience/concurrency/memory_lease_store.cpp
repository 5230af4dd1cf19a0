// MemoryLeaseStore: per key, the leases by id and by expiry (the in-process
// mirror of the Redis layout, one sorted set per key).

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>

#include "core/request_validation.hpp"
#include "ratelimit/resilience/lease_store.hpp"
#include "resilience/concurrency/lease_validation.hpp"

namespace ratelimit {

namespace {

// Acquires a shard serves before its first sweep, however few keys it holds.
constexpr std::size_t kMinSweepInterval = 64;

struct KeyHash {
  using is_transparent = void;
  std::size_t operator()(std::string_view s) const noexcept {
    return std::hash<std::string_view>{}(s);
  }
};

// The leases of one key.
struct Leases {
  // id -> expiry. Node-based: by_expiry points into these keys.
  std::map<std::string, Micros, std::less<>> by_id;
  // (expiry, id), earliest first: expired leases are a prefix.
  std::set<std::pair<Micros, std::string_view>> by_expiry;

  // Drops leases expired at `now`; returns how many.
  std::size_t drop_expired(Micros now) {
    std::size_t n = 0;
    while (!by_expiry.empty() && by_expiry.begin()->first <= now) {
      const std::string_view id = by_expiry.begin()->second;
      by_expiry.erase(by_expiry.begin());
      by_id.erase(by_id.find(id));
      ++n;
    }
    return n;
  }
  void erase(std::map<std::string, Micros, std::less<>>::iterator it) {
    by_expiry.erase({it->second, it->first});
    by_id.erase(it);
  }
  void set_expiry(std::map<std::string, Micros, std::less<>>::iterator it, Micros expires_at) {
    by_expiry.erase({it->second, it->first});
    it->second = expires_at;
    by_expiry.emplace(expires_at, it->first);
  }
  [[nodiscard]] bool empty() const noexcept { return by_id.empty(); }
};

}  // namespace

struct MemoryLeaseStore::Shard {
  using Map = std::unordered_map<std::string, Leases, KeyHash, std::equal_to<>>;

  // Drops the key's entry once it holds nothing, so memory follows the live
  // leases.
  void erase_if_empty(Map::iterator it) {
    if (it->second.empty()) keys.erase(it);
  }

  std::size_t sweep(Micros now) {
    std::size_t dropped = 0;
    for (auto it = keys.begin(); it != keys.end();) {
      dropped += it->second.drop_expired(now);
      it = it->second.empty() ? keys.erase(it) : std::next(it);
    }
    acquires_since_sweep = 0;
    return dropped;
  }

  mutable std::mutex mu;
  Map keys;                              // Guarded by mu.
  std::size_t acquires_since_sweep = 0;  // Guarded by mu.
};

MemoryLeaseStore::MemoryLeaseStore() {
  for (auto& s : shards_) s = std::make_unique<Shard>();
}

MemoryLeaseStore::~MemoryLeaseStore() = default;

MemoryLeaseStore::Shard& MemoryLeaseStore::shard_for(std::string_view key) const {
  return *shards_[KeyHash{}(key) % kShards];
}

bool MemoryLeaseStore::acquire(std::string_view key, std::int64_t limit, std::string_view lease_id,
                               Micros now, Micros ttl) {
  concurrency::validate_lease_key(key);
  concurrency::validate_lease_limit(limit);
  concurrency::validate_lease_id(lease_id);
  concurrency::validate_lease_times(now, ttl);
  Shard& shard = shard_for(key);
  const std::lock_guard lock(shard.mu);
  // Amortized sweep: one pass over n keys every n acquires.
  if (++shard.acquires_since_sweep >= std::max(kMinSweepInterval, shard.keys.size())) {
    (void)shard.sweep(now);
  }
  auto it = shard.keys.find(key);
  if (it == shard.keys.end()) it = shard.keys.try_emplace(std::string(key)).first;
  Leases& leases = it->second;
  leases.drop_expired(now);
  if (const auto mine = leases.by_id.find(lease_id); mine != leases.by_id.end()) {
    leases.set_expiry(mine, now + ttl);
    return true;
  }
  // Never empty here (limit >= 1), so the entry needs no tidying.
  if (static_cast<std::int64_t>(leases.by_id.size()) >= limit) return false;
  const auto added = leases.by_id.emplace(std::string(lease_id), now + ttl).first;
  leases.by_expiry.emplace(now + ttl, added->first);
  return true;
}

void MemoryLeaseStore::release(std::string_view key, std::string_view lease_id) {
  concurrency::validate_lease_key(key);
  concurrency::validate_lease_id(lease_id);
  Shard& shard = shard_for(key);
  const std::lock_guard lock(shard.mu);
  const auto it = shard.keys.find(key);
  if (it == shard.keys.end()) return;
  if (const auto mine = it->second.by_id.find(lease_id); mine != it->second.by_id.end()) {
    it->second.erase(mine);
  }
  shard.erase_if_empty(it);
}

bool MemoryLeaseStore::renew(std::string_view key, std::string_view lease_id, Micros now,
                             Micros ttl) {
  concurrency::validate_lease_key(key);
  concurrency::validate_lease_id(lease_id);
  concurrency::validate_lease_times(now, ttl);
  Shard& shard = shard_for(key);
  const std::lock_guard lock(shard.mu);
  const auto it = shard.keys.find(key);
  if (it == shard.keys.end()) return false;
  Leases& leases = it->second;
  leases.drop_expired(now);
  const auto mine = leases.by_id.find(lease_id);
  const bool live = mine != leases.by_id.end();
  if (live) leases.set_expiry(mine, now + ttl);
  shard.erase_if_empty(it);
  return live;
}

std::int64_t MemoryLeaseStore::in_flight(std::string_view key, Micros now) {
  concurrency::validate_lease_key(key);
  validate_instant(now);
  Shard& shard = shard_for(key);
  const std::lock_guard lock(shard.mu);
  const auto it = shard.keys.find(key);
  if (it == shard.keys.end()) return 0;
  it->second.drop_expired(now);
  const auto n = static_cast<std::int64_t>(it->second.by_id.size());
  shard.erase_if_empty(it);
  return n;
}

std::size_t MemoryLeaseStore::purge_expired(Micros now) {
  validate_instant(now);
  std::size_t dropped = 0;
  for (const auto& shard : shards_) {
    const std::lock_guard lock(shard->mu);
    dropped += shard->sweep(now);
  }
  return dropped;
}

std::size_t MemoryLeaseStore::keys() const {
  std::size_t n = 0;
  for (const auto& shard : shards_) {
    const std::lock_guard lock(shard->mu);
    n += shard->keys.size();
  }
  return n;
}

}  // namespace ratelimit
