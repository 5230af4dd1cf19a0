#pragma once
/// @file resilience/circuit_breaker.hpp
/// A circuit breaker: stops calling a failing dependency for a while, then
/// lets a few probe calls decide whether it has recovered.

#include <atomic>
#include <cstdint>
#include <exception>
#include <functional>
#include <limits>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

#include "ratelimit/resilience/errors.hpp"
#include "ratelimit/time.hpp"

namespace ratelimit {

/// The three states of a circuit breaker. (GuardedStore's breaker reports the
/// same states.)
enum class BreakerState : std::uint8_t { closed, open, half_open };
/// "closed", "open", "half_open".
[[nodiscard]] std::string_view to_string(BreakerState s) noexcept;

/// Which calls a breaker judges.
enum class SlidingWindowType : std::uint8_t {
  count,  ///< the last `window_size` recorded calls
  time,   ///< the calls recorded in the last `window_duration` µs
};
/// "count", "time".
[[nodiscard]] std::string_view to_string(SlidingWindowType t) noexcept;

/// Why a breaker changed state.
enum class TransitionReason : std::uint8_t {
  failure_rate,      ///< closed -> open: failure rate reached its threshold
  slow_call_rate,    ///< closed -> open: slow-call rate reached its threshold
  wait_elapsed,      ///< open -> half_open: the first call at or after opened_at + wait_in_open
  probes_succeeded,  ///< half_open -> closed: `successes_to_close` probes succeeded
  probes_failed,     ///< half_open -> open: too many probes failed to ever close
  external,       ///< -> open by `open_until` (e.g. a SharedCircuitBreaker saw it open elsewhere)
  forced_open,    ///< `force_open()`
  forced_closed,  ///< `force_closed()`
  reset,          ///< `reset()`
};
/// The enumerator's name ("failure_rate", ...).
[[nodiscard]] std::string_view to_string(TransitionReason r) noexcept;

/// One state change, as listeners see it. `from == to` is possible for the
/// manual operations (e.g. `reset()` of a forced-closed breaker).
struct Transition {
  BreakerState from = BreakerState::closed;
  BreakerState to = BreakerState::closed;
  Micros at = 0;  ///< the breaker's clock when it changed (the call that caused it)
  TransitionReason reason = TransitionReason::reset;
  friend bool operator==(const Transition&, const Transition&) = default;
};

/// Settings of a CircuitBreaker. Rates and thresholds are fractions in (0, 1]
/// (0.5 = 50 %); durations are µs. `validate` checks them.
struct CircuitBreakerConfig {
  /// Names the breaker in CircuitOpen and in logs. Not empty.
  std::string name = "breaker";
  SlidingWindowType window_type = SlidingWindowType::count;
  /// Count window: how many of the most recent calls are judged, 1 .. kMaxWindowSize.
  std::int64_t window_size = 100;
  /// Time window: the span judged, in µs; a multiple of `bucket_duration`.
  Micros window_duration = 60 * kMicrosPerSecond;
  /// Time window: calls are counted per bucket of this many µs, so memory is
  /// `window_duration / bucket_duration` buckets (at most kMaxBuckets)
  /// whatever the call rate. A whole bucket leaves the window at once.
  Micros bucket_duration = kMicrosPerSecond;
  /// Open when failures / calls in the window >= this.
  double failure_rate_threshold = 0.5;
  /// Open when slow calls / calls in the window >= this (slow-call detection on).
  double slow_call_rate_threshold = 1.0;
  /// A call taking at least this many µs is slow (whether it succeeded or
  /// not). nullopt: slow-call detection is off and a closed breaker's `call`
  /// never reads the clock (count window). >= 1.
  std::optional<Micros> slow_call_duration;
  /// Calls the window must hold before the rates are judged, >= 1; at most
  /// `window_size` for a count window (or it could never open).
  std::int64_t minimum_calls = 10;
  /// How long the breaker stays open before it lets probes through, > 0.
  Micros wait_in_open = 60 * kMicrosPerSecond;
  /// Probe calls let through while half-open, >= 1.
  std::int64_t permitted_calls_in_half_open = 3;
  /// Successful probes that close the breaker, 1 .. permitted_calls_in_half_open.
  /// It reopens as soon as more than `permitted - successes_to_close` probes
  /// failed (closing has become impossible); with the default (equal) values,
  /// the first failed probe reopens it.
  std::int64_t successes_to_close = 3;
  /// Which exceptions thrown by the function given to `call` count as
  /// failures. Empty: all. An exception it rejects counts as neither success
  /// nor failure (the call is released). Exceptions not derived from
  /// std::exception always count; a predicate that throws counts as "yes".
  std::function<bool(const std::exception&)> is_failure;

  static constexpr std::int64_t kMaxWindowSize = 1'000'000;
  static constexpr std::int64_t kMaxBuckets = 100'000;
};

/// Throws std::invalid_argument naming the first bad field and its value.
void validate(const CircuitBreakerConfig& config);

/// A snapshot of a breaker. Counters are cumulative since construction and
/// monotonic; rates describe the current window (0 when it is empty; the
/// window is emptied on every change to open or closed). Under concurrency the
/// fields are read one by one and may be a few calls apart.
struct CircuitBreakerStats {
  BreakerState state = BreakerState::closed;
  bool forced = false;      ///< held by force_open / force_closed until reset()
  std::uint64_t calls = 0;  ///< outcomes recorded (successes + failures)
  std::uint64_t successes = 0;
  std::uint64_t failures = 0;
  std::uint64_t slow_calls = 0;       ///< of all outcomes, those at least slow_call_duration long
  std::uint64_t not_permitted = 0;    ///< calls refused (try_acquire false, CircuitOpen)
  std::uint64_t listener_errors = 0;  ///< exceptions thrown by listeners (swallowed)
  std::int64_t window_calls = 0;      ///< calls in the current window
  double failure_rate = 0;            ///< of the window, in [0, 1]
  double slow_call_rate = 0;          ///< of the window, in [0, 1]
  double success_rate = 0;            ///< of the window: 1 - failure_rate, 0 when empty
  std::optional<Micros> last_failure_at;  ///< clock reading at the last failure
  Micros last_state_change_at = 0;        ///< construction, or the last Transition's `at`
};

class CountWindow;
class TimeWindow;

/// A circuit breaker (the resilience4j model). CLOSED: calls pass, and their
/// outcomes fill a sliding window; once it holds `minimum_calls`, a failure
/// rate or slow-call rate at or above its threshold opens it. OPEN: calls are
/// refused until `opened_at + wait_in_open`; the first `try_acquire` at or
/// after that instant turns it HALF_OPEN (lazily: nothing runs in between).
/// HALF_OPEN: `permitted_calls_in_half_open` probes pass, the rest are
/// refused; `successes_to_close` successes close it (with an empty window),
/// too many failures reopen it for another `wait_in_open`.
///
/// Use it through `call(fn)`, or by hand: `try_acquire()`, then exactly one of
/// `on_success`, `on_failure` or `release` for every call it permitted.
/// Outcomes reported while open, or while half-open with no probe
/// outstanding (late results of calls permitted earlier), are counted in the
/// statistics but judge nothing.
///
/// Thread-safe. A closed breaker's success path takes no lock: one atomic
/// load to admit, one atomic increment and one load to record (count window,
/// slow-call detection off); see bench/breaker_bench.cpp. Under concurrency
/// the window is approximate by a few calls (two calls racing for one slot of
/// the ring keep one outcome). Transitions happen under a mutex; listeners
/// run after it is released, on the thread that caused the transition, and
/// may run concurrently with each other.
class CircuitBreaker final {
 public:
  using Listener = std::function<void(const Transition&)>;

  /// Throws std::invalid_argument for a bad config (see `validate`). `clock`
  /// defaults to the system clock.
  explicit CircuitBreaker(CircuitBreakerConfig config,
                          std::shared_ptr<const Clock> clock = nullptr);
  ~CircuitBreaker();
  CircuitBreaker(const CircuitBreaker&) = delete;
  CircuitBreaker& operator=(const CircuitBreaker&) = delete;

  /// Whether a call may be made now. In HALF_OPEN, a `true` takes one of the
  /// probes, which the caller must give back with an outcome or `release`.
  /// May turn OPEN into HALF_OPEN (see the class comment).
  [[nodiscard]] bool try_acquire() {
    if (mode_.load(std::memory_order_acquire) == Mode::closed) return true;
    return admit_slow() == kPermitted;
  }
  /// How long until this breaker would let a call through: 0 when it would
  /// now (or is half-open waiting for probes), kInfinite when forced open.
  [[nodiscard]] Micros retry_after() const;

  /// Records a permitted call that succeeded and took `duration` µs (only
  /// used for slow-call detection). Never throws.
  void on_success(Micros duration = 0) noexcept { record(false, duration, kNoTime); }
  /// Records a permitted call that failed and took `duration` µs.
  void on_failure(Micros duration = 0) noexcept { record(true, duration, kNoTime); }
  /// Gives back a permitted call that ended with no outcome to judge (an
  /// exception `is_failure` rejects): frees its probe when half-open.
  void release() noexcept;

  /// Calls `fn()` if permitted, times it with the breaker's clock (only with
  /// slow-call detection; a time window reads it once, at the end), records the outcome and
  /// returns its result. An exception from `fn` is recorded (per
  /// `is_failure`) and rethrown. Throws CircuitOpen, without calling `fn`,
  /// when not permitted.
  template <class F>
  std::invoke_result_t<F&> call(F&& fn) {
    const Micros wait = admit();
    if (wait != kPermitted) throw CircuitOpen(config_.name, wait);
    return run(fn);
  }

  /// Like `call(fn)`, but when the breaker refuses, returns
  /// `fallback(const CircuitOpen&)` instead of throwing. The fallback covers
  /// only the refusal: exceptions thrown by `fn` are recorded and propagate
  /// (a failing dependency and an open circuit usually deserve different
  /// handling; wrap `call` in a try block to treat them alike).
  template <class F, class Fallback>
  std::invoke_result_t<F&> call(F&& fn, Fallback&& fallback) {
    const Micros wait = admit();
    if (wait != kPermitted) return fallback(CircuitOpen(config_.name, wait));
    return run(fn);
  }

  /// Opens the breaker until `reset()` (or `force_closed()`): no probes.
  void force_open();
  /// Keeps the breaker closed, judging nothing, until `reset()` (or `force_open()`).
  void force_closed();
  /// Back to CLOSED with an empty window, ending any forced state.
  void reset();
  /// Opens the breaker now until the instant `until` (Unix µs), after which it
  /// goes half-open as usual; extends an open period that would end sooner.
  /// No effect when forced, or when `until` is not in the future. Reason
  /// `external`. True when it opened the breaker or extended its open period.
  bool open_until(Micros until);

  /// Adds a listener for every later transition. Listeners run outside the
  /// breaker's lock, so they may call the breaker; exceptions they throw are
  /// swallowed and counted (`listener_errors`).
  void add_listener(Listener listener);

  /// The state as of the last call: an OPEN breaker whose wait has elapsed
  /// still reads open until the next `try_acquire`.
  [[nodiscard]] BreakerState state() const noexcept {
    return visible(mode_.load(std::memory_order_acquire));
  }
  [[nodiscard]] CircuitBreakerStats stats() const;
  [[nodiscard]] const CircuitBreakerConfig& config() const noexcept { return config_; }
  [[nodiscard]] const std::string& name() const noexcept { return config_.name; }
  [[nodiscard]] const Clock& clock() const noexcept { return *clock_; }

 private:
  enum class Mode : std::uint8_t { closed, open, half_open, forced_open, forced_closed };
  static constexpr Micros kPermitted = -1;
  static constexpr Micros kNoTime = std::numeric_limits<Micros>::min();

  static BreakerState visible(Mode m) noexcept;
  // kPermitted, or the retry_after of the refusal.
  Micros admit() {
    if (mode_.load(std::memory_order_acquire) == Mode::closed) return kPermitted;
    return admit_slow();
  }
  Micros admit_slow();
  // `now` is kNoTime when the caller has not read the clock.
  void record(bool failure, Micros duration, Micros now) noexcept;
  void record_not_closed(bool bad) noexcept;
  void evaluate(Micros now) noexcept;
  void record_exception(const std::exception* e, Micros start) noexcept;
  void notify(const Transition& t) noexcept;
  // With mu_ held: changes mode_ and returns the transition to announce.
  Transition transition_locked(Mode to, Micros now, TransitionReason reason);
  void clear_window() noexcept;

  template <class F>
  std::invoke_result_t<F&> run(F& fn) {
    using R = std::invoke_result_t<F&>;
    const Micros start = timed_ ? clock_->now() : 0;
    try {
      if constexpr (std::is_void_v<R>) {
        fn();
        finish(start);
      } else {
        R result = fn();
        finish(start);
        return result;
      }
    } catch (const std::exception& e) {
      record_exception(&e, start);
      throw;
    } catch (...) {
      record_exception(nullptr, start);
      throw;
    }
  }
  void finish(Micros start) noexcept {
    if (!timed_) {
      record(false, 0, kNoTime);
      return;
    }
    const Micros end = clock_->now();
    record(false, end - start, end);
  }

  const CircuitBreakerConfig config_;
  const std::shared_ptr<const Clock> clock_;
  const bool timed_;         // run() reads the clock
  const bool slow_enabled_;  // slow_call_duration set
  const Micros slow_call_duration_;
  const std::int64_t failure_ppm_;  // thresholds in millionths, compared exactly
  const std::int64_t slow_ppm_;

  // Read on every call; written only under mu_. Its own cache line, away
  // from the counters every recorded call writes.
  alignas(64) std::atomic<Mode> mode_{Mode::closed};
  std::atomic<Micros> open_until_{0};  // written under mu_; read without it while open

  std::unique_ptr<CountWindow> count_window_;  // one of the two windows
  std::unique_ptr<TimeWindow> time_window_;

  mutable std::mutex mu_;
  Micros opened_at_ = 0;               // guarded by mu_
  Micros state_changed_at_ = 0;        // guarded by mu_
  std::int64_t probes_admitted_ = 0;   // guarded by mu_
  std::int64_t probes_succeeded_ = 0;  // guarded by mu_
  std::int64_t probes_failed_ = 0;     // guarded by mu_

  // Cumulative counters off the closed success path.
  alignas(64) std::atomic<std::uint64_t> failures_total_{0};
  std::atomic<std::uint64_t> slow_total_{0};
  std::atomic<std::uint64_t> not_permitted_{0};
  std::atomic<std::uint64_t> calls_outside_window_{0};  // outcomes recorded while not closed
  std::atomic<std::uint64_t> listener_errors_{0};
  std::atomic<Micros> last_failure_at_{kNoTime};

  mutable std::mutex listeners_mu_;
  std::shared_ptr<const std::vector<Listener>>
      listeners_;  // guarded by listeners_mu_; copied on write
};

}  // namespace ratelimit
