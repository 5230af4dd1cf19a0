#include "ratelimit/resilience/concurrency_limiter.hpp"

#include <algorithm>
#include <stdexcept>
#include <string>
#include <utility>

#include "resilience/concurrency/lease_validation.hpp"
#include "resilience/concurrency/waiting.hpp"

namespace ratelimit {

namespace {

void require_limit(std::int64_t limit) {
  concurrency::require_limiter_limit("ConcurrencyLimiter", limit, ConcurrencyLimiter::kMaxLimit);
}

}  // namespace

ConcurrencyLimiter::ConcurrencyLimiter(std::int64_t limit, std::shared_ptr<const Clock> clock,
                                       std::shared_ptr<Sleeper> sleeper)
    : limit_(limit) {
  require_limit(limit);
  concurrency::Waiting w =
      concurrency::waiting_on(std::move(clock), std::move(sleeper), "ConcurrencyLimiter");
  clock_ = std::move(w.clock);
  sleeper_ = std::move(w.sleeper);
}

ConcurrencyLimiter::Lease ConcurrencyLimiter::acquire(Micros timeout, Micros poll_interval) {
  if (timeout < 0) {
    throw std::invalid_argument("ConcurrencyLimiter::acquire: timeout must be >= 0 µs, got " +
                                std::to_string(timeout));
  }
  if (poll_interval <= 0) {
    throw std::invalid_argument("ConcurrencyLimiter::acquire: poll_interval must be > 0 µs, got " +
                                std::to_string(poll_interval));
  }
  if (take()) return Lease(this);
  const Micros start = clock_->now();
  // Saturate: a huge timeout means "wait as long as it takes".
  const Micros deadline = timeout > kMaxInstant - start ? kInfinite : start + timeout;
  for (Micros now = start; now < deadline; now = clock_->now()) {
    const Micros wake = deadline - now > poll_interval ? now + poll_interval : deadline;
    sleeper_->sleep_until(wake);
    if (take()) return Lease(this);
  }
  rejected_.fetch_add(1, std::memory_order_relaxed);
  return Lease();
}

void ConcurrencyLimiter::set_limit(std::int64_t limit) {
  require_limit(limit);
  limit_.store(limit, std::memory_order_relaxed);
}

ConcurrencyLimiter::Stats ConcurrencyLimiter::stats() const noexcept {
  Stats s;
  s.acquired = acquired_.load(std::memory_order_relaxed);
  s.rejected = rejected_.load(std::memory_order_relaxed);
  s.peak_in_flight = peak_.load(std::memory_order_relaxed);
  return s;
}

void ConcurrencyLimiter::raise_peak(std::int64_t seen) noexcept {
  std::int64_t peak = peak_.load(std::memory_order_relaxed);
  while (seen > peak && !peak_.compare_exchange_weak(peak, seen, std::memory_order_relaxed)) {
  }
}

}  // namespace ratelimit
