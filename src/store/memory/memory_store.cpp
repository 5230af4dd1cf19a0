// MemoryStore: the public methods, and input validation (see store_impl.hpp for the internals).

#include "ratelimit/memory_store.hpp"

#include <string>

#include "core/request_validation.hpp"
#include "store/memory/store_impl.hpp"

namespace ratelimit {


MemoryStore::MemoryStore(MemoryStoreOptions options) : impl_(std::make_unique<Impl>(options)) {}
MemoryStore::~MemoryStore() = default;

Decision MemoryStore::decide(std::span<const Check> checks, std::int64_t cost, Micros now,
                             std::span<Decision> each) {
  validate_instant(now);
  validate_request(checks, cost, each);
  EpochDomain::Guard guard;
  const std::size_t n = checks.size();
  if (n == 1 && checks[0].spec->algorithm() != Algorithm::sliding_log) {
    const Decision d = impl_->decide_single(checks[0], hash_key(impl_->seed, checks[0].key),
                                            effective_cost(checks[0], cost), now);
    if (!each.empty()) each[0] = d;
    return d;
  }
  std::array<KeyHash, kMaxChecks> hashes{};
  for (std::size_t k = 0; k < n; ++k) hashes[k] = hash_key(impl_->seed, checks[k].key);
  std::array<Decision, kMaxChecks> local{};
  std::span<Decision> out = each.empty() ? std::span<Decision>(local.data(), n) : each;
  return impl_->decide_locked(checks, std::span<const KeyHash>(hashes.data(), n), cost, now, out);
}

Decision MemoryStore::decide_one_now(const Check& check, std::int64_t cost, const Clock& clock) {
  validate_request(std::span<const Check>(&check, 1), cost, {});
  if (check.spec->algorithm() == Algorithm::sliding_log) return decide_one(check, cost, clock.now());
  EpochDomain::Guard guard;
  const KeyHash h = hash_key(impl_->seed, check.key);
  // Start the (likely) cache misses on the key's slot, then read the clock
  // while they are in flight: on a large store the two costs overlap.
  impl_->shard_of(h).table.load(std::memory_order_acquire)->prefetch(h);
  const Micros now = clock.now();
  validate_instant(now);
  return impl_->decide_single(check, h, effective_cost(check, cost), now);
}

void MemoryStore::decide_many(std::span<const Check> checks, std::int64_t cost, Micros now,
                              std::span<Decision> out) {
  if (out.size() != checks.size()) {
    throw InvalidRequest("decide_many: `out` must hold one decision per check");
  }
  validate_instant(now);
  for (std::size_t i = 0; i < checks.size(); ++i) validate_request(checks.subspan(i, 1), cost, {});
  EpochDomain::Guard guard;
  constexpr std::size_t kAhead = 8;
  constexpr std::size_t kChunk = 64;
  std::array<KeyHash, kChunk> hashes{};
  for (std::size_t base = 0; base < checks.size(); base += kChunk) {
    const std::size_t m = std::min(kChunk, checks.size() - base);
    for (std::size_t k = 0; k < m; ++k) hashes[k] = hash_key(impl_->seed, checks[base + k].key);
    for (std::size_t k = 0; k < std::min(kAhead, m); ++k) {
      impl_->shard_of(hashes[k]).table.load(std::memory_order_acquire)->prefetch(hashes[k]);
    }
    for (std::size_t k = 0; k < m; ++k) {
      if (k + kAhead < m) {
        impl_->shard_of(hashes[k + kAhead]).table.load(std::memory_order_acquire)->prefetch(hashes[k + kAhead]);
      }
      const Check& c = checks[base + k];
      if (c.spec->algorithm() == Algorithm::sliding_log) {
        Decision one{};
        out[base + k] = impl_->decide_locked(std::span<const Check>(&c, 1), std::span<const KeyHash>(&hashes[k], 1),
                                             cost, now, std::span<Decision>(&one, 1));
      } else {
        out[base + k] = impl_->decide_single(c, hashes[k], effective_cost(c, cost), now);
      }
    }
  }
}

void MemoryStore::reset(std::span<const Check> checks) {
  EpochDomain::Guard guard;
  for (const Check& c : checks) {
    if (c.key.empty() || c.key.size() > kMaxKeyLength) continue;  // such a key holds no state
    const KeyHash h = hash_key(impl_->seed, c.key);
    Shard& sh = impl_->shard_of(h);
    for (;;) {
      Table* t = sh.table.load(std::memory_order_acquire);
      const std::size_t i = t->find(h, c.key);
      if (i == Table::kNotFound) break;
      if (Impl::kill(sh, t, i)) break;
      const std::uint64_t w0 = memory::load_w0(t->state(i));
      if ((w0 & memory::kFrozen) != 0) Impl::await_rebuild(sh, t);
    }
  }
}

StoreStats MemoryStore::stats() const {
  StoreStats s;
  for (std::size_t i = 0; i < impl_->shard_count; ++i) {
    const Shard& sh = impl_->shards[i];
    s.keys += sh.live.load(std::memory_order_relaxed);
    s.expired_dropped += sh.expired_dropped.load(std::memory_order_relaxed);
    s.overflow += sh.overflow.load(std::memory_order_relaxed);
    s.evicted += sh.evicted.load(std::memory_order_relaxed);
  }
  return s;
}

std::size_t MemoryStore::sweep(Micros now) { return impl_->sweep(now); }

void MemoryStore::start_sweeper(const Clock& clock, std::chrono::milliseconds interval) {
  impl_->start_sweeper(clock, interval);
}

void MemoryStore::stop_sweeper() { impl_->stop_sweeper(); }

std::size_t MemoryStore::memory_bytes() const {
  EpochDomain::Guard guard;
  std::size_t bytes = 0;
  for (std::size_t i = 0; i < impl_->shard_count; ++i) {
    bytes += impl_->shards[i].table.load(std::memory_order_acquire)->bytes();
  }
  return bytes;
}

}  // namespace ratelimit
