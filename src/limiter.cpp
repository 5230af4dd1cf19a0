#include "ratelimit/limiter.hpp"

#include <utility>

namespace ratelimit {

Limiter::Limiter(LimitSpec spec, std::shared_ptr<Store> store, std::shared_ptr<const Clock> clock)
    : spec_(std::move(spec)), store_(std::move(store)), clock_(clock ? std::move(clock) : system_clock_handle()) {
  if (!store_) throw std::invalid_argument("Limiter: store must not be null");
}

Decision Limiter::try_acquire(std::string_view key, std::int64_t cost) {
  return store_->decide_one_now(Check{&spec_, key}, cost, *clock_);
}

Decision Limiter::peek(std::string_view key) { return store_->decide_one_now(Check{&spec_, key}, 0, *clock_); }

void Limiter::reset(std::string_view key) {
  const Check check{&spec_, key};
  store_->reset(std::span<const Check>(&check, 1));
}

}  // namespace ratelimit
