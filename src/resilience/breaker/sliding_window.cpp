// The breaker's sliding windows. Counts are adjusted only by whoever swapped
// a slot's (or bucket's) contents, so concurrent recorders never make them
// drift; readers may see them a few calls apart, which they clamp.

#include "sliding_window.hpp"

#include <algorithm>

namespace ratelimit {

namespace {
WindowCounts clamped(std::int64_t calls, std::int64_t failures, std::int64_t slow) noexcept {
  WindowCounts c;
  c.calls = std::max<std::int64_t>(0, calls);
  c.failures = std::clamp<std::int64_t>(failures, 0, c.calls);
  c.slow = std::clamp<std::int64_t>(slow, 0, c.calls);
  return c;
}
bool is_failure(OutcomeCode code) noexcept { return code != kEmpty && ((code - 1) & 1) != 0; }
bool is_slow(OutcomeCode code) noexcept { return code != kEmpty && ((code - 1) & 2) != 0; }
}  // namespace

CountWindow::CountWindow(std::int64_t size)
    : size_(static_cast<std::uint32_t>(size)),
      slots_(std::make_unique<std::atomic<OutcomeCode>[]>(static_cast<std::size_t>(size))) {}

void CountWindow::account(OutcomeCode code, std::int64_t sign) noexcept {
  if (code == kEmpty) return;
  calls_.fetch_add(sign, std::memory_order_relaxed);
  if (is_failure(code)) failures_.fetch_add(sign, std::memory_order_relaxed);
  if (is_slow(code)) slow_.fetch_add(sign, std::memory_order_relaxed);
}

bool CountWindow::replace(std::atomic<OutcomeCode>& slot, OutcomeCode code) noexcept {
  const OutcomeCode old = slot.exchange(code, std::memory_order_relaxed);
  if (old == code) return false;
  account(old, -1);
  account(code, +1);
  return old == kEmpty || code != kSuccess;
}

WindowCounts CountWindow::counts() const noexcept {
  return clamped(calls_.load(std::memory_order_relaxed), failures_.load(std::memory_order_relaxed),
                 slow_.load(std::memory_order_relaxed));
}

void CountWindow::clear() noexcept {
  for (std::uint32_t i = 0; i < size_; ++i)
    account(slots_[i].exchange(kEmpty, std::memory_order_relaxed), -1);
}

TimeWindow::TimeWindow(Micros window, Micros bucket)
    : bucket_(bucket),
      buckets_count_(window / bucket),
      buckets_(std::make_unique<Bucket[]>(static_cast<std::size_t>(window / bucket))) {}

void TimeWindow::retire(Bucket& b) noexcept {
  const std::int64_t calls = b.calls.exchange(0, std::memory_order_relaxed);
  calls_.fetch_sub(calls, std::memory_order_relaxed);
  failures_.fetch_sub(b.failures.exchange(0, std::memory_order_relaxed), std::memory_order_relaxed);
  slow_.fetch_sub(b.slow.exchange(0, std::memory_order_relaxed), std::memory_order_relaxed);
  retired_calls_.fetch_add(calls, std::memory_order_relaxed);
}

TimeWindow::Bucket& TimeWindow::advance(Micros now, std::int64_t& epoch) noexcept {
  std::lock_guard lock(mu_);
  epoch = epoch_of(now);
  if (epoch > head_epoch_) {
    // Empty every bucket time skipped over (at most the whole ring once).
    for (std::int64_t e = std::max(head_epoch_ + 1, epoch - buckets_count_ + 1); e <= epoch; ++e) {
      Bucket& b = buckets_[static_cast<std::size_t>(e % buckets_count_)];
      retire(b);
      b.epoch.store(e, std::memory_order_release);
    }
    head_epoch_ = epoch;
  } else if (epoch <= head_epoch_ - buckets_count_) {
    // The clock stepped back past the window: count it in the newest bucket.
    epoch = head_epoch_;
  }
  const auto index = static_cast<std::size_t>(epoch % buckets_count_);
  current_.store(index, std::memory_order_relaxed);
  return buckets_[index];
}

TimeWindow::Bucket& TimeWindow::bucket_at(Micros now, std::int64_t& epoch) noexcept {
  // Most calls land in the bucket the previous call used: check its span with
  // a multiplication instead of two 64-bit divisions. A stale hint only
  // fails the check.
  Bucket& hinted = buckets_[current_.load(std::memory_order_relaxed)];
  epoch = hinted.epoch.load(std::memory_order_acquire);
  if (epoch >= 0 && now >= epoch * bucket_ && now - epoch * bucket_ < bucket_) return hinted;
  return advance(now, epoch);
}

bool TimeWindow::record(OutcomeCode code, Micros now) noexcept {
  std::int64_t epoch = 0;
  Bucket& b = bucket_at(now, epoch);
  b.calls.fetch_add(1, std::memory_order_relaxed);
  calls_.fetch_add(1, std::memory_order_relaxed);
  if (code == kSuccess) {
    // Rates cannot rise, but reaching minimum_calls can make the bad calls
    // already in the window count.
    return epoch - last_bad_epoch_.load(std::memory_order_relaxed) < buckets_count_;
  }
  if (is_failure(code)) {
    b.failures.fetch_add(1, std::memory_order_relaxed);
    failures_.fetch_add(1, std::memory_order_relaxed);
  }
  if (is_slow(code)) {
    b.slow.fetch_add(1, std::memory_order_relaxed);
    slow_.fetch_add(1, std::memory_order_relaxed);
  }
  std::int64_t last = last_bad_epoch_.load(std::memory_order_relaxed);
  while (last < epoch &&
         !last_bad_epoch_.compare_exchange_weak(last, epoch, std::memory_order_relaxed)) {
  }
  return true;
}

WindowCounts TimeWindow::totals() const noexcept {
  return clamped(calls_.load(std::memory_order_relaxed), failures_.load(std::memory_order_relaxed),
                 slow_.load(std::memory_order_relaxed));
}

WindowCounts TimeWindow::counts(Micros now) const noexcept {
  const std::int64_t epoch = epoch_of(now);
  std::int64_t calls = 0, failures = 0, slow = 0;
  for (std::int64_t i = 0; i < buckets_count_; ++i) {
    const Bucket& b = buckets_[static_cast<std::size_t>(i)];
    const std::int64_t e = b.epoch.load(std::memory_order_acquire);
    if (e > epoch - buckets_count_ && e <= epoch) {
      calls += b.calls.load(std::memory_order_relaxed);
      failures += b.failures.load(std::memory_order_relaxed);
      slow += b.slow.load(std::memory_order_relaxed);
    }
  }
  return clamped(calls, failures, slow);
}

void TimeWindow::clear() noexcept {
  std::lock_guard lock(mu_);
  for (std::int64_t i = 0; i < buckets_count_; ++i) {
    Bucket& b = buckets_[static_cast<std::size_t>(i)];
    retire(b);
    b.epoch.store(-1, std::memory_order_release);
  }
  head_epoch_ = -1;
  last_bad_epoch_.store(kNever, std::memory_order_relaxed);
}

std::uint64_t TimeWindow::recorded() const noexcept {
  const std::int64_t total =
      retired_calls_.load(std::memory_order_relaxed) + calls_.load(std::memory_order_relaxed);
  return static_cast<std::uint64_t>(std::max<std::int64_t>(0, total));
}

}  // namespace ratelimit
