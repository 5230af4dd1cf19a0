#include "ratelimit/resilience/local_bucket.hpp"

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <string>

namespace ratelimit {

namespace {
constexpr double kMicrosPerSecondD = 1e6;

void require_rate(double rate) {
  if (!(rate > 0) || !std::isfinite(rate)) {
    throw std::invalid_argument("LocalBucket: rate must be a positive finite number of units per second, got " +
                                std::to_string(rate));
  }
}
void require_burst(double burst) {
  if (!(burst >= 1) || !std::isfinite(burst)) {
    throw std::invalid_argument("LocalBucket: burst must be a finite number >= 1, got " + std::to_string(burst));
  }
}
void require_cost(double cost) {
  if (!(cost >= 0) || !std::isfinite(cost)) {
    throw std::invalid_argument("LocalBucket: cost must be a finite number >= 0, got " + std::to_string(cost));
  }
}
}  // namespace

LocalBucket::LocalBucket(double rate, double burst, std::shared_ptr<const Clock> clock)
    : clock_(clock ? std::move(clock) : system_clock_handle()), rate_(rate), burst_(burst), tokens_(burst) {
  require_rate(rate);
  require_burst(burst);
  last_ = clock_->now();
}

void LocalBucket::refill(Micros now) const {
  // A clock that steps back earns nothing (and does not move last_ back, so
  // the same interval is never earned twice).
  if (now <= last_) return;
  tokens_ = std::min(burst_, tokens_ + static_cast<double>(now - last_) * rate_ / kMicrosPerSecondD);
  last_ = now;
}

Micros LocalBucket::wait_for(double cost) const {
  const double deficit = cost - tokens_;
  if (deficit <= 0) return 0;
  const double wait = std::ceil(deficit * kMicrosPerSecondD / rate_);
  return wait >= static_cast<double>(kMaxInstant) ? kInfinite : static_cast<Micros>(wait);
}

bool LocalBucket::try_acquire(double cost) { return reserve(cost, 0).has_value(); }

std::optional<Micros> LocalBucket::reserve(double cost, Micros max_wait) {
  Micros now = 0;
  const std::optional<Micros> wait = take(cost, max_wait, now);
  return wait;
}

std::optional<Micros> LocalBucket::reserve_until(double cost, Micros max_wait) {
  Micros now = 0;
  const std::optional<Micros> wait = take(cost, max_wait, now);
  if (!wait) return std::nullopt;
  return *wait >= kMaxInstant - now ? kMaxInstant : now + *wait;
}

std::optional<Micros> LocalBucket::take(double cost, Micros max_wait, Micros& now) {
  require_cost(cost);
  const std::lock_guard lock(mu_);
  now = clock_->now();
  refill(now);
  if (cost > burst_) return std::nullopt;
  const Micros wait = wait_for(cost);
  if (wait > max_wait) return std::nullopt;
  tokens_ -= cost;
  return wait;
}

void LocalBucket::refund(double cost) {
  require_cost(cost);
  const std::lock_guard lock(mu_);
  refill(clock_->now());
  tokens_ = std::min(burst_, tokens_ + cost);
}

Micros LocalBucket::time_to_available(double cost) const {
  require_cost(cost);
  const std::lock_guard lock(mu_);
  refill(clock_->now());
  if (cost > burst_) return kInfinite;
  return wait_for(cost);
}

double LocalBucket::available() const {
  const std::lock_guard lock(mu_);
  refill(clock_->now());
  return tokens_;
}

void LocalBucket::set_rate(double rate) {
  require_rate(rate);
  const std::lock_guard lock(mu_);
  refill(clock_->now());  // what the old rate earned until now is kept
  rate_ = rate;
}

void LocalBucket::set_burst(double burst) {
  require_burst(burst);
  const std::lock_guard lock(mu_);
  refill(clock_->now());
  burst_ = burst;
  tokens_ = std::min(tokens_, burst_);
}

double LocalBucket::rate() const {
  const std::lock_guard lock(mu_);
  return rate_;
}

double LocalBucket::burst() const {
  const std::lock_guard lock(mu_);
  return burst_;
}

}  // namespace ratelimit
