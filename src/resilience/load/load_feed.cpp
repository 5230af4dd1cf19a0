#include <cmath>
#include <cstdint>
#include <mutex>
#include <stdexcept>
#include <string>

#include "ratelimit/resilience/load_signals.hpp"
#include "resilience/load/interval_ring.hpp"

namespace ratelimit {
namespace {

struct Outcomes {
  std::uint64_t successes = 0;
  std::uint64_t errors = 0;
};

LoadFeedConfig validated(const LoadFeedConfig& c) {
  if (c.interval < 1) {
    throw std::invalid_argument("LoadFeedConfig.interval must be at least 1 µs, got " +
                                std::to_string(c.interval));
  }
  if (c.intervals < 1 || c.intervals > 1000) {
    throw std::invalid_argument("LoadFeedConfig.intervals must be in 1 .. 1000, got " +
                                std::to_string(c.intervals));
  }
  if (c.min_samples < 1) {
    throw std::invalid_argument("LoadFeedConfig.min_samples must be at least 1, got 0");
  }
  return c;
}

}  // namespace

struct LoadFeed::Impl {
  Impl(const LoadFeedConfig& c, std::shared_ptr<const Clock> clk)
      : config(validated(c)),
        clock(clk ? std::move(clk) : system_clock_handle()),
        window(config.interval, config.intervals) {}

  const LoadFeedConfig config;
  const std::shared_ptr<const Clock> clock;
  mutable std::mutex mu;
  load_detail::IntervalRing<Outcomes> window;  // Guarded by mu.
  double fixed_rate = 0;                       // Guarded by mu.
  double queue_depth = 0;                      // Guarded by mu.
};

LoadFeed::LoadFeed(LoadFeedConfig config, std::shared_ptr<const Clock> clock)
    : impl_(std::make_unique<Impl>(config, std::move(clock))) {}

LoadFeed::~LoadFeed() = default;

void LoadFeed::set_error_rate(double rate) {
  if (!(rate >= 0.0 && rate <= 1.0)) {  // also refuses NaN
    throw std::invalid_argument("LoadFeed error_rate must be in [0, 1], got " +
                                std::to_string(rate));
  }
  const std::lock_guard lock(impl_->mu);
  impl_->fixed_rate = rate;
  impl_->window.clear();
}

void LoadFeed::set_queue_depth(double depth) {
  if (!(depth >= 0.0) || !std::isfinite(depth)) {
    throw std::invalid_argument("LoadFeed queue_depth must be finite and >= 0, got " +
                                std::to_string(depth));
  }
  const std::lock_guard lock(impl_->mu);
  impl_->queue_depth = depth;
}

void LoadFeed::record_success() {
  const Micros now = impl_->clock->now();
  const std::lock_guard lock(impl_->mu);
  ++impl_->window.at(now).successes;
}

void LoadFeed::record_error() {
  const Micros now = impl_->clock->now();
  const std::lock_guard lock(impl_->mu);
  ++impl_->window.at(now).errors;
}

double LoadFeed::error_rate() const {
  const Micros now = impl_->clock->now();
  const std::lock_guard lock(impl_->mu);
  std::uint64_t successes = 0;
  std::uint64_t errors = 0;
  impl_->window.for_each(now, [&](std::int64_t, const Outcomes& o) {
    successes += o.successes;
    errors += o.errors;
  });
  const std::uint64_t outcomes = successes + errors;
  if (outcomes == 0) return impl_->fixed_rate;
  const std::uint64_t denominator =
      outcomes > impl_->config.min_samples ? outcomes : impl_->config.min_samples;
  return static_cast<double>(errors) / static_cast<double>(denominator);
}

double LoadFeed::queue_depth() const {
  const std::lock_guard lock(impl_->mu);
  return impl_->queue_depth;
}

LoadSignals LoadFeed::fill(LoadSignals base) const {
  base.error_rate = error_rate();
  base.queue_depth = queue_depth();
  return base;
}

}  // namespace ratelimit
