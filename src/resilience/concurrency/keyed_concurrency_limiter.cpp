#include "ratelimit/resilience/keyed_concurrency_limiter.hpp"

#include <stdexcept>
#include <string>
#include <utility>

#include "resilience/concurrency/lease_validation.hpp"

namespace ratelimit {

namespace {

void require_limit(std::int64_t limit) {
  concurrency::require_limiter_limit("KeyedConcurrencyLimiter", limit, LeaseStore::kMaxLimit);
}

}  // namespace

KeyedConcurrencyLimiter::Lease::Lease(KeyedConcurrencyLimiter* limiter, std::string key,
                                      std::string id, Micros expires_at) noexcept
    : limiter_(limiter), key_(std::move(key)), id_(std::move(id)), expires_at_(expires_at) {}

KeyedConcurrencyLimiter::Lease::Lease(Lease&& other) noexcept
    : limiter_(other.limiter_),
      key_(std::move(other.key_)),
      id_(std::move(other.id_)),
      expires_at_(other.expires_at_) {
  other.limiter_ = nullptr;
  other.key_.clear();
  other.id_.clear();
}

KeyedConcurrencyLimiter::Lease& KeyedConcurrencyLimiter::Lease::operator=(Lease&& other) noexcept {
  if (this != &other) {
    release();
    limiter_ = other.limiter_;
    key_ = std::move(other.key_);
    id_ = std::move(other.id_);
    expires_at_ = other.expires_at_;
    other.limiter_ = nullptr;
    other.key_.clear();
    other.id_.clear();
  }
  return *this;
}

void KeyedConcurrencyLimiter::Lease::release() noexcept {
  if (limiter_ == nullptr) return;
  KeyedConcurrencyLimiter* const limiter = limiter_;
  limiter_ = nullptr;
  try {
    limiter->store_->release(key_, id_);
  } catch (...) {
    // StoreUnavailable (or anything else): nothing may leave a destructor.
    // The lease expires at expires_at_ and its slot is free again then.
    limiter->release_failures_.fetch_add(1, std::memory_order_relaxed);
  }
  key_.clear();
  id_.clear();
}

bool KeyedConcurrencyLimiter::Lease::renew() {
  if (limiter_ == nullptr)
    throw std::logic_error("KeyedConcurrencyLimiter::Lease: renew of an empty lease");
  const Micros now = limiter_->clock_->now();
  if (limiter_->store_->renew(key_, id_, now, limiter_->ttl_)) {
    expires_at_ = now + limiter_->ttl_;
    limiter_->renewed_.fetch_add(1, std::memory_order_relaxed);
    return true;
  }
  // Expired: the store holds nothing to release any more.
  limiter_->lost_.fetch_add(1, std::memory_order_relaxed);
  limiter_ = nullptr;
  key_.clear();
  id_.clear();
  return false;
}

KeyedConcurrencyLimiter::KeyedConcurrencyLimiter(std::shared_ptr<LeaseStore> store,
                                                 std::int64_t limit, Micros lease_ttl,
                                                 std::shared_ptr<const Clock> clock)
    : store_(std::move(store)),
      clock_(clock ? std::move(clock) : system_clock_handle()),
      ttl_(lease_ttl),
      limit_(limit) {
  if (store_ == nullptr)
    throw std::invalid_argument("KeyedConcurrencyLimiter: store must not be null");
  require_limit(limit);
  if (lease_ttl <= 0) {
    throw std::invalid_argument("KeyedConcurrencyLimiter: lease_ttl must be > 0 µs, got " +
                                std::to_string(lease_ttl));
  }
}

KeyedConcurrencyLimiter::Lease KeyedConcurrencyLimiter::try_acquire(std::string_view key) {
  std::string id = concurrency::next_lease_id();
  const Micros now = clock_->now();
  if (!store_->acquire(key, limit(), id, now, ttl_)) {
    rejected_.fetch_add(1, std::memory_order_relaxed);
    return Lease();
  }
  acquired_.fetch_add(1, std::memory_order_relaxed);
  return Lease(this, std::string(key), std::move(id), now + ttl_);
}

std::int64_t KeyedConcurrencyLimiter::in_flight(std::string_view key) {
  return store_->in_flight(key, clock_->now());
}

void KeyedConcurrencyLimiter::set_limit(std::int64_t limit) {
  require_limit(limit);
  limit_.store(limit, std::memory_order_relaxed);
}

KeyedConcurrencyLimiter::Stats KeyedConcurrencyLimiter::stats() const noexcept {
  Stats s;
  s.acquired = acquired_.load(std::memory_order_relaxed);
  s.rejected = rejected_.load(std::memory_order_relaxed);
  s.renewed = renewed_.load(std::memory_order_relaxed);
  s.lost = lost_.load(std::memory_order_relaxed);
  s.release_failures = release_failures_.load(std::memory_order_relaxed);
  return s;
}

}  // namespace ratelimit
