#include "ratelimit/resilience/layered_limiter.hpp"

#include <stdexcept>
#include <string>
#include <utility>

namespace ratelimit {

namespace {

LayeredLimiterConfig validated(LayeredLimiterConfig config, const Store* store) {
  const std::string where = "LayeredLimiter '" + config.name + "': ";
  if (!config.local && !config.shared) {
    throw std::invalid_argument(where + "configure at least one of the local and shared layers");
  }
  if (config.shared && store == nullptr) {
    throw std::invalid_argument(where + "the shared layer needs a store (got null)");
  }
  if (config.adaptive && !config.local) {
    throw std::invalid_argument(
        where + "the adaptive layer drives the local bucket's rate: configure local");
  }
  // The breaker reports CircuitOpen under the limiter's name unless it has one.
  if (config.breaker && config.breaker->name == CircuitBreakerConfig{}.name)
    config.breaker->name = config.name;
  return config;
}

std::unique_ptr<LocalBucket> make_local(const LayeredLimiterConfig& config,
                                        const std::shared_ptr<const Clock>& clock) {
  if (!config.local) return nullptr;
  const double rate = config.adaptive ? config.adaptive->initial_rate : config.local->rate;
  try {
    return std::make_unique<LocalBucket>(rate, config.local->burst, clock);
  } catch (const std::invalid_argument& e) {
    throw std::invalid_argument("LayeredLimiter '" + config.name + "', local layer: " + e.what());
  }
}

template <class T, class Config>
std::unique_ptr<T> make_layer(const std::optional<Config>& layer, const std::string& limiter,
                              const char* what, const std::shared_ptr<const Clock>& clock) {
  if (!layer) return nullptr;
  try {
    return std::make_unique<T>(*layer, clock);
  } catch (const std::invalid_argument& e) {
    throw std::invalid_argument("LayeredLimiter '" + limiter + "', " + what +
                                " layer: " + e.what());
  }
}

}  // namespace

LayeredLimiter::LayeredLimiter(LayeredLimiterConfig config, std::shared_ptr<Store> store,
                               std::shared_ptr<const Clock> clock)
    : config_(validated(std::move(config), store.get())),
      store_(std::move(store)),
      clock_(clock ? std::move(clock) : system_clock_handle()),
      local_(make_local(config_, clock_)),
      breaker_(make_layer<CircuitBreaker>(config_.breaker, config_.name, "breaker", clock_)),
      aimd_(make_layer<AimdController>(config_.adaptive, config_.name, "adaptive", clock_)),
      times_calls_(config_.breaker && (config_.breaker->slow_call_duration.has_value())) {
  if (aimd_) aimd_->attach(*local_);
}

LayeredLimiter::~LayeredLimiter() = default;

LayeredPermit LayeredLimiter::acquire(std::string_view key, std::int64_t cost) {
  if (cost < 0)
    throw InvalidRequest("LayeredLimiter: cost must be >= 0, got " + std::to_string(cost));
  // 1. An open breaker refuses before anything is charged.
  if (breaker_) {
    if (const Micros wait = breaker_->retry_after(); wait > 0) {
      count(circuit_refused_);
      throw CircuitOpen(breaker_->name(), wait);
    }
  }
  // 2. This process's bucket.
  const auto units = static_cast<double>(cost);
  if (local_ && !local_->try_acquire(units)) {
    count(local_denied_);
    throw RateLimitExceeded(local_->time_to_available(units), "local");
  }
  // 3. The limit every instance shares.
  if (config_.shared) {
    Decision decision;
    try {
      const std::string store_key = config_.shared_key_prefix + std::string(key);
      decision = store_->decide_one_now(Check{&*config_.shared, store_key}, cost, *clock_);
    } catch (...) {
      if (local_) local_->refund(units);
      throw;
    }
    if (!decision.allowed) {
      if (local_) local_->refund(units);
      count(shared_denied_);
      // The instances together are over the shared limit: this one slows down.
      if (aimd_) aimd_->on_throttle();
      throw RateLimitExceeded(decision.retry_after, "shared");
    }
  }
  // 4. The breaker's permission (takes a probe when half-open).
  if (breaker_ && !breaker_->try_acquire()) {
    if (local_) local_->refund(units);
    count(circuit_refused_);
    throw CircuitOpen(breaker_->name(), breaker_->retry_after());
  }
  count(admitted_);
  return LayeredPermit(this);
}

void LayeredLimiter::finish(Outcome outcome, Micros duration) noexcept {
  switch (outcome) {
    case Outcome::success:
      count(successes_);
      if (breaker_) breaker_->on_success(duration);
      if (aimd_) aimd_->on_success();
      break;
    case Outcome::failure:
      count(failures_);
      if (breaker_) breaker_->on_failure(duration);
      if (aimd_) aimd_->on_error();
      break;
    case Outcome::throttled:
      count(throttled_);
      if (breaker_) breaker_->release();
      if (aimd_) aimd_->on_throttle();
      break;
    case Outcome::none:
      if (breaker_) breaker_->release();
      break;
  }
}

bool LayeredLimiter::counts_as_failure(const std::exception& e) const {
  if (!config_.breaker || !config_.breaker->is_failure) return true;
  try {
    return config_.breaker->is_failure(e);
  } catch (...) {
    return true;  // as the breaker does: a predicate that throws says "yes"
  }
}

LayeredLimiterStats LayeredLimiter::stats() const {
  LayeredLimiterStats s;
  s.admitted = admitted_.load(std::memory_order_relaxed);
  s.local_denied = local_denied_.load(std::memory_order_relaxed);
  s.shared_denied = shared_denied_.load(std::memory_order_relaxed);
  s.circuit_refused = circuit_refused_.load(std::memory_order_relaxed);
  s.successes = successes_.load(std::memory_order_relaxed);
  s.failures = failures_.load(std::memory_order_relaxed);
  s.throttled = throttled_.load(std::memory_order_relaxed);
  s.local_rate = local_ ? local_->rate() : 0;
  s.breaker_state = breaker_ ? breaker_->state() : BreakerState::closed;
  return s;
}

LayeredPermit& LayeredPermit::operator=(LayeredPermit&& other) noexcept {
  if (this != &other) {
    if (owner_ != nullptr) owner_->finish(LayeredLimiter::Outcome::none, 0);
    owner_ = std::exchange(other.owner_, nullptr);
  }
  return *this;
}

LayeredPermit::~LayeredPermit() {
  if (owner_ != nullptr) owner_->finish(LayeredLimiter::Outcome::none, 0);
}

void LayeredPermit::success(Micros duration) noexcept {
  if (auto* owner = std::exchange(owner_, nullptr))
    owner->finish(LayeredLimiter::Outcome::success, duration);
}

void LayeredPermit::failure(Micros duration) noexcept {
  if (auto* owner = std::exchange(owner_, nullptr))
    owner->finish(LayeredLimiter::Outcome::failure, duration);
}

void LayeredPermit::throttled() noexcept {
  if (auto* owner = std::exchange(owner_, nullptr))
    owner->finish(LayeredLimiter::Outcome::throttled, 0);
}

}  // namespace ratelimit
