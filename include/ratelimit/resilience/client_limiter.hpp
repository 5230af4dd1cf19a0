#pragma once
/// @file resilience/client_limiter.hpp
/// Client-side limiting: stay under someone else's rate limit by waiting
/// (blocking or asynchronously) before calling them.

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <future>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>
#include <utility>

#include "ratelimit/resilience/local_bucket.hpp"
#include "ratelimit/resilience/sleeper.hpp"
#include "ratelimit/time.hpp"

namespace ratelimit {

/// Counters of a ClientLimiter. A snapshot: each field is read atomically,
/// but the fields are not read together, so under concurrency they may be a
/// few events apart.
struct ClientLimiterStats {
  std::uint64_t acquired = 0;   ///< successful try_acquire / acquire / acquire_async
  std::uint64_t rejected = 0;   ///< try_acquire calls that returned false
  std::uint64_t timed_out = 0;  ///< acquire / acquire_async that gave up (timeout)
  std::uint64_t cancelled = 0;  ///< async waits completed with false by the destructor
  Micros total_wait = 0;        ///< µs the successful acquires waited, summed
  bool operator==(const ClientLimiterStats&) const = default;
};

/// Paces calls to a rate-limited remote API: a LocalBucket of `rate` units per
/// second and `burst` units of capacity, plus a *pause* (an instant before
/// which nothing is admitted, set from a server's hints by AdaptiveClient).
///
/// Waiting callers reserve their units at once (LocalBucket::reserve) and then
/// wait until the reserved instant, so they are served in call order and the
/// long-run rate never exceeds `rate`. Blocking waits run on the caller's
/// thread; asynchronous waits share one internal timer thread, started on
/// the first asynchronous wait and joined by the destructor.
///
/// Time comes from `clock` and waits go through `sleeper`; the two must agree
/// (SystemClock with SystemSleeper, a ManualClock with the ManualSleeper that
/// advances it). Thread-safe.
class ClientLimiter final {
 public:
  /// How often the timer thread wakes while it waits (µs of the limiter's
  /// clock): the Sleeper cannot be interrupted, so the thread sleeps in
  /// slices of at most this length to notice the destructor and waits that
  /// became due earlier (after a rate increase).
  static constexpr Micros kTimerSlice = 10 * kMicrosPerMilli;

  /// `rate` units per second (> 0, finite), `burst` units (>= 1, finite);
  /// starts full. `clock` defaults to the system clock and `sleeper` to
  /// SystemSleeper. Throws std::invalid_argument (naming the field and the
  /// value) for a bad rate or burst, or for a custom clock without a sleeper
  /// (SystemSleeper cannot wait on another clock).
  ClientLimiter(double rate, double burst, std::shared_ptr<const Clock> clock = nullptr,
                std::shared_ptr<Sleeper> sleeper = nullptr);
  /// Stops the timer thread. Asynchronous waits still pending complete with
  /// false (futures become ready, callbacks run on the timer thread before
  /// the destructor returns) and their units are given back; they are
  /// counted as `cancelled`. The destructor returns within one kTimerSlice.
  ~ClientLimiter();
  ClientLimiter(const ClientLimiter&) = delete;
  ClientLimiter& operator=(const ClientLimiter&) = delete;

  /// Takes `cost` units (>= 0, finite) if they are there now and the limiter
  /// is not paused. Never blocks. Throws std::invalid_argument for a bad cost.
  [[nodiscard]] bool try_acquire(double cost = 1);

  /// Waits until `cost` units are available and takes them: returns true
  /// after waiting, or false at once, with nothing taken, when they would not
  /// be available within `timeout` µs (>= 0; kInfinite: no limit) or never
  /// (`cost > burst`). A pause extended while waiting is honoured if it ends
  /// within `timeout` of the call; otherwise the call gives up then (units
  /// given back, false). Throws std::invalid_argument for a bad cost or a
  /// negative timeout.
  [[nodiscard]] bool acquire(double cost = 1, Micros timeout = kInfinite);

  /// acquire without blocking the caller: the future becomes true once the
  /// units are there, false when they would not be within `timeout` (ready at
  /// once) or the limiter is destroyed first. Throws like acquire.
  [[nodiscard]] std::future<bool> acquire_async(double cost, Micros timeout);
  /// acquire without blocking the caller; `callback(granted)` is called
  /// exactly once: inline, before this returns, when the outcome is known at
  /// once (units there now, or not within `timeout`); otherwise on the timer
  /// thread. It must not block (it holds up every other waiter) and must not
  /// destroy the limiter; exceptions it throws are swallowed. Throws like
  /// acquire (before calling the callback).
  void acquire_async(double cost, Micros timeout, std::function<void(bool)> callback);

  /// µs until `cost` units could be taken, counting the pause (0: now;
  /// kInfinite when `cost > burst`). Takes nothing.
  [[nodiscard]] Micros time_to_available(double cost = 1) const;

  /// Admits nothing before `instant` (µs since the epoch). Extends an earlier
  /// pause, never shortens it. Waits already queued honour it too.
  void pause_until(Micros instant);
  /// Ends any pause now.
  void resume();
  /// The instant the current pause ends (<= now: not paused).
  [[nodiscard]] Micros paused_until() const noexcept {
    return paused_until_.load(std::memory_order_acquire);
  }

  /// Changes the rate (units per second, > 0) from now on; throws
  /// std::invalid_argument otherwise. Waits already queued keep their instant.
  void set_rate(double rate);
  /// Current rate, units per second.
  [[nodiscard]] double rate() const { return bucket_.rate(); }
  /// Capacity, units.
  [[nodiscard]] double burst() const { return bucket_.burst(); }
  /// The counters so far (a snapshot; see ClientLimiterStats).
  [[nodiscard]] ClientLimiterStats stats() const noexcept;
  /// The clock the limiter reads (and its sleeper waits on).
  [[nodiscard]] const Clock& clock() const noexcept { return *clock_; }

 private:
  struct Waiter {
    double cost = 0;
    Micros start = 0;    // when acquire_async was called
    Micros give_up = 0;  // start + timeout (saturated)
    std::function<void(bool)> callback;
  };
  using Queue = std::multimap<Micros, Waiter>;  // by deadline; equal keys keep call order

  // Validates, reserves and folds in the pause. nullopt: not within timeout
  // (nothing taken, counted). Otherwise the instant to wait until.
  std::optional<Micros> reserve(double cost, Micros timeout, Micros& start, Micros& give_up);
  void enqueue(Micros deadline, Waiter waiter);
  void run_timer();
  void finish(Waiter& waiter, bool granted, bool cancelled);

  std::shared_ptr<const Clock> clock_;
  std::shared_ptr<Sleeper> sleeper_;
  LocalBucket bucket_;
  std::atomic<Micros> paused_until_{0};

  std::atomic<std::uint64_t> acquired_{0};
  std::atomic<std::uint64_t> rejected_{0};
  std::atomic<std::uint64_t> timed_out_{0};
  std::atomic<std::uint64_t> cancelled_{0};
  std::atomic<Micros> total_wait_{0};

  std::mutex mu_;
  std::condition_variable cv_;  // queue_ gained a waiter, or stop_
  Queue queue_;                 // Guarded by mu_.
  bool stop_ = false;           // Guarded by mu_.
  std::thread timer_;           // Started (under mu_) by the first enqueue.
};

}  // namespace ratelimit
