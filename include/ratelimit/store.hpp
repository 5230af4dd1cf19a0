#pragma once
/// @file store.hpp
/// Where limiter state lives, and the atomicity contract every backend keeps.

#include <cstdint>
#include <exception>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>

#include "ratelimit/decision.hpp"
#include "ratelimit/limit_spec.hpp"
#include "ratelimit/time.hpp"

namespace ratelimit {

/// One limit to check for one key. The key names the state: the same key with
/// the same algorithm is one state. Callers that check several limits for one
/// identifier give each limit its own key (e.g. "per_minute:user:42").
/// Neither pointer is kept after the call returns.
///
/// One decision may charge its checks different amounts: a tier budget that
/// counts cost units (an expensive endpoint costs 50) next to a per-IP limit
/// that counts requests (each costs 1). A check's effective cost in a
/// decision of `cost` is 0 when `cost` is 0 (a peek), else `cost` when
/// `Check::cost` is kDecisionCost, else `Check::cost`.
struct Check {
  const LimitSpec* spec = nullptr;
  std::string_view key;
  /// Units this check is charged, when it differs from the decision's cost:
  /// kDecisionCost (the default) means the decision's `cost`. A decision of
  /// cost 0 (a peek) charges nothing to any check, whatever this says.
  /// Otherwise 0 .. LimitSpec::kMaxLimit; 0 evaluates the check like a peek
  /// and leaves its state alone, while the other checks are charged.
  std::int64_t cost = kDecisionCost;
  /// `cost` value meaning "the decision's cost".
  static constexpr std::int64_t kDecisionCost = -1;
};

/// Bad input to a store (empty or overlong key, negative cost, too many
/// checks, an instant out of range). Thrown before any state changes.
class InvalidRequest : public std::invalid_argument {
 public:
  using std::invalid_argument::invalid_argument;
};

/// The store's backend (Redis) could not be reached or did not answer in
/// time. Nothing was decided; whether the request may proceed is the
/// caller's failure policy (see GuardedStore).
class StoreUnavailable : public std::runtime_error {
 public:
  enum class Kind : std::uint8_t { connection, timeout, reply };
  StoreUnavailable(Kind kind, const std::string& what) : std::runtime_error(what), kind_(kind) {}
  [[nodiscard]] Kind kind() const noexcept { return kind_; }

 private:
  Kind kind_;
};

/// One decision of a batch (Store::decide_batch): the arguments of `decide`
/// and, filled by the store, its result or what `decide` would have thrown.
struct BatchDecision {
  std::span<const Check> checks;
  std::int64_t cost = 1;
  Micros now = 0;
  /// Empty, or one element per check (as `decide`'s `each`).
  std::span<Decision> each;
  /// Out: the combined decision (when `error` is null).
  Decision result{};
  /// Out: InvalidRequest, StoreUnavailable, ... for this decision alone.
  std::exception_ptr error;
};

/// Counters a store keeps about itself. Monotonic except `keys`. (Decisions
/// are counted by the caller: a shared per-store counter would be a cache
/// line every thread writes, and cost a hot key its scaling across cores.)
struct StoreStats {
  std::uint64_t keys = 0;            ///< states currently held
  std::uint64_t expired_dropped = 0; ///< states dropped because they had expired
  std::uint64_t overflow = 0;        ///< new keys met with the store full (see OverflowPolicy)
  std::uint64_t evicted = 0;         ///< live states evicted to make room
};

/// State holder for the algorithms. Implementations: MemoryStore (embedded,
/// sharded) and, later, the Redis store.
///
/// Contract, for every implementation:
/// - `decide` admits all checks or none: either every check's state is
///   charged its effective cost (`cost`, or the check's own `Check::cost`),
///   or none changes. Each check is decided with its effective cost
///   (`remaining`, `retry_after`, and kInfinite when that cost exceeds the
///   check's limit). Concurrent decisions behave as if run
///   one at a time in some order (linearizable), also across keys.
/// - A state whose `reset_after` has passed equals an absent key, so a store
///   may drop it at any time.
/// - Thread-safe: every method may be called from any thread.
class Store {
 public:
  /// Longest key accepted, in bytes.
  static constexpr std::size_t kMaxKeyLength = 512;
  /// Most checks in one atomic decision.
  static constexpr std::size_t kMaxChecks = 32;

  virtual ~Store() = default;

  /// Decides one request of `cost` units (0 = peek: nothing changes) against
  /// every check at instant `now`; a check with its own `Check::cost` is
  /// charged that instead (see Check). Returns the combined decision (see
  /// `combine`); when `each` is not empty (it must then hold one element per
  /// check), writes every check's own decision there. Throws InvalidRequest
  /// for bad input (including a check cost other than kDecisionCost or
  /// 0 .. LimitSpec::kMaxLimit).
  virtual Decision decide(std::span<const Check> checks, std::int64_t cost, Micros now,
                          std::span<Decision> each = {}) = 0;

  /// Decides independent requests, each exactly as `decide` would (each
  /// all-or-none on its own checks; together they are not atomic). A store
  /// with a remote backend sends them together (Redis: one script call per
  /// `max_batch`), so a server that gathers the requests arriving at once
  /// pays one round trip for all of them. Never throws: each failure is
  /// stored in its element's `error`. The default decides one by one.
  virtual void decide_batch(std::span<BatchDecision> batch);
  /// True when `decide_batch` is cheaper per decision than `decide` (one
  /// round trip for many), so callers should gather decisions; false for
  /// in-memory stores, where a decision costs less than gathering it.
  [[nodiscard]] virtual bool prefers_batches() const noexcept { return false; }

  /// Deletes the state of every listed key: the next request sees a new key.
  virtual void reset(std::span<const Check> checks) = 0;

  [[nodiscard]] virtual StoreStats stats() const = 0;

  /// One check; same contract as `decide`.
  Decision decide_one(const Check& check, std::int64_t cost, Micros now) {
    return decide(std::span<const Check>(&check, 1), cost, now);
  }
  /// One check at `clock.now()`, read as late as the store can: a store may
  /// first start fetching the key's state (MemoryStore prefetches its slot,
  /// so the clock read and the memory access overlap). Same decision as
  /// `decide_one(check, cost, clock.now())`.
  virtual Decision decide_one_now(const Check& check, std::int64_t cost, const Clock& clock) {
    return decide_one(check, cost, clock.now());
  }
  /// The decision fields without changing anything (cost 0).
  Decision peek(std::span<const Check> checks, Micros now, std::span<Decision> each = {}) {
    return decide(checks, 0, now, each);
  }
};

}  // namespace ratelimit
