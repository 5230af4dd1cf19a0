#pragma once
/// @file resilience/bandwidth_limiter.hpp
/// Bytes per second for streams (uploads, downloads, replication): a token
/// bucket of bytes that writers wait on.

#include <atomic>
#include <cstdint>
#include <memory>
#include <utility>

#include "ratelimit/resilience/local_bucket.hpp"
#include "ratelimit/resilience/sleeper.hpp"
#include "ratelimit/time.hpp"

namespace ratelimit {

/// Passes at most `bytes_per_second` on average, with bursts of up to
/// `burst_bytes` after a pause, over a LocalBucket counting bytes. Writers
/// call `acquire(n)` before sending `n` bytes; it blocks (through the
/// Sleeper) until they may go. Waiters are served in the order they asked
/// (the bucket's reservations), so one large writer does not starve.
///
/// An amount larger than the burst is passed in burst-sized pieces, one
/// after the other, so `acquire` of any size succeeds; only `try_acquire`
/// refuses amounts above the burst (they can never pass at once).
///
/// Thread-safe; the waiting calls may block many threads at once.
class BandwidthLimiter final {
 public:
  /// Counters since construction. Monotonic, relaxed: may be a moment stale.
  struct Stats {
    std::uint64_t bytes_passed = 0;  ///< bytes admitted by any call
    std::uint64_t waits = 0;         ///< calls (or pieces) that had to wait
    Micros waited = 0;               ///< total time spent waiting, µs (summed over threads)
    std::uint64_t timeouts = 0;      ///< `acquire(bytes, timeout)` calls that gave up
    friend bool operator==(const Stats&, const Stats&) = default;
  };

  /// `bytes_per_second` > 0 and `burst_bytes` >= 1, both finite; starts with
  /// a full burst. `clock` and `sleeper` must be given together (ManualClock
  /// + ManualSleeper) or not at all (system clock, real sleeps). Throws
  /// std::invalid_argument, naming the field and value, otherwise.
  BandwidthLimiter(double bytes_per_second, double burst_bytes,
                   std::shared_ptr<const Clock> clock = nullptr,
                   std::shared_ptr<Sleeper> sleeper = nullptr);
  BandwidthLimiter(const BandwidthLimiter&) = delete;
  BandwidthLimiter& operator=(const BandwidthLimiter&) = delete;

  /// Takes `bytes` if they may pass now; false (nothing taken) otherwise,
  /// always when `bytes` exceeds the burst. 0 bytes always pass.
  [[nodiscard]] bool try_acquire(std::uint64_t bytes);
  /// Blocks until `bytes` may pass, then returns; larger amounts than the
  /// burst go in burst-sized pieces, each waited for in turn.
  void acquire(std::uint64_t bytes);
  /// Like `acquire`, but only if all of `bytes` can pass within `timeout` µs
  /// (>= 0): otherwise returns false at once, having taken and waited for
  /// nothing. Throws std::invalid_argument for a negative timeout.
  [[nodiscard]] bool acquire(std::uint64_t bytes, Micros timeout);

  /// Changes the rate from now on (bytes per second, > 0, finite; throws
  /// std::invalid_argument). Callers already waiting keep the wait they were
  /// given; later ones are paced by the new rate.
  void set_rate(double bytes_per_second);
  [[nodiscard]] double rate() const { return bucket_.rate(); }
  [[nodiscard]] double burst() const { return bucket_.burst(); }
  [[nodiscard]] Stats stats() const noexcept;

 private:
  BandwidthLimiter(double bytes_per_second, double burst_bytes,
                   std::pair<std::shared_ptr<const Clock>, std::shared_ptr<Sleeper>> waiting);
  // The largest piece one reservation may take: the burst, in whole bytes.
  [[nodiscard]] std::uint64_t piece_limit() const;
  // Sleeps until `deadline` (no-op if it has passed) and counts the wait.
  void wait_until(Micros deadline);

  std::shared_ptr<Sleeper> sleeper_;
  LocalBucket bucket_;
  std::atomic<std::uint64_t> bytes_passed_{0};
  std::atomic<std::uint64_t> waits_{0};
  std::atomic<Micros> waited_{0};
  std::atomic<std::uint64_t> timeouts_{0};
};

}  // namespace ratelimit
