#include "ratelimit/resilience/adaptive_concurrency.hpp"

#include <algorithm>
#include <cmath>
#include <utility>

#include "resilience/adaptive/check.hpp"

namespace ratelimit {

namespace {
constexpr std::string_view kOwner = "AdaptiveConcurrencyLimit";

void validate(const AdaptiveConcurrencyConfig& c) {
  using namespace adaptive_detail;
  if (c.min_limit < 1) fail(kOwner, "min_limit", ">= 1", c.min_limit);
  if (c.max_limit < c.min_limit) fail(kOwner, "max_limit", ">= min_limit", c.max_limit);
  if (c.initial_limit < c.min_limit || c.initial_limit > c.max_limit) {
    fail(kOwner, "initial_limit", "in [min_limit, max_limit]", c.initial_limit);
  }
  require_non_negative(kOwner, "alpha", c.alpha);
  require_non_negative(kOwner, "beta", c.beta);
  if (c.beta < c.alpha) fail(kOwner, "beta", ">= alpha", c.beta);
  require_positive(kOwner, "increase_step", c.increase_step);
  require_positive(kOwner, "decrease_step", c.decrease_step);
  require_open(kOwner, "drop_factor", c.drop_factor, 0, 1, "in (0, 1)");
  if (!(c.smoothing > 0 && c.smoothing <= 1)) fail(kOwner, "smoothing", "in (0, 1]", c.smoothing);
}

std::int64_t rounded(double limit) { return static_cast<std::int64_t>(std::llround(limit)); }
}  // namespace

AdaptiveConcurrencyLimit::AdaptiveConcurrencyLimit(const AdaptiveConcurrencyConfig& config)
    : config_(config) {
  validate(config_);
  stats_.exact_limit = static_cast<double>(config_.initial_limit);
  stats_.limit = config_.initial_limit;
}

void AdaptiveConcurrencyLimit::on_sample(Micros rtt_us, std::int64_t in_flight, bool dropped) {
  if (rtt_us <= 0) adaptive_detail::fail(kOwner, "rtt_us", "> 0", rtt_us);
  if (in_flight < 0) adaptive_detail::fail(kOwner, "in_flight", ">= 0", in_flight);
  bool changed = false;
  {
    const std::lock_guard lock(mu_);
    AdaptiveConcurrencyStats& s = stats_;
    ++s.samples;
    s.last_rtt = rtt_us;
    if (config_.probe_every > 0 && ++since_probe_ > config_.probe_every) {
      since_probe_ = 1;
      s.min_rtt = 0;
      ++s.probes;
    }
    // A dropped call's RTT is a timeout or a fast refusal, not a latency.
    if (!dropped && (s.min_rtt == 0 || rtt_us < s.min_rtt)) s.min_rtt = rtt_us;

    const double limit = s.exact_limit;
    double target = limit;
    if (dropped) {
      ++s.drops;
      target = limit * config_.drop_factor;
    } else if (2 * static_cast<double>(in_flight) < limit) {
      ++s.app_limited;
    } else {
      s.last_queue = limit * (1 - static_cast<double>(s.min_rtt) / static_cast<double>(rtt_us));
      // About `limit` samples complete per round trip, so a step of
      // step / limit per sample moves the limit by `step` per round trip,
      // as TCP Vegas moves its window; a whole step per sample would move
      // it by `limit` steps before the first effect is measured.
      if (s.last_queue < config_.alpha) {
        target = limit + config_.increase_step / limit;
      } else if (s.last_queue > config_.beta) {
        target = limit - config_.decrease_step / limit;
      }
    }
    const double next =
        std::clamp(limit + config_.smoothing * (target - limit),
                   static_cast<double>(config_.min_limit), static_cast<double>(config_.max_limit));
    if (next > limit) ++s.increases;
    if (next < limit) ++s.decreases;
    s.exact_limit = next;
    const std::int64_t before = s.limit;
    s.limit = rounded(next);
    changed = s.limit != before;
  }
  if (changed) sinks_.publish([this] { return limit(); });
}

std::int64_t AdaptiveConcurrencyLimit::limit() const {
  const std::lock_guard lock(mu_);
  return stats_.limit;
}

AdaptiveConcurrencyStats AdaptiveConcurrencyLimit::stats() const {
  const std::lock_guard lock(mu_);
  return stats_;
}

void AdaptiveConcurrencyLimit::add_sink(std::function<void(std::int64_t)> sink) {
  sinks_.add(std::move(sink), [this] { return limit(); });
}

}  // namespace ratelimit
