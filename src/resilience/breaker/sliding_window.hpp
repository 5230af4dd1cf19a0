#pragma once
// The two sliding windows a CircuitBreaker judges: the last N calls (a ring
// of outcomes) and the calls of the last T µs (a ring of per-bucket counts).
// Both are lock-free on the recording path; see circuit_breaker.hpp for what
// "approximate under concurrency" means.

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>

#include "ratelimit/time.hpp"

namespace ratelimit {

/// An outcome as the windows store it: 0 = empty slot, else 1 + failure bit +
/// 2 * slow bit. Only kSuccess can never raise a rate.
using OutcomeCode = std::uint8_t;
inline constexpr OutcomeCode kEmpty = 0;
inline constexpr OutcomeCode kSuccess = 1;
inline constexpr OutcomeCode outcome_code(bool failure, bool slow) noexcept {
  return static_cast<OutcomeCode>(1 + (failure ? 1 : 0) + (slow ? 2 : 0));
}

/// What a window holds now. Each field is >= 0 and failures, slow <= calls.
struct WindowCounts {
  std::int64_t calls = 0;
  std::int64_t failures = 0;
  std::int64_t slow = 0;
};

/// The last `size` outcomes. A ring of one byte per call; the counts are kept
/// in step with the ring's contents by exchanging each slot, so they never
/// drift, whatever the interleaving.
class CountWindow {
 public:
  explicit CountWindow(std::int64_t size);

  /// Records one outcome. True when the counts changed in a way that may
  /// have raised a rate or reached `minimum_calls` (the caller then judges).
  bool record(OutcomeCode code) noexcept {
    const std::uint64_t pos = head_.fetch_add(1, std::memory_order_relaxed);
    // A 32-bit remainder: a 64-bit division costs several times more, and the
    // one jump in the slot sequence every 2^32 calls is harmless.
    std::atomic<OutcomeCode>& slot = slots_[static_cast<std::uint32_t>(pos) % size_];
    // A full window of successes stays as it is: no write, no counters.
    if (slot.load(std::memory_order_relaxed) == code) return false;
    return replace(slot, code);
  }
  [[nodiscard]] WindowCounts counts() const noexcept;
  /// Empties the window (concurrent records may land before or after).
  void clear() noexcept;
  /// Outcomes recorded since construction.
  [[nodiscard]] std::uint64_t recorded() const noexcept {
    return head_.load(std::memory_order_relaxed);
  }

 private:
  bool replace(std::atomic<OutcomeCode>& slot, OutcomeCode code) noexcept;
  void account(OutcomeCode code, std::int64_t sign) noexcept;

  const std::uint32_t size_;
  std::unique_ptr<std::atomic<OutcomeCode>[]> slots_;
  alignas(64) std::atomic<std::uint64_t> head_{0};
  alignas(64) std::atomic<std::int64_t> calls_{0};
  std::atomic<std::int64_t> failures_{0};
  std::atomic<std::int64_t> slow_{0};
};

/// The outcomes of the last `window / bucket` buckets of `bucket` µs each,
/// the current one included (so the window spans between window - bucket and
/// window µs). Buckets are reused in a ring. When time reaches a new bucket,
/// every bucket it skipped over is emptied (under a mutex, at most once per
/// bucket of time), so running totals of the window stay exact and judging is
/// O(1) whatever the number of buckets.
class TimeWindow {
 public:
  TimeWindow(Micros window, Micros bucket);

  /// Records one outcome at `now`. True when the caller should judge: the
  /// outcome was bad, or bad ones are still in the window.
  bool record(OutcomeCode code, Micros now) noexcept;
  /// The window ending at the newest bucket recorded into (what `record`
  /// judges by). O(1).
  [[nodiscard]] WindowCounts totals() const noexcept;
  /// The window ending at `now` (buckets older than it excluded). O(buckets).
  [[nodiscard]] WindowCounts counts(Micros now) const noexcept;
  void clear() noexcept;
  /// Outcomes recorded since construction.
  [[nodiscard]] std::uint64_t recorded() const noexcept;

 private:
  struct Bucket {
    std::atomic<std::int64_t> epoch{-1};  // now / bucket of the calls it counts; -1 = empty
    std::atomic<std::int64_t> calls{0};
    std::atomic<std::int64_t> failures{0};
    std::atomic<std::int64_t> slow{0};
  };
  [[nodiscard]] std::int64_t epoch_of(Micros now) const noexcept {
    return (now > 0 ? now : 0) / bucket_;
  }
  // The bucket counting `now`; sets `epoch` to its epoch.
  Bucket& bucket_at(Micros now, std::int64_t& epoch) noexcept;
  Bucket& advance(Micros now, std::int64_t& epoch) noexcept;  // takes mu_
  void retire(Bucket& b) noexcept;                            // mu_ held

  static constexpr std::int64_t kNever = -(std::int64_t{1} << 62);

  const Micros bucket_;
  const std::int64_t buckets_count_;
  std::unique_ptr<Bucket[]> buckets_;
  std::mutex mu_;                        // serializes advances and clear
  std::int64_t head_epoch_ = -1;         // newest epoch any bucket holds; guarded by mu_
  std::atomic<std::size_t> current_{0};  // hint: the bucket last recorded into
  // Sums over the buckets, kept in step by whoever changes a bucket.
  alignas(64) std::atomic<std::int64_t> calls_{0};
  std::atomic<std::int64_t> failures_{0};
  std::atomic<std::int64_t> slow_{0};
  std::atomic<std::int64_t> retired_calls_{0};        // calls of buckets since emptied
  std::atomic<std::int64_t> last_bad_epoch_{kNever};  // epoch of the latest failure or slow call
};

}  // namespace ratelimit
