#pragma once
/// @file resilience/layered_limiter.hpp
/// The guides' layered limiter: a local bucket, a shared (store) limit, a
/// circuit breaker and adaptive feedback in one object, with typed errors.

#include <atomic>
#include <cstdint>
#include <exception>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>

#include "ratelimit/limit_spec.hpp"
#include "ratelimit/resilience/aimd.hpp"
#include "ratelimit/resilience/circuit_breaker.hpp"
#include "ratelimit/resilience/errors.hpp"
#include "ratelimit/resilience/local_bucket.hpp"
#include "ratelimit/store.hpp"
#include "ratelimit/time.hpp"

namespace ratelimit {

/// This process's own bucket: the cheap first filter.
struct LocalLayerConfig {
  double rate = 100;   ///< units per second (> 0)
  double burst = 100;  ///< capacity in units (>= 1)
};

/// Settings of a LayeredLimiter. Every layer is optional; at least one of
/// `local` and `shared` must be set.
struct LayeredLimiterConfig {
  /// Names the limiter in errors; also the CircuitOpen name when the
  /// breaker's own name is left at its default.
  std::string name = "layered";
  /// Layer 1: one bucket for this process (all keys together).
  std::optional<LocalLayerConfig> local;
  /// Layer 2: a limit per key in the Store, which every instance sharing the
  /// store enforces together. Store keys are `shared_key_prefix + key`.
  std::optional<LimitSpec> shared;
  std::string shared_key_prefix;
  /// Layer 3: a breaker around the protected call.
  std::optional<CircuitBreakerConfig> breaker;
  /// Layer 4: AIMD feedback driving the local bucket's rate (needs `local`;
  /// its initial rate replaces `local.rate`). Throttles are: a denial by the
  /// shared limit, and a call reported `throttled` (the backend said 429).
  std::optional<AimdConfig> adaptive;
};

/// Counters of a LayeredLimiter (monotonic, relaxed: read one by one).
struct LayeredLimiterStats {
  std::uint64_t admitted = 0;         ///< acquisitions that returned a permit
  std::uint64_t local_denied = 0;     ///< refused by the local bucket
  std::uint64_t shared_denied = 0;    ///< refused by the shared limit
  std::uint64_t circuit_refused = 0;  ///< refused by the breaker (CircuitOpen)
  std::uint64_t successes = 0;        ///< permits that ended in success
  std::uint64_t failures = 0;         ///< ... in failure
  std::uint64_t throttled = 0;        ///< ... throttled by the backend
  double local_rate = 0;              ///< the local bucket's rate now (0 without one)
  BreakerState breaker_state = BreakerState::closed;
};

class LayeredLimiter;

/// Permission for one call, from `LayeredLimiter::acquire`. Report how the
/// call ended with exactly one of `success`, `failure` or `throttled`; a
/// permit dropped without an outcome gives its breaker probe back and
/// judges nothing. Move-only; must not outlive its limiter.
class LayeredPermit {
 public:
  LayeredPermit(LayeredPermit&& other) noexcept : owner_(std::exchange(other.owner_, nullptr)) {}
  LayeredPermit& operator=(LayeredPermit&& other) noexcept;
  LayeredPermit(const LayeredPermit&) = delete;
  LayeredPermit& operator=(const LayeredPermit&) = delete;
  ~LayeredPermit();

  /// The call succeeded after `duration` µs (used for slow-call detection).
  void success(Micros duration = 0) noexcept;
  /// The call failed: counts against the breaker (and AIMD, if it decreases on errors).
  void failure(Micros duration = 0) noexcept;
  /// The backend refused the call as over its limit: AIMD slows down; the
  /// breaker does not count it (a throttling backend is healthy).
  void throttled() noexcept;
  /// True until an outcome has been reported (or the permit was moved from).
  [[nodiscard]] bool pending() const noexcept { return owner_ != nullptr; }

 private:
  friend class LayeredLimiter;
  explicit LayeredPermit(LayeredLimiter* owner) noexcept : owner_(owner) {}
  LayeredLimiter* owner_;
};

/// Local bucket -> shared limit -> circuit breaker -> adaptive feedback.
///
/// `acquire(key, cost)` decides, in this order, and stops at the first refusal:
/// 1. an open breaker refuses at once (CircuitOpen), charging nothing;
/// 2. the local bucket (RateLimitExceeded, scope "local");
/// 3. the shared limit for `key` in the store (RateLimitExceeded, scope
///    "shared"); the local units are given back, and AIMD counts a throttle;
/// 4. the breaker's permission (a half-open breaker lets only its probes
///    through; CircuitOpen): the local units are given back, the shared
///    ones stay charged (a store decision cannot be undone).
/// `call(key, fn, cost)` wraps fn in that and reports its outcome: a
/// RateLimitExceeded thrown by fn is a throttle, another exception a failure
/// (as the breaker's `is_failure` says), a return a success.
///
/// Thread-safe. Store errors (StoreUnavailable) propagate: wrap the store in
/// a GuardedStore to choose a failure mode instead.
class LayeredLimiter {
 public:
  /// Throws std::invalid_argument for an invalid config (naming the layer and
  /// field), or when `shared` is set and `store` is null. `clock` defaults to
  /// the system clock.
  explicit LayeredLimiter(LayeredLimiterConfig config, std::shared_ptr<Store> store = nullptr,
                          std::shared_ptr<const Clock> clock = nullptr);
  ~LayeredLimiter();
  LayeredLimiter(const LayeredLimiter&) = delete;
  LayeredLimiter& operator=(const LayeredLimiter&) = delete;

  /// Permission for a call of `cost` units for `key` (see the class comment);
  /// throws RateLimitExceeded or CircuitOpen, or InvalidRequest for a bad key
  /// or cost.
  [[nodiscard]] LayeredPermit acquire(std::string_view key, std::int64_t cost = 1);

  /// Runs `fn()` under `acquire(key, cost)` and reports its outcome.
  template <class F>
  std::invoke_result_t<F&> call(std::string_view key, F&& fn, std::int64_t cost = 1) {
    LayeredPermit permit = acquire(key, cost);
    const Micros start = times_calls_ ? clock_->now() : 0;
    try {
      if constexpr (std::is_void_v<std::invoke_result_t<F&>>) {
        fn();
        permit.success(elapsed_since(start));
      } else {
        auto result = fn();
        permit.success(elapsed_since(start));
        return result;
      }
    } catch (const RateLimitExceeded&) {
      permit.throttled();
      throw;
    } catch (const std::exception& e) {
      if (counts_as_failure(e)) permit.failure(elapsed_since(start));
      throw;  // not a failure: the permit's destructor releases the probe
    } catch (...) {
      permit.failure(elapsed_since(start));
      throw;
    }
  }

  [[nodiscard]] LayeredLimiterStats stats() const;
  [[nodiscard]] const LayeredLimiterConfig& config() const noexcept { return config_; }
  /// The layers, or null when not configured (to read stats, force the
  /// breaker, add listeners).
  [[nodiscard]] LocalBucket* local_bucket() noexcept { return local_.get(); }
  [[nodiscard]] CircuitBreaker* breaker() noexcept { return breaker_.get(); }
  [[nodiscard]] AimdController* adaptive() noexcept { return aimd_.get(); }

 private:
  friend class LayeredPermit;
  enum class Outcome : std::uint8_t { success, failure, throttled, none };
  void finish(Outcome outcome, Micros duration) noexcept;
  [[nodiscard]] bool counts_as_failure(const std::exception& e) const;
  [[nodiscard]] Micros elapsed_since(Micros start) const noexcept {
    return times_calls_ ? clock_->now() - start : 0;
  }
  void count(std::atomic<std::uint64_t>& counter) noexcept {
    counter.fetch_add(1, std::memory_order_relaxed);
  }

  LayeredLimiterConfig config_;
  std::shared_ptr<Store> store_;
  std::shared_ptr<const Clock> clock_;
  std::unique_ptr<LocalBucket> local_;
  std::unique_ptr<CircuitBreaker> breaker_;
  std::unique_ptr<AimdController> aimd_;
  bool times_calls_ = false;  // the breaker judges slow calls

  std::atomic<std::uint64_t> admitted_{0};
  std::atomic<std::uint64_t> local_denied_{0};
  std::atomic<std::uint64_t> shared_denied_{0};
  std::atomic<std::uint64_t> circuit_refused_{0};
  std::atomic<std::uint64_t> successes_{0};
  std::atomic<std::uint64_t> failures_{0};
  std::atomic<std::uint64_t> throttled_{0};
};

}  // namespace ratelimit
