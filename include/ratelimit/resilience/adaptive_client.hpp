#pragma once
/// @file resilience/adaptive_client.hpp
/// A client-side limiter that learns the server's limit from its responses:
/// AIMD on 429s, and pauses when the server says when to come back.

#include <cstdint>
#include <functional>
#include <future>
#include <memory>
#include <mutex>
#include <optional>
#include <utility>

#include "ratelimit/resilience/client_limiter.hpp"
#include "ratelimit/resilience/http_hints.hpp"
#include "ratelimit/resilience/sleeper.hpp"
#include "ratelimit/time.hpp"

namespace ratelimit {

/// How an AdaptiveClient moves its rate. Rates are units per second.
struct AdaptiveClientOptions {
  double initial_rate = 10;  ///< rate at start, in [min_rate, max_rate]
  double min_rate = 1;       ///< floor of the decreases (> 0)
  double max_rate = 100;     ///< ceiling of the increases (>= min_rate)
  double burst = 1;          ///< bucket capacity in units (>= 1)
  /// Multiplies the rate on each 429 (in (0, 1); 0.5 halves it).
  double decrease_factor = 0.5;
  /// A 429 within this many µs of the last decrease does not decrease again
  /// (>= 0; 0: every 429 decreases), so a burst of in-flight requests that
  /// all come back 429 counts as one signal.
  Micros decrease_interval = 0;
  /// Added to the rate after every `successes_per_increase` successes (>= 0).
  double increase_step = 1;
  std::uint32_t successes_per_increase = 10;  ///< >= 1
  /// Hints asking for a longer pause (or an instant further away) than this
  /// many µs are ignored and counted as out of range (> 0).
  Micros max_hint = kMicrosPerDay;
  /// Whether `RateLimit-Policy` caps the rate at quota / window.
  bool follow_policy = true;
};

/// Counters of an AdaptiveClient; a snapshot, like ClientLimiterStats.
struct AdaptiveClientStats {
  std::uint64_t responses = 0;             ///< on_response calls
  std::uint64_t successes = 0;             ///< responses with status 200..399
  std::uint64_t throttled = 0;             ///< responses with status 429
  std::uint64_t decreases = 0;             ///< rate decreases (429s, a lower policy)
  std::uint64_t increases = 0;             ///< additive increases
  std::uint64_t pauses = 0;                ///< hints that extended the pause
  std::uint64_t malformed_headers = 0;     ///< hint fields ignored: unparsable
  std::uint64_t out_of_range_headers = 0;  ///< hint fields ignored: absurd
  ClientLimiterStats limiter;              ///< the underlying limiter's
  bool operator==(const AdaptiveClientStats&) const = default;
};

/// A ClientLimiter whose rate follows the server's responses (AIMD):
/// - 429: rate *= decrease_factor (not below min_rate); the success count
///   restarts;
/// - 200..399: after every `successes_per_increase` of them the rate grows by
///   `increase_step` (not above max_rate, nor above the policy cap);
/// - other statuses (4xx, 5xx, out-of-range values) leave the rate alone.
///
/// And it honours the server's hints (read_http_hints): acquires wait until
/// - the `Retry-After` instant, on a 429 or 503 response;
/// - the window's reset, on any response saying nothing is left
///   (`RateLimit-Remaining: 0` + `RateLimit-Reset`, `X-RateLimit-Remaining: 0`
///   + `X-RateLimit-Reset`, `RateLimit: ...;r=0;t=...`);
/// and `RateLimit-Policy` caps the rate (follow_policy). Malformed or absurd
/// hint values are ignored and counted. Thread-safe.
class AdaptiveClient final {
 public:
  /// Throws std::invalid_argument, naming the field and the value, for
  /// options outside the ranges above, or a custom clock without a sleeper.
  explicit AdaptiveClient(AdaptiveClientOptions options,
                          std::shared_ptr<const Clock> clock = nullptr,
                          std::shared_ptr<Sleeper> sleeper = nullptr);

  /// As ClientLimiter::try_acquire.
  [[nodiscard]] bool try_acquire(double cost = 1) { return limiter_.try_acquire(cost); }
  /// As ClientLimiter::acquire (waits out the pause too).
  [[nodiscard]] bool acquire(double cost = 1, Micros timeout = kInfinite) {
    return limiter_.acquire(cost, timeout);
  }
  /// As ClientLimiter::acquire_async.
  [[nodiscard]] std::future<bool> acquire_async(double cost, Micros timeout) {
    return limiter_.acquire_async(cost, timeout);
  }
  /// As ClientLimiter::acquire_async.
  void acquire_async(double cost, Micros timeout, std::function<void(bool)> callback) {
    limiter_.acquire_async(cost, timeout, std::move(callback));
  }
  /// As ClientLimiter::time_to_available (counts the pause).
  [[nodiscard]] Micros time_to_available(double cost = 1) const {
    return limiter_.time_to_available(cost);
  }

  /// Feeds one response of the remote API: its HTTP status and header
  /// fields (untrusted). Adjusts the rate and the pause as described above.
  /// Never throws for any status or header value.
  void on_response(int status, const HttpHeaders& headers) noexcept;

  /// Current rate, units per second.
  [[nodiscard]] double rate() const { return limiter_.rate(); }
  /// The rate cap learnt from RateLimit-Policy, if any (already clamped to
  /// [min_rate, max_rate]).
  [[nodiscard]] std::optional<double> policy_rate() const;
  /// Instant the current pause ends (<= now: not paused).
  [[nodiscard]] Micros paused_until() const noexcept { return limiter_.paused_until(); }
  /// The counters so far (a snapshot; see ClientLimiterStats).
  [[nodiscard]] AdaptiveClientStats stats() const;
  /// The options it was built with (validated).
  [[nodiscard]] const AdaptiveClientOptions& options() const noexcept { return options_; }
  /// The limiter it drives (for wrappers such as rate_limited).
  [[nodiscard]] ClientLimiter& limiter() noexcept { return limiter_; }

 private:
  void decrease(Micros now);                      // mu_ held
  void increase();                                // mu_ held
  [[nodiscard]] double ceiling() const noexcept;  // mu_ held

  AdaptiveClientOptions options_;
  ClientLimiter limiter_;

  mutable std::mutex mu_;
  double rate_;                          // Guarded by mu_ (mirrors limiter_'s).
  std::uint32_t successes_ = 0;          // Guarded by mu_: since the last change.
  std::optional<Micros> last_decrease_;  // Guarded by mu_.
  std::optional<double> policy_rate_;    // Guarded by mu_.
  AdaptiveClientStats stats_;            // Guarded by mu_ (limiter field unused).
};

}  // namespace ratelimit
