#include "ratelimit/resilience/adaptive_client.hpp"

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <string>

namespace ratelimit {

namespace {

constexpr int kTooManyRequests = 429;
constexpr int kServiceUnavailable = 503;

[[noreturn]] void fail(const std::string& field, const std::string& rule,
                       const std::string& value) {
  throw std::invalid_argument("AdaptiveClient: " + field + " must be " + rule + ", got " + value);
}

void require_positive(const char* field, double value) {
  if (!(value > 0) || !std::isfinite(value)) {
    fail(field, "a positive finite number", std::to_string(value));
  }
}

const AdaptiveClientOptions& validated(const AdaptiveClientOptions& o) {
  require_positive("min_rate", o.min_rate);
  require_positive("max_rate", o.max_rate);
  require_positive("initial_rate", o.initial_rate);
  if (o.min_rate > o.max_rate) {
    fail("min_rate", "<= max_rate (" + std::to_string(o.max_rate) + ")",
         std::to_string(o.min_rate));
  }
  if (o.initial_rate < o.min_rate || o.initial_rate > o.max_rate) {
    fail("initial_rate", "in [min_rate, max_rate]", std::to_string(o.initial_rate));
  }
  if (!(o.burst >= 1) || !std::isfinite(o.burst)) {
    fail("burst", "a finite number >= 1", std::to_string(o.burst));
  }
  if (!(o.decrease_factor > 0 && o.decrease_factor < 1)) {
    fail("decrease_factor", "in (0, 1)", std::to_string(o.decrease_factor));
  }
  if (o.decrease_interval < 0) {
    fail("decrease_interval", ">= 0 µs", std::to_string(o.decrease_interval));
  }
  if (!(o.increase_step >= 0) || !std::isfinite(o.increase_step)) {
    fail("increase_step", "a finite number >= 0", std::to_string(o.increase_step));
  }
  if (o.successes_per_increase < 1) {
    fail("successes_per_increase", ">= 1", std::to_string(o.successes_per_increase));
  }
  if (o.max_hint <= 0) fail("max_hint", "> 0 µs", std::to_string(o.max_hint));
  return o;
}

}  // namespace

AdaptiveClient::AdaptiveClient(AdaptiveClientOptions options, std::shared_ptr<const Clock> clock,
                               std::shared_ptr<Sleeper> sleeper)
    : options_(validated(options)),
      limiter_(options_.initial_rate, options_.burst, std::move(clock), std::move(sleeper)),
      rate_(options_.initial_rate) {}

double AdaptiveClient::ceiling() const noexcept {
  return options_.follow_policy && policy_rate_ ? *policy_rate_ : options_.max_rate;
}

void AdaptiveClient::decrease(Micros now) {
  if (last_decrease_ && now - *last_decrease_ < options_.decrease_interval) return;
  last_decrease_ = now;
  const double next = std::max(options_.min_rate, rate_ * options_.decrease_factor);
  if (next < rate_) {
    rate_ = next;
    limiter_.set_rate(rate_);
    ++stats_.decreases;
  }
}

void AdaptiveClient::increase() {
  const double next = std::min(ceiling(), rate_ + options_.increase_step);
  if (next > rate_) {
    rate_ = next;
    limiter_.set_rate(rate_);
    ++stats_.increases;
  }
}

void AdaptiveClient::on_response(int status, const HttpHeaders& headers) noexcept {
  const Micros now = limiter_.clock().now();
  const HttpHints hints = read_http_hints(headers, now, options_.max_hint);

  const std::lock_guard lock(mu_);
  ++stats_.responses;
  stats_.malformed_headers += hints.malformed;
  stats_.out_of_range_headers += hints.out_of_range;

  if (hints.policy_rate) {
    policy_rate_ = std::clamp(*hints.policy_rate, options_.min_rate, options_.max_rate);
    if (options_.follow_policy && rate_ > *policy_rate_) {
      rate_ = *policy_rate_;
      limiter_.set_rate(rate_);
      ++stats_.decreases;
    }
  }

  if (status == kTooManyRequests) {
    ++stats_.throttled;
    successes_ = 0;
    decrease(now);
  } else if (status >= 200 && status <= 399) {
    ++stats_.successes;
    if (++successes_ >= options_.successes_per_increase) {
      successes_ = 0;
      increase();
    }
  }

  // RFC 9110 §10.2.3: Retry-After means "come back then" on a 503 (and on a
  // 429, RFC 6585); on a 3xx it is about the redirect, not about us.
  Micros until = 0;
  if (hints.retry_at && (status == kTooManyRequests || status == kServiceUnavailable)) {
    until = *hints.retry_at;
  }
  if (hints.reset_at) until = std::max(until, *hints.reset_at);
  if (until > now && until > limiter_.paused_until()) {
    limiter_.pause_until(until);
    ++stats_.pauses;
  }
}

std::optional<double> AdaptiveClient::policy_rate() const {
  const std::lock_guard lock(mu_);
  return policy_rate_;
}

AdaptiveClientStats AdaptiveClient::stats() const {
  AdaptiveClientStats result;
  {
    const std::lock_guard lock(mu_);
    result = stats_;
  }
  result.limiter = limiter_.stats();
  return result;
}

}  // namespace ratelimit
