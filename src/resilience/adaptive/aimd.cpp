#include "ratelimit/resilience/aimd.hpp"

#include <algorithm>
#include <utility>

#include "resilience/adaptive/check.hpp"

namespace ratelimit {

namespace {
constexpr std::string_view kOwner = "AimdController";

void validate(const AimdConfig& c) {
  using namespace adaptive_detail;
  require_positive(kOwner, "min_rate", c.min_rate);
  require_positive(kOwner, "max_rate", c.max_rate);
  if (c.max_rate < c.min_rate) fail(kOwner, "max_rate", ">= min_rate", c.max_rate);
  require_in(kOwner, "initial_rate", c.initial_rate, c.min_rate, c.max_rate,
             "in [min_rate, max_rate]");
  if (c.successes_to_increase == 0) {
    fail(kOwner, "successes_to_increase", ">= 1", c.successes_to_increase);
  }
  require_non_negative(kOwner, "increase_step", c.increase_step);
  require_non_negative(kOwner, "increase_ratio", c.increase_ratio);
  if (c.increase_step == 0 && c.increase_ratio == 0) {
    // A rate that can only fall never finds the capacity again.
    fail(kOwner, "increase_step", "> 0 when increase_ratio is 0", c.increase_step);
  }
  require_open(kOwner, "decrease_factor", c.decrease_factor, 0, 1, "in (0, 1)");
  if (c.decrease_cooldown < 0) fail(kOwner, "decrease_cooldown", ">= 0 µs", c.decrease_cooldown);
}
}  // namespace

std::string_view to_string(AimdChange change) noexcept {
  switch (change) {
    case AimdChange::none:
      return "none";
    case AimdChange::increase:
      return "increase";
    case AimdChange::decrease:
      return "decrease";
  }
  return "none";
}

AimdController::AimdController(const AimdConfig& config, std::shared_ptr<const Clock> clock)
    : config_(config), clock_(clock ? std::move(clock) : system_clock_handle()) {
  validate(config_);
  stats_.rate = config_.initial_rate;
}

void AimdController::on_success() {
  bool changed = false;
  {
    const std::lock_guard lock(mu_);
    ++stats_.successes;
    // Answers that arrive during the cool-down were mostly sent at the rate
    // that was just found too high: their successes must not undo the
    // decrease (without this, a client whose rate grows per success runs
    // away above the capacity, decreasing once per cool-down while growing
    // on every success in between).
    const bool cooling =
        decreased_ && clock_->now() - last_decrease_at_ < config_.decrease_cooldown;
    if (!cooling && ++streak_ >= config_.successes_to_increase) {
      streak_ = 0;
      const double before = stats_.rate;
      stats_.rate =
          std::min(config_.max_rate, before * (1 + config_.increase_ratio) + config_.increase_step);
      changed = stats_.rate != before;
      if (changed) {
        ++stats_.increases;
        stats_.last_change = AimdChange::increase;
        stats_.last_change_at = clock_->now();
      }
    }
  }
  if (changed) publish();
}

bool AimdController::decrease_locked(Micros now) {
  // Any bad signal restarts the count toward the next increase: increases
  // need `successes_to_increase` successes in a row.
  streak_ = 0;
  // A clock that stepped back (now < last) is treated as still in the
  // cool-down rather than as a reason to decrease again.
  if (decreased_ && now - last_decrease_at_ < config_.decrease_cooldown) {
    ++stats_.suppressed;
    return false;
  }
  decreased_ = true;
  last_decrease_at_ = now;
  const double before = stats_.rate;
  stats_.rate = std::max(config_.min_rate, before * config_.decrease_factor);
  if (stats_.rate == before) return false;  // already at min_rate
  ++stats_.decreases;
  stats_.last_change = AimdChange::decrease;
  stats_.last_change_at = now;
  return true;
}

void AimdController::on_throttle() {
  bool changed = false;
  {
    const std::lock_guard lock(mu_);
    ++stats_.throttles;
    changed = decrease_locked(clock_->now());
  }
  if (changed) publish();
}

void AimdController::on_error() {
  bool changed = false;
  {
    const std::lock_guard lock(mu_);
    ++stats_.errors;
    if (config_.decrease_on_error) changed = decrease_locked(clock_->now());
  }
  if (changed) publish();
}

double AimdController::rate() const {
  const std::lock_guard lock(mu_);
  return stats_.rate;
}

AimdStats AimdController::stats() const {
  const std::lock_guard lock(mu_);
  return stats_;
}

void AimdController::add_sink(std::function<void(double)> sink) {
  sinks_.add(std::move(sink), [this] { return rate(); });
}

void AimdController::attach(LocalBucket& bucket) {
  add_sink([&bucket](double r) { bucket.set_rate(r); });
}

void AimdController::publish() {
  sinks_.publish([this] { return rate(); });
}

}  // namespace ratelimit
