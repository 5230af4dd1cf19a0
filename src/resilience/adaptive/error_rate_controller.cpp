#include "ratelimit/resilience/error_rate_controller.hpp"

#include <algorithm>
#include <utility>

#include "resilience/adaptive/check.hpp"

namespace ratelimit {

namespace {
constexpr std::string_view kOwner = "ErrorRateController";

void validate(const ErrorRateConfig& c) {
  using namespace adaptive_detail;
  require_positive(kOwner, "min_rate", c.min_rate);
  require_positive(kOwner, "max_rate", c.max_rate);
  if (c.max_rate < c.min_rate) fail(kOwner, "max_rate", ">= min_rate", c.max_rate);
  require_in(kOwner, "base_rate", c.base_rate, c.min_rate, c.max_rate, "in [min_rate, max_rate]");
  require_in(kOwner, "error_threshold", c.error_threshold, 0, 1, "in [0, 1]");
  if (c.interval <= 0) fail(kOwner, "interval", "> 0 µs", c.interval);
  if (c.window <= 0) fail(kOwner, "window", "> 0 µs", c.window);
  if (c.window % c.interval != 0) fail(kOwner, "window", "a multiple of interval", c.window);
  if (c.window / c.interval > kMaxErrorRateBuckets) {
    fail(kOwner, "window", "at most 4096 intervals", c.window);
  }
  if (c.min_samples == 0) fail(kOwner, "min_samples", ">= 1", c.min_samples);
  if (!(c.reduction > 0 && c.reduction <= 1)) fail(kOwner, "reduction", "in (0, 1]", c.reduction);
  require_positive(kOwner, "recovery", c.recovery);
}

// Floor division: instants before 0 belong to negative intervals.
std::int64_t floor_div(Micros a, Micros b) {
  const std::int64_t q = a / b;
  return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q;
}
}  // namespace

ErrorRateController::ErrorRateController(const ErrorRateConfig& config,
                                         std::shared_ptr<const Clock> clock)
    : config_(config), clock_(clock ? std::move(clock) : system_clock_handle()) {
  validate(config_);
  stats_.rate = config_.base_rate;
  buckets_.resize(static_cast<std::size_t>(config_.window / config_.interval));
  latest_epoch_ = floor_div(clock_->now(), config_.interval);
  evaluated_epoch_ = latest_epoch_;  // the first evaluation is at the next boundary
}

std::int64_t ErrorRateController::epoch_locked(Micros now) {
  latest_epoch_ = std::max(latest_epoch_, floor_div(now, config_.interval));
  return latest_epoch_;
}

bool ErrorRateController::evaluate_locked(std::int64_t epoch, Micros now) {
  if (epoch <= evaluated_epoch_) return false;
  evaluated_epoch_ = epoch;
  const auto size = static_cast<std::int64_t>(buckets_.size());
  std::uint64_t successes = 0;
  std::uint64_t errors = 0;
  for (const Bucket& b : buckets_) {
    if (b.epoch >= epoch - size && b.epoch < epoch) {
      successes += b.successes;
      errors += b.errors;
    }
  }
  const std::uint64_t samples = successes + errors;
  ++stats_.evaluations;
  stats_.window_samples = samples;
  stats_.window_error_rate =
      samples == 0 ? 0.0 : static_cast<double>(errors) / static_cast<double>(samples);
  if (samples < config_.min_samples) return false;

  const double before = stats_.rate;
  if (stats_.window_error_rate > config_.error_threshold) {
    stats_.rate = std::max(config_.min_rate, before * (1 - config_.reduction));
    // Errors sent at the old rate say nothing about the new one.
    std::fill(buckets_.begin(), buckets_.end(), Bucket{});
    if (stats_.rate == before) return false;
    ++stats_.reductions;
  } else {
    stats_.rate = std::min(config_.max_rate, before + config_.recovery * config_.base_rate);
    if (stats_.rate == before) return false;
    ++stats_.recoveries;
  }
  stats_.last_change_at = now;
  return true;
}

void ErrorRateController::record(bool error) {
  bool changed = false;
  {
    const std::lock_guard lock(mu_);
    const Micros now = clock_->now();
    const std::int64_t epoch = epoch_locked(now);
    changed = evaluate_locked(epoch, now);
    const auto size = static_cast<std::int64_t>(buckets_.size());
    Bucket& b = buckets_[static_cast<std::size_t>(((epoch % size) + size) % size)];
    if (b.epoch != epoch) b = Bucket{epoch, 0, 0};
    if (error) {
      ++b.errors;
      ++stats_.errors;
    } else {
      ++b.successes;
      ++stats_.successes;
    }
  }
  if (changed) publish();
}

void ErrorRateController::on_success() { record(false); }

void ErrorRateController::on_error() { record(true); }

bool ErrorRateController::evaluate() {
  bool ran = false;
  bool changed = false;
  {
    const std::lock_guard lock(mu_);
    const Micros now = clock_->now();
    const std::int64_t epoch = epoch_locked(now);
    ran = epoch > evaluated_epoch_;
    changed = evaluate_locked(epoch, now);
  }
  if (changed) publish();
  return ran;
}

double ErrorRateController::rate() const {
  const std::lock_guard lock(mu_);
  return stats_.rate;
}

ErrorRateStats ErrorRateController::stats() const {
  const std::lock_guard lock(mu_);
  return stats_;
}

void ErrorRateController::add_sink(std::function<void(double)> sink) {
  sinks_.add(std::move(sink), [this] { return rate(); });
}

void ErrorRateController::attach(LocalBucket& bucket) {
  add_sink([&bucket](double r) { bucket.set_rate(r); });
}

void ErrorRateController::publish() {
  sinks_.publish([this] { return rate(); });
}

}  // namespace ratelimit
