#pragma once
/// @file resilience/sleeper.hpp
/// How blocking calls wait: a Sleeper, paired with the Clock they read, so
/// tests drive waits by hand (ManualSleeper) instead of sleeping.

#include <atomic>
#include <cstdint>

#include "ratelimit/time.hpp"

namespace ratelimit {

/// Blocks the calling thread until an instant of one particular clock.
/// Components that wait (a blocking `acquire`, the bandwidth limiter) take a
/// Clock and a Sleeper that must agree: SystemSleeper with SystemClock,
/// ManualSleeper with the ManualClock it advances. Thread-safe.
class Sleeper {
 public:
  virtual ~Sleeper() = default;
  /// Returns once the clock reads `deadline` or later (at once if it already
  /// does).
  virtual void sleep_until(Micros deadline) = 0;
};

/// Sleeps in real time against SystemClock.
class SystemSleeper final : public Sleeper {
 public:
  void sleep_until(Micros deadline) override;
  /// A process-wide instance.
  static SystemSleeper& instance() noexcept;
};

/// "Sleeps" by moving a ManualClock forward to the deadline (never back), so
/// a test sees a blocking call return at the exact instant it waited for.
/// Counts the waits, for tests that check a call did or did not block.
class ManualSleeper final : public Sleeper {
 public:
  explicit ManualSleeper(ManualClock& clock) noexcept : clock_(clock) {}
  void sleep_until(Micros deadline) override;
  /// Calls to `sleep_until` whose deadline was still ahead.
  [[nodiscard]] std::uint64_t waits() const noexcept { return waits_.load(std::memory_order_relaxed); }
  /// Sum of the time those calls moved the clock forward.
  [[nodiscard]] Micros slept() const noexcept { return slept_.load(std::memory_order_relaxed); }

 private:
  ManualClock& clock_;
  std::atomic<std::uint64_t> waits_{0};
  std::atomic<Micros> slept_{0};
};

}  // namespace ratelimit
