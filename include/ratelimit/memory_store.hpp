#pragma once
/// @file memory_store.hpp
/// The embedded store: sharded, thread-safe, lock-free for single-key decisions.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>

#include "ratelimit/store.hpp"

namespace ratelimit {

/// What MemoryStore does when a new key arrives and the shard it hashes to
/// already holds its share of `max_keys` live states (after dropping every
/// expired one).
enum class OverflowPolicy : std::uint8_t {
  /// Evict the state closest to expiring among a sample of the shard's
  /// states (it loses its remaining usage), then admit the new key. Counted
  /// in `StoreStats::overflow` and `StoreStats::evicted`. Default: a flood of
  /// new keys cannot stop known keys from being limited, and memory stays bounded.
  evict_soonest_expiring,
  /// Refuse the request of the new key: the decision is a denial with
  /// `remaining` 0 and `retry_after` the time until the soonest sampled state
  /// expires (at least 1 µs). Counted in `StoreStats::overflow`. Known keys are untouched.
  reject_new_keys,
};

struct MemoryStoreOptions {
  /// Number of shards (rounded up to a power of two, 1 .. 4096).
  std::size_t shards = 64;
  /// Upper bound on live states, 0 for none. Enforced per shard: each shard
  /// holds at most ceil(max_keys / shards) states.
  std::size_t max_keys = 0;
  OverflowPolicy overflow = OverflowPolicy::evict_soonest_expiring;
};

/// In-memory Store. Single-check decisions on token_bucket, gcra,
/// leaky_bucket, fixed_window and sliding_window are one 16-byte
/// compare-and-swap on the key's state (no lock, so a hot key scales across
/// cores); multi-check decisions and sliding_log lock the states involved,
/// in address order, for the duration of the decision.
///
/// Memory follows active keys: a state whose `reset_after` has passed is
/// dropped lazily (a few slots per insertion, and whenever a shard rehashes)
/// and by `sweep(now)`, which a service calls periodically (see
/// `start_sweeper`).
class MemoryStore final : public Store {
 public:
  explicit MemoryStore(MemoryStoreOptions options = {});
  ~MemoryStore() override;
  MemoryStore(const MemoryStore&) = delete;
  MemoryStore& operator=(const MemoryStore&) = delete;

  Decision decide(std::span<const Check> checks, std::int64_t cost, Micros now,
                  std::span<Decision> each = {}) override;
  Decision decide_one_now(const Check& check, std::int64_t cost, const Clock& clock) override;
  void reset(std::span<const Check> checks) override;
  [[nodiscard]] StoreStats stats() const override;

  /// Many independent single-check decisions of `cost` each (or a check's own
  /// `Check::cost`), at one instant.
  /// `out[i]` receives the decision for `checks[i]`; same result as calling
  /// `decide_one` for each in order, but faster: the store prefetches the
  /// states of upcoming keys while deciding the current one.
  void decide_many(std::span<const Check> checks, std::int64_t cost, Micros now,
                   std::span<Decision> out);

  /// Drops every state that has expired at `now`; returns how many. Also
  /// compacts shards whose tables hold many dropped slots.
  std::size_t sweep(Micros now);

  /// Runs `sweep(clock.now())` every `interval` on a background thread until
  /// the store is destroyed or `stop_sweeper` is called. The clock must
  /// outlive the sweeper.
  void start_sweeper(const Clock& clock, std::chrono::milliseconds interval);
  void stop_sweeper();

  /// Bytes held by the store's tables and logs (excludes allocator overhead).
  [[nodiscard]] std::size_t memory_bytes() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace ratelimit
