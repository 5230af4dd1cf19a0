#pragma once
/// @file resilience/local_bucket.hpp
/// An in-process token bucket whose rate and burst can change while it runs:
/// what adaptive controllers drive, and what client-side and bandwidth
/// limiters wait on.

#include <memory>
#include <mutex>
#include <optional>

#include "ratelimit/time.hpp"

namespace ratelimit {

/// Holds up to `burst` units and gains `rate` units per second. Unlike a
/// store-backed Limiter it is one bucket for one process, with fractional
/// rates and live `set_rate` / `set_burst`.
///
/// Waiting callers *reserve*: `reserve(cost, max_wait)` takes the units now,
/// possibly leaving the bucket in debt, and returns how long the caller must
/// wait before proceeding. Later callers then wait behind it, so waiters are
/// served in the order they reserved (no starvation of large costs), and
/// the long-run rate never exceeds `rate`.
///
/// Arithmetic is in doubles (units and µs); with integer rates and µs
/// instants the results are exact. Thread-safe (one mutex; ~20 ns
/// uncontended).
class LocalBucket {
 public:
  /// `rate` units per second (> 0, finite), `burst` units of capacity
  /// (>= 1, finite); starts full. Throws std::invalid_argument otherwise.
  /// `clock` defaults to the system clock.
  LocalBucket(double rate, double burst, std::shared_ptr<const Clock> clock = nullptr);

  /// Takes `cost` units if they are there now. `cost` must be >= 0 (throws
  /// std::invalid_argument otherwise; 0 always succeeds).
  bool try_acquire(double cost = 1);
  /// Takes `cost` units now if the caller would wait at most `max_wait` µs for
  /// them; returns that wait (0 = proceed now). nullopt, with nothing taken,
  /// when the wait would be longer or `cost > burst` (never possible).
  std::optional<Micros> reserve(double cost, Micros max_wait);
  /// Like `reserve`, but returns the instant the caller may proceed (the
  /// bucket's own clock reading plus the wait), so a caller whose clock moves
  /// meanwhile (another thread, a ManualSleeper) still waits exactly.
  std::optional<Micros> reserve_until(double cost, Micros max_wait);
  /// Gives back units a reservation took and did not use (a cancelled wait).
  void refund(double cost);
  /// How long until `cost` units would be there (0: now; kInfinite when
  /// `cost > burst`). Takes nothing.
  [[nodiscard]] Micros time_to_available(double cost = 1) const;
  /// Units there now (negative while reservations are in debt).
  [[nodiscard]] double available() const;

  /// Changes the rate from now on; units gained so far are kept.
  void set_rate(double rate);
  /// Changes the capacity; units above the new burst are dropped.
  void set_burst(double burst);
  [[nodiscard]] double rate() const;
  [[nodiscard]] double burst() const;
  [[nodiscard]] const Clock& clock() const noexcept { return *clock_; }

 private:
  // Adds what the rate earned since last_ (called with mu_ held).
  void refill(Micros now) const;
  [[nodiscard]] Micros wait_for(double cost) const;  // mu_ held, after refill
  // reserve's work; `now` receives the clock reading it decided at.
  std::optional<Micros> take(double cost, Micros max_wait, Micros& now);

  std::shared_ptr<const Clock> clock_;
  mutable std::mutex mu_;
  double rate_;            // units per second
  double burst_;           // capacity
  mutable double tokens_;  // may go negative (reservations)
  mutable Micros last_;    // instant tokens_ was computed for
};

}  // namespace ratelimit
