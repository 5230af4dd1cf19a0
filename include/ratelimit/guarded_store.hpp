#pragma once
/// @file guarded_store.hpp
/// A store behind a circuit breaker, with a configured answer for when it
/// cannot be reached: fail open, fail closed, or decide locally.

#include <atomic>
#include <cstdint>
#include <functional>
#include <optional>
#include <memory>

#include "ratelimit/memory_store.hpp"
#include "ratelimit/resilience/circuit_breaker.hpp"  // BreakerState
#include "ratelimit/store.hpp"
#include "ratelimit/time.hpp"

namespace ratelimit {

/// What a decision is when the primary store is unavailable.
enum class FailureMode : std::uint8_t {
  fail_open,    ///< admit (availability first); `remaining` reports the full limit
  fail_closed,  ///< deny, with `retry_after` = time until the store is tried again
  local,        ///< decide with an in-memory store, each limit scaled by `local_share`
};

/// Canonical names: "open", "closed", "local".
[[nodiscard]] std::string_view to_string(FailureMode m) noexcept;
/// Parses "open", "closed" or "local"; throws std::invalid_argument naming the choices.
[[nodiscard]] FailureMode parse_failure_mode(std::string_view name);

struct GuardedStoreOptions {
  FailureMode failure_mode = FailureMode::fail_open;
  /// Local mode: the share of every limit (and burst) this instance may use
  /// alone, e.g. 0.25 with four instances. In (0, 1]; scaled limits are at least 1.
  double local_share = 1.0;
  /// Consecutive failures (errors or timeouts) that open the breaker.
  int breaker_failures = 3;
  /// How long the breaker stays open before one probe decision is let through.
  Micros breaker_open = 1 * kMicrosPerSecond;
  /// The local store (local mode).
  MemoryStoreOptions local{};
};

/// Counters. Monotonic except `state`.
struct GuardedStoreStats {
  std::uint64_t errors = 0;          ///< primary failures other than timeouts
  std::uint64_t timeouts = 0;        ///< primary timeouts
  std::uint64_t fallbacks = 0;       ///< decisions made by the failure mode (degraded)
  std::uint64_t short_circuited = 0; ///< of those, made without trying the primary (breaker open)
  std::uint64_t breaker_opened = 0;
  std::uint64_t breaker_half_opened = 0;
  std::uint64_t breaker_closed = 0;
  BreakerState state = BreakerState::closed;
};

/// Wraps a primary store (typically RedisStore). A primary that throws
/// StoreUnavailable counts as a failure; `breaker_failures` in a row open the
/// breaker, and while it is open decisions go straight to the failure mode
/// (microseconds, no timeout each). After `breaker_open` one probe decision
/// tries the primary: success closes the breaker, failure opens it again.
/// Every decision made by the failure mode has `degraded` set.
///
/// Time for the breaker comes from `clock` (the system clock by default; a
/// ManualClock in tests). InvalidRequest from the primary is not a failure:
/// it propagates.
class GuardedStore final : public Store {
 public:
  GuardedStore(std::unique_ptr<Store> primary, GuardedStoreOptions options, const Clock& clock = SystemClock::instance());
  ~GuardedStore() override;

  Decision decide(std::span<const Check> checks, std::int64_t cost, Micros now,
                  std::span<Decision> each = {}) override;
  Decision decide_one_now(const Check& check, std::int64_t cost, const Clock& clock) override;
  /// The primary's batch, counted by the breaker as one call (it is one
  /// round trip): the decisions it could not make fall back, as do all of
  /// them while the breaker is open.
  void decide_batch(std::span<BatchDecision> batch) override;
  [[nodiscard]] bool prefers_batches() const noexcept override { return primary_->prefers_batches(); }
  /// Resets the keys in the local store and in the primary (which may throw StoreUnavailable).
  void reset(std::span<const Check> checks) override;
  [[nodiscard]] StoreStats stats() const override;

  [[nodiscard]] GuardedStoreStats guard_stats() const;
  [[nodiscard]] BreakerState breaker_state() const;
  [[nodiscard]] Store& primary() noexcept { return *primary_; }
  [[nodiscard]] const GuardedStoreOptions& options() const noexcept { return options_; }

 private:
  // Runs `call` on the primary if the breaker lets it; nullopt when it did
  // not run or the primary was unavailable (the caller falls back).
  std::optional<Decision> try_primary(const std::function<Decision()>& call);
  Decision fallback(std::span<const Check> checks, std::int64_t cost, Micros now, std::span<Decision> each);
  void count_transition(const Transition& t) noexcept;

  std::unique_ptr<Store> primary_;
  GuardedStoreOptions options_;
  const Clock& clock_;
  std::unique_ptr<MemoryStore> local_;

  // `breaker_failures` consecutive failures = a count window of that many
  // calls, all failed; one half-open probe that closes on success. Its closed
  // path is lock-free.
  CircuitBreaker breaker_;

  std::atomic<std::uint64_t> errors_{0};
  std::atomic<std::uint64_t> timeouts_{0};
  std::atomic<std::uint64_t> fallbacks_{0};
  std::atomic<std::uint64_t> short_circuited_{0};
  std::atomic<std::uint64_t> breaker_opened_{0};       // counted by a breaker listener
  std::atomic<std::uint64_t> breaker_half_opened_{0};
  std::atomic<std::uint64_t> breaker_closed_{0};
};

}  // namespace ratelimit
