#pragma once
/// @file resilience/concurrency_limiter.hpp
/// At most N calls in flight in this process: leases taken and given back on
/// one atomic counter, with a limit an adaptive controller may move live.

#include <atomic>
#include <cstdint>
#include <memory>

#include "ratelimit/resilience/sleeper.hpp"
#include "ratelimit/time.hpp"

namespace ratelimit {

/// Limits how many calls run at once (a bulkhead). A call takes a Lease before
/// it starts and gives it back when it ends; while `limit()` leases are out,
/// new ones are refused.
///
/// The limit may change at any time (`set_limit`, e.g. from an adaptive
/// controller). Lowering it revokes nothing: leases already out stay valid,
/// and new ones are refused until fewer than the new limit are in flight.
///
/// The hot path is one compare-and-swap to take a lease and one atomic
/// subtraction to give it back, plus one relaxed counter for the statistics:
/// no mutex, no allocation. Thread-safe. The limiter must outlive its leases.
class ConcurrencyLimiter final {
 public:
  /// Largest limit accepted.
  static constexpr std::int64_t kMaxLimit = std::int64_t{1} << 40;
  /// How often a waiting `acquire` looks again, by default (µs).
  static constexpr Micros kDefaultPollInterval = kMicrosPerMilli;

  /// Counters since construction. Monotonic; read with relaxed loads, so
  /// under concurrency they may be a moment stale and not add up exactly.
  struct Stats {
    std::uint64_t acquired = 0;       ///< leases handed out
    std::uint64_t rejected = 0;       ///< refusals (try_acquire, or an acquire that timed out)
    std::int64_t peak_in_flight = 0;  ///< most leases out at once
    friend bool operator==(const Stats&, const Stats&) = default;
  };

  /// Permission for one call to run. Move-only; gives its slot back when
  /// destroyed or on `release()`, whichever comes first. An empty Lease
  /// (the limiter refused) converts to false and releases nothing.
  /// One Lease is not to be used by two threads at once; different leases may.
  class Lease {
   public:
    Lease() noexcept = default;
    Lease(Lease&& other) noexcept : limiter_(other.limiter_) { other.limiter_ = nullptr; }
    /// Releases what this lease held, then takes over `other`'s slot.
    Lease& operator=(Lease&& other) noexcept {
      if (this != &other) {
        release();
        limiter_ = other.limiter_;
        other.limiter_ = nullptr;
      }
      return *this;
    }
    Lease(const Lease&) = delete;
    Lease& operator=(const Lease&) = delete;
    ~Lease() { release(); }

    /// Gives the slot back now; later calls (and the destructor) do nothing.
    void release() noexcept {
      if (limiter_ != nullptr) {
        limiter_->give_back();
        limiter_ = nullptr;
      }
    }
    /// True while this lease holds a slot.
    [[nodiscard]] bool held() const noexcept { return limiter_ != nullptr; }
    explicit operator bool() const noexcept { return held(); }

   private:
    friend class ConcurrencyLimiter;
    explicit Lease(ConcurrencyLimiter* limiter) noexcept : limiter_(limiter) {}
    ConcurrencyLimiter* limiter_ = nullptr;
  };

  /// At most `limit` leases at once (1 .. kMaxLimit; std::invalid_argument
  /// otherwise). `clock` and `sleeper` serve only the waiting `acquire`;
  /// give both (a ManualClock and the ManualSleeper that advances it) or
  /// neither (system clock, real sleep): one without the other throws
  /// std::invalid_argument.
  explicit ConcurrencyLimiter(std::int64_t limit, std::shared_ptr<const Clock> clock = nullptr,
                              std::shared_ptr<Sleeper> sleeper = nullptr);
  ConcurrencyLimiter(const ConcurrencyLimiter&) = delete;
  ConcurrencyLimiter& operator=(const ConcurrencyLimiter&) = delete;

  /// A lease if fewer than `limit()` are out now, else an empty one (counted
  /// as rejected). Never blocks.
  [[nodiscard]] Lease try_acquire() noexcept {
    if (take()) return Lease(this);
    rejected_.fetch_add(1, std::memory_order_relaxed);
    return Lease();
  }

  /// Waits up to `timeout` µs (>= 0) for a slot, looking again every
  /// `poll_interval` µs (> 0) through the Sleeper: there is no wake-up on
  /// release, so a slot freed meanwhile is seen at the next look. Returns an
  /// empty lease (one rejection) when the clock reaches `now + timeout`
  /// without a slot. Throws std::invalid_argument for a negative timeout or
  /// a poll interval <= 0.
  [[nodiscard]] Lease acquire(Micros timeout, Micros poll_interval = kDefaultPollInterval);

  /// Leases out now. May be stale by the time it is read.
  [[nodiscard]] std::int64_t in_flight() const noexcept {
    return in_flight_.load(std::memory_order_relaxed);
  }
  [[nodiscard]] std::int64_t limit() const noexcept {
    return limit_.load(std::memory_order_relaxed);
  }
  /// Changes the limit for every later acquire (1 .. kMaxLimit;
  /// std::invalid_argument otherwise). Leases already out are kept, even
  /// above the new limit.
  void set_limit(std::int64_t limit);
  [[nodiscard]] Stats stats() const noexcept;

 private:
  // Takes a slot if one is free; counts it and the peak. No rejection count.
  bool take() noexcept {
    std::int64_t cur = in_flight_.load(std::memory_order_relaxed);
    do {
      if (cur >= limit_.load(std::memory_order_relaxed)) return false;
      // acquire: what the previous holder did before releasing happens
      // before what this holder does.
    } while (!in_flight_.compare_exchange_weak(cur, cur + 1, std::memory_order_acquire,
                                               std::memory_order_relaxed));
    acquired_.fetch_add(1, std::memory_order_relaxed);
    if (cur + 1 > peak_.load(std::memory_order_relaxed)) raise_peak(cur + 1);
    return true;
  }
  void give_back() noexcept { in_flight_.fetch_sub(1, std::memory_order_release); }
  void raise_peak(std::int64_t seen) noexcept;

  // Written by every acquire and release; kept on one cache line, so a
  // lease touches one line.
  alignas(64) std::atomic<std::int64_t> in_flight_{0};
  std::atomic<std::int64_t> limit_;
  std::atomic<std::uint64_t> acquired_{0};
  std::atomic<std::int64_t> peak_{0};
  std::atomic<std::uint64_t> rejected_{0};
  std::shared_ptr<const Clock> clock_;
  std::shared_ptr<Sleeper> sleeper_;
};

}  // namespace ratelimit
