#pragma once
/// @file resilience/keyed_concurrency_limiter.hpp
/// At most N calls in flight per key (per user, per tenant, per upstream),
/// counted in a LeaseStore that several instances may share.

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "ratelimit/resilience/lease_store.hpp"
#include "ratelimit/time.hpp"

namespace ratelimit {

/// Per-key concurrency limiting over a LeaseStore: `try_acquire(key)` takes a
/// lease on the key if fewer than `limit()` are live, and the returned Lease
/// gives it back when destroyed. With a shared store (RedisLeaseStore) the
/// limit holds across every instance using it.
///
/// Each lease expires `lease_ttl()` after it was taken or last renewed, so a
/// process that dies holding leases frees their slots after at most the TTL.
/// A call that may run longer than the TTL must `renew()` its lease in time;
/// otherwise the slot may be handed to someone else while it still runs.
///
/// Store failures: `try_acquire`, `in_flight` and `Lease::renew` let
/// StoreUnavailable through (whether to run the call anyway is the caller's
/// policy). Releasing never throws: a release the store could not take is
/// counted in `Stats::release_failures` and the lease simply expires at its
/// TTL, which is the bound on how long a failed release holds a slot.
///
/// Thread-safe. The limiter (and so the store) must outlive its leases.
class KeyedConcurrencyLimiter final {
 public:
  /// Counters since construction. Monotonic, relaxed: may be a moment stale.
  struct Stats {
    std::uint64_t acquired = 0;          ///< leases handed out
    std::uint64_t rejected = 0;          ///< acquires refused (the key was full)
    std::uint64_t renewed = 0;           ///< successful renewals
    std::uint64_t lost = 0;              ///< renewals refused: the lease had expired
    std::uint64_t release_failures = 0;  ///< releases the store failed (left to expire)
    friend bool operator==(const Stats&, const Stats&) = default;
  };

  /// One slot on one key. Move-only; released on destruction or `release()`.
  /// An empty Lease (refused) converts to false. One Lease is not to be used
  /// by two threads at once.
  class Lease {
   public:
    Lease() noexcept = default;
    Lease(Lease&& other) noexcept;
    /// Releases what this lease held, then takes over `other`'s.
    Lease& operator=(Lease&& other) noexcept;
    Lease(const Lease&) = delete;
    Lease& operator=(const Lease&) = delete;
    ~Lease() { release(); }

    /// Gives the slot back now (never throws; see the class comment on
    /// store failures). Later calls do nothing.
    void release() noexcept;
    /// Extends the lease to `now + lease_ttl()`. False when the store no
    /// longer had it live (it expired): the lease is then empty, and the
    /// call runs without a slot. Throws StoreUnavailable (the lease is kept
    /// and may be renewed again) and std::logic_error on an empty lease.
    bool renew();

    [[nodiscard]] bool held() const noexcept { return limiter_ != nullptr; }
    explicit operator bool() const noexcept { return held(); }
    /// The key and the store's lease id ("" when empty).
    [[nodiscard]] const std::string& key() const noexcept { return key_; }
    [[nodiscard]] const std::string& id() const noexcept { return id_; }
    /// Instant (µs, the limiter's clock) the lease expires unless renewed.
    [[nodiscard]] Micros expires_at() const noexcept { return expires_at_; }

   private:
    friend class KeyedConcurrencyLimiter;
    Lease(KeyedConcurrencyLimiter* limiter, std::string key, std::string id,
          Micros expires_at) noexcept;
    KeyedConcurrencyLimiter* limiter_ = nullptr;
    std::string key_;
    std::string id_;
    Micros expires_at_ = 0;
  };

  /// At most `limit` (1 .. LeaseStore::kMaxLimit) leases per key, each live
  /// for `lease_ttl` µs (> 0) unless renewed; std::invalid_argument
  /// otherwise, or for a null store. `clock` defaults to the system clock.
  KeyedConcurrencyLimiter(std::shared_ptr<LeaseStore> store, std::int64_t limit, Micros lease_ttl,
                          std::shared_ptr<const Clock> clock = nullptr);
  KeyedConcurrencyLimiter(const KeyedConcurrencyLimiter&) = delete;
  KeyedConcurrencyLimiter& operator=(const KeyedConcurrencyLimiter&) = delete;

  /// A lease on `key` if it has fewer than `limit()` live leases, else an
  /// empty one. Throws InvalidRequest for a bad key (empty, too long) and
  /// StoreUnavailable when the store fails.
  [[nodiscard]] Lease try_acquire(std::string_view key);
  /// Live leases on `key` now (all holders of the store). Throws like
  /// try_acquire.
  [[nodiscard]] std::int64_t in_flight(std::string_view key);

  [[nodiscard]] std::int64_t limit() const noexcept {
    return limit_.load(std::memory_order_relaxed);
  }
  /// Changes the limit for later acquires (1 .. LeaseStore::kMaxLimit,
  /// std::invalid_argument otherwise). Leases already out are kept.
  void set_limit(std::int64_t limit);
  [[nodiscard]] Micros lease_ttl() const noexcept { return ttl_; }
  [[nodiscard]] Stats stats() const noexcept;
  [[nodiscard]] LeaseStore& store() const noexcept { return *store_; }

 private:
  std::shared_ptr<LeaseStore> store_;
  std::shared_ptr<const Clock> clock_;
  const Micros ttl_;
  std::atomic<std::int64_t> limit_;
  std::atomic<std::uint64_t> acquired_{0};
  std::atomic<std::uint64_t> rejected_{0};
  std::atomic<std::uint64_t> renewed_{0};
  std::atomic<std::uint64_t> lost_{0};
  std::atomic<std::uint64_t> release_failures_{0};
};

}  // namespace ratelimit
