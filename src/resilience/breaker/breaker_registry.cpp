// CircuitBreakerRegistry: an LRU map of breakers that evicts closed ones first.

#include "ratelimit/resilience/breaker_registry.hpp"

#include <stdexcept>
#include <utility>

namespace ratelimit {

namespace {
CircuitBreakerConfig checked(CircuitBreakerConfig c) {
  validate(c);
  return c;
}
}  // namespace

CircuitBreakerRegistry::CircuitBreakerRegistry(CircuitBreakerConfig config,
                                               std::size_t max_breakers,
                                               std::shared_ptr<const Clock> clock)
    : config_(checked(std::move(config))),
      max_breakers_(max_breakers),
      clock_(clock ? std::move(clock) : system_clock_handle()) {
  if (max_breakers_ < 1)
    throw std::invalid_argument("CircuitBreakerRegistry: max_breakers must be at least 1, got 0");
}

CircuitBreakerRegistry::~CircuitBreakerRegistry() = default;

void CircuitBreakerRegistry::evict_one() {
  // Oldest first; a closed breaker loses only its window, an open one its
  // protection, so prefer the closed.
  auto victim = std::prev(lru_.end());
  for (auto it = lru_.rbegin(); it != lru_.rend(); ++it) {
    if (it->breaker->state() == BreakerState::closed) {
      victim = std::prev(it.base());
      break;
    }
  }
  if (victim->breaker->state() != BreakerState::closed) ++stats_.evicted_not_closed;
  ++stats_.evictions;
  index_.erase(victim->key);
  lru_.erase(victim);
}

std::shared_ptr<CircuitBreaker> CircuitBreakerRegistry::get(std::string_view key) {
  std::lock_guard lock(mu_);
  if (auto it = index_.find(key); it != index_.end()) {
    lru_.splice(lru_.begin(), lru_, it->second);
    return it->second->breaker;
  }
  CircuitBreakerConfig c = config_;
  c.name = config_.name + "/" + std::string(key);
  auto breaker = std::make_shared<CircuitBreaker>(std::move(c), clock_);
  for (const auto& listener : listeners_) {
    breaker->add_listener(
        [listener, k = std::string(key)](const Transition& t) { listener(k, t); });
  }
  if (lru_.size() >= max_breakers_) evict_one();
  lru_.push_front(Entry{std::string(key), breaker});
  index_.emplace(std::string(key), lru_.begin());
  ++stats_.created;
  return breaker;
}

std::shared_ptr<CircuitBreaker> CircuitBreakerRegistry::find(std::string_view key) const {
  std::lock_guard lock(mu_);
  auto it = index_.find(key);
  return it == index_.end() ? nullptr : it->second->breaker;
}

bool CircuitBreakerRegistry::erase(std::string_view key) {
  std::lock_guard lock(mu_);
  auto it = index_.find(key);
  if (it == index_.end()) return false;
  lru_.erase(it->second);
  index_.erase(it);
  return true;
}

void CircuitBreakerRegistry::add_listener(
    std::function<void(const std::string& key, const Transition&)> listener) {
  std::lock_guard lock(mu_);
  listeners_.push_back(std::move(listener));
}

BreakerRegistryStats CircuitBreakerRegistry::stats() const {
  std::lock_guard lock(mu_);
  BreakerRegistryStats s = stats_;
  s.count = lru_.size();
  return s;
}

}  // namespace ratelimit
