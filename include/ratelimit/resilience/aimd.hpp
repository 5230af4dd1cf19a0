#pragma once
/// @file resilience/aimd.hpp
/// AimdController: a client-side rate that grows while calls succeed and
/// shrinks when the server throttles (additive/multiplicative increase,
/// multiplicative decrease), driving a LocalBucket or any rate sink.

#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string_view>

#include "ratelimit/resilience/adaptive_sinks.hpp"
#include "ratelimit/resilience/local_bucket.hpp"
#include "ratelimit/time.hpp"

namespace ratelimit {

/// Settings of an AimdController. Rates are in units per second.
///
/// Increase, after every `successes_to_increase` successes in a row (a
/// throttle restarts the count; successes during a cool-down do not count):
///
///     rate <- min(max_rate, rate * (1 + increase_ratio) + increase_step)
///
/// `increase_step` alone is classic additive increase (AIMD);
/// `increase_ratio` alone is multiplicative increase, which reaches a far
/// capacity in logarithmic time and makes the number of calls per sawtooth
/// cycle independent of the capacity (see docs/resilience/adaptive.md).
///
/// Decrease, on a throttle, unless the last decrease was less than
/// `decrease_cooldown` µs ago:
///
///     rate <- max(min_rate, rate * decrease_factor)
///
/// The cool-down makes the many throttles of one overshoot (all the calls
/// already in flight when the server started refusing) count as one signal,
/// and successes during it do not count toward an increase either (those
/// calls were sent at the rate just found too high). Set it to one or two
/// round trips. 0 decreases on every throttle, which collapses the rate of
/// a client with many calls in flight.
struct AimdConfig {
  double initial_rate = 100;  ///< Starting rate; in [min_rate, max_rate].
  double min_rate = 1;        ///< Floor (> 0, finite).
  double max_rate = 1e9;      ///< Ceiling (>= min_rate, finite).
  /// Successes per increase (>= 1).
  std::uint64_t successes_to_increase = 1;
  double increase_step = 0;      ///< Added per increase (units/s, >= 0).
  double increase_ratio = 0.01;  ///< Relative growth per increase (>= 0).
  double decrease_factor = 0.9;  ///< Multiplier on throttle, in (0, 1).
  /// Minimum µs between decreases (>= 0). The default suits round trips up
  /// to ~50 ms.
  Micros decrease_cooldown = 100 * kMicrosPerMilli;
  /// Whether `on_error()` (a failure that is not a throttle: a timeout, a
  /// 5xx) decreases like `on_throttle()`. Off: errors are only counted.
  bool decrease_on_error = false;
};

/// Why the rate last changed.
enum class AimdChange { none, increase, decrease };

[[nodiscard]] std::string_view to_string(AimdChange change) noexcept;

/// A snapshot of an AimdController's counters.
struct AimdStats {
  double rate = 0;              ///< Current rate, units/s.
  std::uint64_t successes = 0;  ///< `on_success` calls.
  std::uint64_t throttles = 0;  ///< `on_throttle` calls.
  std::uint64_t errors = 0;     ///< `on_error` calls.
  std::uint64_t increases = 0;  ///< Increases that changed the rate (not those at max_rate).
  std::uint64_t decreases = 0;  ///< Decreases that changed the rate (not those at min_rate).
  /// Throttles (and decreasing errors) that fell in a cool-down and changed nothing.
  std::uint64_t suppressed = 0;
  Micros last_change_at = 0;  ///< Clock instant of the last change (0: none yet).
  AimdChange last_change = AimdChange::none;
  friend bool operator==(const AimdStats&, const AimdStats&) = default;
};

/// Adapts a send rate to a server's unknown capacity from its responses:
/// `on_success()` after every admitted call, `on_throttle()` after every
/// refusal (HTTP 429, RESOURCE_EXHAUSTED, RateLimitExceeded). The controller
/// only computes the rate; the caller paces its calls with it, usually by
/// `attach`-ing a LocalBucket and acquiring from that before each call.
///
/// Thread-safe: every method may be called concurrently. State changes take
/// one mutex (tens of ns); sinks run after it is released (AdaptiveSinks).
class AimdController final {
 public:
  /// Throws std::invalid_argument, naming the field and value, for an
  /// invalid config (see AimdConfig). `clock` (default: the system clock)
  /// times the cool-down and `last_change_at`.
  explicit AimdController(const AimdConfig& config, std::shared_ptr<const Clock> clock = nullptr);

  /// One call succeeded: may increase the rate.
  void on_success();
  /// One call was throttled: decreases the rate unless in a cool-down.
  void on_throttle();
  /// One call failed otherwise: counted; decreases only if
  /// `decrease_on_error`.
  void on_error();

  /// Current rate, units per second, in [min_rate, max_rate].
  [[nodiscard]] double rate() const;
  /// Counters; a consistent snapshot, stale as soon as it returns.
  [[nodiscard]] AimdStats stats() const;
  [[nodiscard]] const AimdConfig& config() const noexcept { return config_; }

  /// Calls `sink(rate)` now and after every change of the rate (see
  /// AdaptiveSinks for ordering, locking and exceptions).
  void add_sink(std::function<void(double)> sink);
  /// Drives `bucket`: sets its rate now and on every change. The bucket
  /// must outlive this controller.
  void attach(LocalBucket& bucket);

 private:
  // Both return true if the rate changed; mu_ held.
  bool decrease_locked(Micros now);
  void publish();

  AimdConfig config_;
  std::shared_ptr<const Clock> clock_;
  mutable std::mutex mu_;
  AimdStats stats_;              // Guarded by mu_.
  std::uint64_t streak_ = 0;     // Guarded by mu_: successes toward the next increase.
  bool decreased_ = false;       // Guarded by mu_: a decrease has happened.
  Micros last_decrease_at_ = 0;  // Guarded by mu_.
  AdaptiveSinks<double> sinks_;
};

}  // namespace ratelimit
