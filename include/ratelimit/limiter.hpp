#pragma once
/// @file limiter.hpp
/// The facade most programs need: one limit, a store, a clock.

#include <memory>
#include <string_view>

#include "ratelimit/limit_spec.hpp"
#include "ratelimit/store.hpp"
#include "ratelimit/time.hpp"

namespace ratelimit {

/// One limit applied per key: `Limiter(spec, store, clock).try_acquire("user:42")`.
/// Thread-safe; shares the store's state with every other user of the store,
/// so two Limiters must give their keys distinct prefixes if they use
/// different specs on one store.
class Limiter {
 public:
  /// Uses `clock` (default: the system clock) for `now`.
  Limiter(LimitSpec spec, std::shared_ptr<Store> store,
          std::shared_ptr<const Clock> clock = nullptr);

  /// Admits `cost` units for `key` now, or not; see Decision. Throws
  /// InvalidRequest for an empty or overlong key or a negative cost.
  Decision try_acquire(std::string_view key, std::int64_t cost = 1);
  /// The decision fields for `key` without changing anything.
  Decision peek(std::string_view key);
  /// Forgets `key`: its next request sees a full limit.
  void reset(std::string_view key);

  [[nodiscard]] const LimitSpec& spec() const noexcept { return spec_; }
  [[nodiscard]] Store& store() const noexcept { return *store_; }
  [[nodiscard]] const Clock& clock() const noexcept { return *clock_; }

 private:
  LimitSpec spec_;
  std::shared_ptr<Store> store_;
  std::shared_ptr<const Clock> clock_;
};

}  // namespace ratelimit
