#pragma once
/// @file time.hpp
/// Time as the library sees it: integer microseconds, read from an injected Clock.

#include <atomic>
#include <cstdint>
#include <limits>
#include <memory>

namespace ratelimit {

/// Microseconds. Instants are microseconds since the Unix epoch; durations are
/// microsecond counts. Integers, so every backend (including Lua doubles, exact
/// below 2^53) computes with the same values.
using Micros = std::int64_t;

/// A duration that never ends: `retry_after` of a request that can never be
/// admitted (`cost > limit`).
inline constexpr Micros kInfinite = std::numeric_limits<Micros>::max();

/// Largest instant the library accepts (2^53 µs, year 2255): keeps every
/// derived instant exact in a double and clear of the store's flag bits.
inline constexpr Micros kMaxInstant = Micros{1} << 53;

inline constexpr Micros kMicrosPerMilli = 1000;
inline constexpr Micros kMicrosPerSecond = 1000 * kMicrosPerMilli;
inline constexpr Micros kMicrosPerMinute = 60 * kMicrosPerSecond;
inline constexpr Micros kMicrosPerHour = 60 * kMicrosPerMinute;
inline constexpr Micros kMicrosPerDay = 24 * kMicrosPerHour;

/// Source of `now`. Algorithms never read a clock; the edges (Limiter, the
/// service) do, through this interface, so tests can drive time by hand.
class Clock {
 public:
  virtual ~Clock() = default;
  /// Current instant in µs since the Unix epoch. Thread-safe.
  [[nodiscard]] virtual Micros now() const noexcept = 0;
};

/// Wall-clock time (CLOCK_REALTIME). Wall time, not monotonic time, because
/// instances that share state in Redis must agree on instants; the
/// algorithms tolerate a clock that steps back (it never mints capacity).
class SystemClock final : public Clock {
 public:
  [[nodiscard]] Micros now() const noexcept override;
  /// A process-wide instance.
  static const SystemClock& instance() noexcept;
};

/// A non-owning handle to SystemClock::instance(), for components whose
/// `std::shared_ptr<const Clock>` argument defaults to the system clock.
[[nodiscard]] std::shared_ptr<const Clock> system_clock_handle();

/// A clock that moves only when told to. For tests, demos and replays.
/// Thread-safe: `now`, `set` and `advance` may race; each is atomic.
class ManualClock final : public Clock {
 public:
  explicit ManualClock(Micros start = 0) noexcept : now_(start) {}
  [[nodiscard]] Micros now() const noexcept override { return now_.load(std::memory_order_acquire); }
  /// Jump to `t` (may go backwards, to test clock steps).
  void set(Micros t) noexcept { now_.store(t, std::memory_order_release); }
  /// Move forward (or back, if `d < 0`) by `d` µs.
  void advance(Micros d) noexcept { now_.fetch_add(d, std::memory_order_acq_rel); }
  /// Sets `desired` if the clock still reads `expected`; otherwise loads the
  /// current reading into `expected` and returns false.
  bool compare_exchange(Micros& expected, Micros desired) noexcept {
    return now_.compare_exchange_strong(expected, desired, std::memory_order_acq_rel);
  }

 private:
  std::atomic<Micros> now_;
};

}  // namespace ratelimit
