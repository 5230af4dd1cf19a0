#pragma once
/// @file resilience/breaker_registry.hpp
/// One circuit breaker per key (per upstream host, per tenant), in bounded memory.

#include <cstddef>
#include <cstdint>
#include <functional>
#include <list>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "ratelimit/resilience/circuit_breaker.hpp"
#include "ratelimit/time.hpp"

namespace ratelimit {

/// Counters of a CircuitBreakerRegistry. Monotonic except `count`.
struct BreakerRegistryStats {
  std::size_t count = 0;        ///< breakers held now
  std::uint64_t created = 0;    ///< breakers made (a key seen again after eviction counts again)
  std::uint64_t evictions = 0;  ///< breakers dropped to make room
  std::uint64_t evicted_not_closed = 0;  ///< of those, open or half-open ones (every breaker was)
};

/// Gives each key its own CircuitBreaker, all with one config (named
/// `<config.name>/<key>`) and one clock, made on first use.
///
/// Memory is bounded: at most `max_breakers` are held. Making room evicts the
/// least recently used breaker that reads CLOSED (its window is lost, which
/// costs nothing but a little history). When every held breaker is open or
/// half-open, the least recently used one is evicted anyway: the bound holds,
/// and that key's next call gets a fresh CLOSED breaker, i.e. its circuit
/// closes early (counted in `evicted_not_closed`; size the registry above the
/// number of keys expected to fail at once).
///
/// Breakers are handed out as shared_ptr: an evicted breaker stays valid for
/// whoever still holds it, but the registry no longer returns it. Thread-safe
/// (one mutex around the key map; the breakers themselves are lock-free while
/// closed).
class CircuitBreakerRegistry final {
 public:
  /// `config` is validated like CircuitBreaker's (std::invalid_argument);
  /// `max_breakers` >= 1 (std::invalid_argument otherwise). `clock` defaults
  /// to the system clock.
  CircuitBreakerRegistry(CircuitBreakerConfig config, std::size_t max_breakers,
                         std::shared_ptr<const Clock> clock = nullptr);
  ~CircuitBreakerRegistry();
  CircuitBreakerRegistry(const CircuitBreakerRegistry&) = delete;
  CircuitBreakerRegistry& operator=(const CircuitBreakerRegistry&) = delete;

  /// The breaker for `key` (made now if absent, which may evict another);
  /// marks it most recently used. Listeners added with `add_listener` are
  /// attached to every breaker it makes. Never null.
  [[nodiscard]] std::shared_ptr<CircuitBreaker> get(std::string_view key);
  /// The breaker for `key` if held, without making one or touching recency.
  [[nodiscard]] std::shared_ptr<CircuitBreaker> find(std::string_view key) const;
  /// Drops the breaker for `key`; true if there was one.
  bool erase(std::string_view key);

  /// Called with the key and the transition for every transition of every
  /// breaker made from now on (already made ones are not affected).
  void add_listener(std::function<void(const std::string& key, const Transition&)> listener);

  [[nodiscard]] BreakerRegistryStats stats() const;
  [[nodiscard]] std::size_t max_breakers() const noexcept { return max_breakers_; }
  [[nodiscard]] const CircuitBreakerConfig& config() const noexcept { return config_; }

 private:
  struct Entry {
    std::string key;
    std::shared_ptr<CircuitBreaker> breaker;
  };
  using Lru = std::list<Entry>;  // front = most recently used
  struct Hash {
    using is_transparent = void;
    std::size_t operator()(std::string_view s) const noexcept {
      return std::hash<std::string_view>{}(s);
    }
  };
  void evict_one();  // mu_ held, at capacity

  const CircuitBreakerConfig config_;
  const std::size_t max_breakers_;
  const std::shared_ptr<const Clock> clock_;

  mutable std::mutex mu_;
  Lru lru_;                                                                      // guarded by mu_
  std::unordered_map<std::string, Lru::iterator, Hash, std::equal_to<>> index_;  // guarded by mu_
  std::vector<std::function<void(const std::string&, const Transition&)>>
      listeners_;               // guarded by mu_
  BreakerRegistryStats stats_;  // guarded by mu_ (but count)
};

}  // namespace ratelimit
