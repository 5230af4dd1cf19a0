#pragma once
/// @file resilience/rate_limited.hpp
/// Wraps any callable so that each call first acquires from a client-side
/// limiter: `auto get = rate_limited(limiter, fetch, {.cost = 1, .timeout = 2 *
/// kMicrosPerSecond});`

#include <concepts>
#include <functional>
#include <type_traits>
#include <utility>

#include "ratelimit/resilience/errors.hpp"
#include "ratelimit/time.hpp"

namespace ratelimit {

/// What a rate_limited call acquires before it calls through.
struct RateLimitedOptions {
  double cost = 1;             ///< units per call (>= 0)
  Micros timeout = kInfinite;  ///< µs a call may wait for them (>= 0)
};

/// A limiter rate_limited can wait on: ClientLimiter, AdaptiveClient, or
/// anything with the same acquire / time_to_available.
template <class L>
concept ClientAcquirer = requires(L& limiter, double cost, Micros timeout) {
  { limiter.acquire(cost, timeout) } -> std::convertible_to<bool>;
  { limiter.time_to_available(cost) } -> std::convertible_to<Micros>;
};

/// A callable that acquires `options.cost` units from `limiter` (waiting up to
/// `options.timeout`) and then forwards to the wrapped callable, returning its
/// result (any type, including void and references). When the units are not
/// available in time it throws RateLimitExceeded(retry_after, "client"),
/// where retry_after is the limiter's time_to_available at that moment, and
/// does not call through. Exceptions of the callable propagate; the units are
/// spent either way. Holds the limiter by reference: it must outlive the
/// wrapper. Move-only when the callable is; as thread-safe as the callable.
template <ClientAcquirer Limiter, class Fn>
class RateLimited final {
 public:
  RateLimited(Limiter& limiter, Fn fn, RateLimitedOptions options)
      : limiter_(&limiter), fn_(std::move(fn)), options_(options) {}

  template <class... Args>
  requires std::invocable<Fn&, Args...> std::invoke_result_t<Fn&, Args...>
  operator()(Args&&... args) {
    admit();
    return std::invoke(fn_, std::forward<Args>(args)...);
  }

  template <class... Args>
  requires std::invocable<const Fn&, Args...> std::invoke_result_t<const Fn&, Args...>
  operator()(Args&&... args) const {
    admit();
    return std::invoke(fn_, std::forward<Args>(args)...);
  }

  [[nodiscard]] const RateLimitedOptions& options() const noexcept { return options_; }

 private:
  void admit() const {
    if (!limiter_->acquire(options_.cost, options_.timeout)) {
      throw RateLimitExceeded(limiter_->time_to_available(options_.cost), "client");
    }
  }

  Limiter* limiter_;
  Fn fn_;
  RateLimitedOptions options_;
};

/// Wraps `fn` (copied or moved in) so that every call acquires from `limiter`
/// first; see RateLimited. Throws nothing itself; bad options surface as the
/// limiter's std::invalid_argument on the first call.
template <ClientAcquirer Limiter, class Fn>
[[nodiscard]] RateLimited<Limiter, std::decay_t<Fn>> rate_limited(Limiter& limiter, Fn&& fn,
                                                                  RateLimitedOptions options = {}) {
  return RateLimited<Limiter, std::decay_t<Fn>>(limiter, std::forward<Fn>(fn), options);
}

}  // namespace ratelimit
