#pragma once
/// @file resilience/shared_circuit_breaker.hpp
/// A circuit breaker whose OPEN state is shared by every instance of a
/// deployment through an AttributeStore (in memory, or in Redis).

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <type_traits>
#include <utility>

#include "ratelimit/attribute_store.hpp"
#include "ratelimit/resilience/circuit_breaker.hpp"
#include "ratelimit/time.hpp"

namespace ratelimit {

/// How a SharedCircuitBreaker uses its store.
struct SharedBreakerOptions {
  /// Longest time between two looks at the store, in µs (>= 1). The cost of
  /// sharing: one `generation()` read per interval per instance, plus one
  /// `get` when the generation moved.
  Micros sync_interval = kMicrosPerSecond;
  /// The record's key is `key_prefix + config.name` (at most
  /// AttributeStore::kMaxKeyLength bytes in all).
  std::string key_prefix = "breaker:";
};

/// Counters of the sharing. Monotonic.
struct SharedBreakerStats {
  std::uint64_t syncs = 0;      ///< looks at the store (generation reads)
  std::uint64_t reads = 0;      ///< record reads (the generation had moved)
  std::uint64_t published = 0;  ///< open periods this instance wrote to the store
  std::uint64_t remote_opens =
      0;  ///< times a record from the store opened (or extended) this instance
  std::uint64_t store_errors = 0;  ///< StoreUnavailable from the store (the instance decided alone)
  std::uint64_t bad_records = 0;   ///< records under the key that did not parse (ignored)
};

/// A CircuitBreaker per instance, plus a record in a shared AttributeStore so
/// that when one instance opens, the others open too.
///
/// How: when the local breaker opens on its own evidence (failure or
/// slow-call rate, or failed probes), it writes the record
/// `key_prefix + name` = "v1 <opened_at> <until>" with `expires_at = until`
/// (until = opened_at + wait_in_open). Every instance looks at the store at
/// most once per `sync_interval`, on the first `try_acquire`/`call` at or
/// after its next sync instant (and on `sync()`): when the store's
/// `generation()` moved, it reads the record and, if it is live, opens its
/// own breaker until the record's `until` (`CircuitBreaker::open_until`,
/// reason `external`). Each instance then probes on its own when the period
/// ends; closing is not shared.
///
/// Guarantees: an open period published at instant t is obeyed by every
/// other instance from its first call at or after t + sync_interval (sooner
/// if its sync falls earlier) until `until`, provided the store answered
/// both the write and the read. It is a fast path for bad news, not
/// consensus: instances may disagree for up to sync_interval, and two that
/// open at once each publish (the later write wins). Forced states
/// (`force_open`, `force_closed` on `breaker()`) stay local and a
/// forced-closed instance ignores records.
///
/// When the store fails (StoreUnavailable) the instance keeps deciding with
/// its local breaker, counts the error, and tries again at the next sync
/// instant; a publication that failed is not retried (the period is short,
/// and the other instances will see their own failures). Store I/O happens on
/// the calling thread that finds a sync due (one thread per interval) or that
/// opens the breaker. Thread-safe.
class SharedCircuitBreaker final {
 public:
  /// Throws std::invalid_argument for a bad config or options, or a null
  /// store. `clock` (system clock by default) serves the local breaker too.
  SharedCircuitBreaker(CircuitBreakerConfig config, std::shared_ptr<AttributeStore> store,
                       SharedBreakerOptions options = {},
                       std::shared_ptr<const Clock> clock = nullptr);
  ~SharedCircuitBreaker();
  SharedCircuitBreaker(const SharedCircuitBreaker&) = delete;
  SharedCircuitBreaker& operator=(const SharedCircuitBreaker&) = delete;

  /// Syncs with the store if due, then asks the local breaker.
  [[nodiscard]] bool try_acquire() {
    maybe_sync();
    return breaker_.try_acquire();
  }
  void on_success(Micros duration = 0) noexcept { breaker_.on_success(duration); }
  void on_failure(Micros duration = 0) noexcept { breaker_.on_failure(duration); }
  void release() noexcept { breaker_.release(); }

  /// CircuitBreaker::call after a sync if due (throws CircuitOpen when refused).
  template <class F>
  std::invoke_result_t<F&> call(F&& fn) {
    maybe_sync();
    return breaker_.call(fn);
  }
  /// CircuitBreaker::call with a fallback for the refusal, after a sync if due.
  template <class F, class Fallback>
  std::invoke_result_t<F&> call(F&& fn, Fallback&& fallback) {
    maybe_sync();
    return breaker_.call(fn, std::forward<Fallback>(fallback));
  }

  /// Looks at the store now (whatever the interval); never throws
  /// StoreUnavailable (counted instead).
  void sync();

  /// The local breaker (state, stats, listeners, forced states).
  [[nodiscard]] CircuitBreaker& breaker() noexcept { return breaker_; }
  [[nodiscard]] const CircuitBreaker& breaker() const noexcept { return breaker_; }
  [[nodiscard]] BreakerState state() const noexcept { return breaker_.state(); }
  [[nodiscard]] SharedBreakerStats shared_stats() const;
  /// The store key of this breaker's record.
  [[nodiscard]] const std::string& record_key() const noexcept { return key_; }

 private:
  void maybe_sync() {
    const Micros now = breaker_.clock().now();
    if (now >= next_sync_.load(std::memory_order_relaxed)) sync_due(now);
  }
  void sync_due(Micros now);
  void sync_at(Micros now);
  void publish(const Transition& t) noexcept;

  const SharedBreakerOptions options_;
  const std::shared_ptr<AttributeStore> store_;
  const std::string key_;
  CircuitBreaker breaker_;
  std::atomic<Micros> next_sync_{0};

  std::mutex sync_mu_;                            // one sync at a time
  std::optional<std::uint64_t> last_generation_;  // guarded by sync_mu_

  std::atomic<std::uint64_t> syncs_{0};
  std::atomic<std::uint64_t> reads_{0};
  std::atomic<std::uint64_t> published_{0};
  std::atomic<std::uint64_t> remote_opens_{0};
  std::atomic<std::uint64_t> store_errors_{0};
  std::atomic<std::uint64_t> bad_records_{0};
};

}  // namespace ratelimit
