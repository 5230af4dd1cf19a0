#include "ratelimit/resilience/bandwidth_limiter.hpp"

#include <algorithm>
#include <cmath>
#include <optional>
#include <stdexcept>
#include <string>

#include "resilience/concurrency/waiting.hpp"

namespace ratelimit {

namespace {

double checked_rate(double bytes_per_second) {
  if (!(bytes_per_second > 0) || !std::isfinite(bytes_per_second)) {
    throw std::invalid_argument(
        "BandwidthLimiter: bytes_per_second must be a positive finite number, got " +
        std::to_string(bytes_per_second));
  }
  return bytes_per_second;
}

double checked_burst(double burst_bytes) {
  if (!(burst_bytes >= 1) || !std::isfinite(burst_bytes)) {
    throw std::invalid_argument("BandwidthLimiter: burst_bytes must be a finite number >= 1, got " +
                                std::to_string(burst_bytes));
  }
  return burst_bytes;
}

// a + b for a >= 0, b >= 0, capped at kInfinite.
Micros saturating_add(Micros a, Micros b) { return b > kInfinite - a ? kInfinite : a + b; }

}  // namespace

BandwidthLimiter::BandwidthLimiter(double bytes_per_second, double burst_bytes,
                                   std::shared_ptr<const Clock> clock,
                                   std::shared_ptr<Sleeper> sleeper)
    : BandwidthLimiter(checked_rate(bytes_per_second), checked_burst(burst_bytes), [&] {
        concurrency::Waiting w =
            concurrency::waiting_on(std::move(clock), std::move(sleeper), "BandwidthLimiter");
        return std::pair(std::move(w.clock), std::move(w.sleeper));
      }()) {}

BandwidthLimiter::BandwidthLimiter(
    double bytes_per_second, double burst_bytes,
    std::pair<std::shared_ptr<const Clock>, std::shared_ptr<Sleeper>> waiting)
    : sleeper_(std::move(waiting.second)),
      bucket_(bytes_per_second, burst_bytes, std::move(waiting.first)) {}

std::uint64_t BandwidthLimiter::piece_limit() const {
  // burst >= 1, so at least one byte per piece.
  return static_cast<std::uint64_t>(std::floor(bucket_.burst()));
}

bool BandwidthLimiter::try_acquire(std::uint64_t bytes) {
  if (bytes == 0) return true;
  if (!bucket_.try_acquire(static_cast<double>(bytes))) return false;
  bytes_passed_.fetch_add(bytes, std::memory_order_relaxed);
  return true;
}

void BandwidthLimiter::acquire(std::uint64_t bytes) {
  // Piece by piece, each waited for before the next is reserved, so
  // concurrent streams interleave instead of one queueing its whole amount.
  while (bytes > 0) {
    const std::uint64_t piece = std::min(bytes, piece_limit());
    const std::optional<Micros> wait = bucket_.reserve(static_cast<double>(piece), kInfinite);
    if (!wait) continue;  // the burst shrank under us: recompute the piece
    wait_until(saturating_add(bucket_.clock().now(), *wait));
    bytes_passed_.fetch_add(piece, std::memory_order_relaxed);
    bytes -= piece;
  }
}

bool BandwidthLimiter::acquire(std::uint64_t bytes, Micros timeout) {
  if (timeout < 0) {
    throw std::invalid_argument("BandwidthLimiter::acquire: timeout must be >= 0 µs, got " +
                                std::to_string(timeout));
  }
  if (bytes == 0) return true;
  const Clock& clock = bucket_.clock();
  const Micros start = clock.now();
  const Micros give_up = saturating_add(start, timeout);
  // Reserve every piece now (each waits behind the previous one), so the
  // last piece's wait is the whole amount's; undo them all if it is too long.
  std::uint64_t reserved = 0;
  Micros deadline = start;
  while (reserved < bytes) {
    const std::uint64_t piece = std::min(bytes - reserved, piece_limit());
    const Micros now = clock.now();
    const std::optional<Micros> wait =
        bucket_.reserve(static_cast<double>(piece), std::max<Micros>(0, give_up - now));
    if (!wait) {
      if (reserved > 0) bucket_.refund(static_cast<double>(reserved));
      timeouts_.fetch_add(1, std::memory_order_relaxed);
      return false;
    }
    reserved += piece;
    deadline = std::max(deadline, saturating_add(now, *wait));
  }
  wait_until(deadline);
  bytes_passed_.fetch_add(bytes, std::memory_order_relaxed);
  return true;
}

void BandwidthLimiter::set_rate(double bytes_per_second) {
  bucket_.set_rate(checked_rate(bytes_per_second));
}

BandwidthLimiter::Stats BandwidthLimiter::stats() const noexcept {
  Stats s;
  s.bytes_passed = bytes_passed_.load(std::memory_order_relaxed);
  s.waits = waits_.load(std::memory_order_relaxed);
  s.waited = waited_.load(std::memory_order_relaxed);
  s.timeouts = timeouts_.load(std::memory_order_relaxed);
  return s;
}

void BandwidthLimiter::wait_until(Micros deadline) {
  const Clock& clock = bucket_.clock();
  const Micros before = clock.now();
  if (before >= deadline) return;
  sleeper_->sleep_until(deadline);
  waits_.fetch_add(1, std::memory_order_relaxed);
  waited_.fetch_add(std::max<Micros>(0, clock.now() - before), std::memory_order_relaxed);
}

}  // namespace ratelimit
