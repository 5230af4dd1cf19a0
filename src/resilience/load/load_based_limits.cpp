#include "ratelimit/resilience/load_based_limits.hpp"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <stdexcept>
#include <string>
#include <tuple>
#include <utility>

#include "resilience/load/number_text.hpp"

namespace ratelimit {
namespace {

using load_detail::in_unit;
using load_detail::num;

// 0.85 -> "85%", 0.855 -> "85.5%".
std::string percent(double fraction) {
  char buf[32];
  (void)std::snprintf(buf, sizeof buf, "%.1f", fraction * 100.0);
  std::string s = buf;
  if (s.size() > 2 && s.compare(s.size() - 2, 2, ".0") == 0) s.resize(s.size() - 2);
  return s + "%";
}

std::string times(double factor) {
  char buf[32];
  (void)std::snprintf(buf, sizeof buf, "x%.2f", factor);
  return buf;
}

std::string check_curve(const std::string& name, const LoadCurve& c, bool fraction) {
  const std::string field = "LoadBasedLimitsConfig." + name;
  if (fraction) {
    if (!in_unit(c.start)) return field + ".start must be in [0, 1], got " + num(c.start);
    if (!in_unit(c.full)) return field + ".full must be in [0, 1], got " + num(c.full);
  } else {
    if (!(c.start >= 0.0) || !std::isfinite(c.start)) {
      return field + ".start must be finite and >= 0, got " + num(c.start);
    }
    if (!std::isfinite(c.full)) return field + ".full must be finite, got " + num(c.full);
  }
  if (!(c.full > c.start)) {
    return field + ".full (" + num(c.full) + ") must be greater than start (" + num(c.start) + ")";
  }
  if (!(c.floor > 0.0 && c.floor <= 1.0)) {
    return field + ".floor must be in (0, 1], got " + num(c.floor);
  }
  return {};
}

double curve_factor(const LoadCurve& c, double v) noexcept {
  if (v <= c.start) return 1.0;
  if (v >= c.full) return c.floor;
  return 1.0 - (1.0 - c.floor) * (v - c.start) / (c.full - c.start);
}

void check_signal(const char* name, double v, bool fraction) {
  if (fraction ? !in_unit(v) : !(v >= 0.0 && std::isfinite(v))) {
    throw std::invalid_argument(
        std::string("LoadSignals.") + name +
        (fraction ? " must be in [0, 1], got " : " must be finite and >= 0, got ") + num(v));
  }
}

}  // namespace

std::string LoadBasedLimits::validate(const LoadBasedLimitsConfig& c) {
  for (const auto& [name, curve, fraction] :
       {std::tuple<const char*, const LoadCurve&, bool>{"cpu", c.cpu, true},
        {"memory", c.memory, true},
        {"error_rate", c.error_rate, true},
        {"queue_depth", c.queue_depth, false}}) {
    if (std::string e = check_curve(name, curve, fraction); !e.empty()) return e;
  }
  const std::string f = "LoadBasedLimitsConfig.";
  if (!(c.deadband >= 0.0 && c.deadband < 1.0)) {
    return f + "deadband must be in [0, 1), got " + num(c.deadband);
  }
  if (!(c.recovery_per_second > 0.0) || !std::isfinite(c.recovery_per_second)) {
    return f + "recovery_per_second must be finite and > 0, got " + num(c.recovery_per_second);
  }
  if (!in_unit(c.good_score)) return f + "good_score must be in [0, 1], got " + num(c.good_score);
  if (!in_unit(c.poor_score)) return f + "poor_score must be in [0, 1], got " + num(c.poor_score);
  if (!(c.poor_score < c.good_score)) {
    return f + "poor_score (" + num(c.poor_score) + ") must be less than good_score (" +
           num(c.good_score) + ")";
  }
  if (!(c.good_factor >= 1.0) || !std::isfinite(c.good_factor)) {
    return f + "good_factor must be finite and >= 1, got " + num(c.good_factor);
  }
  if (!(c.poor_factor > 0.0 && c.poor_factor <= 1.0)) {
    return f + "poor_factor must be in (0, 1], got " + num(c.poor_factor);
  }
  if (!(c.max_factor >= 1.0) || !std::isfinite(c.max_factor)) {
    return f + "max_factor must be finite and >= 1, got " + num(c.max_factor);
  }
  return {};
}

LoadBasedLimits::LoadBasedLimits(LoadBasedLimitsConfig config, std::shared_ptr<const Clock> clock)
    : config_(std::move(config)), clock_(clock ? std::move(clock) : system_clock_handle()) {
  if (std::string e = validate(config_); !e.empty()) throw std::invalid_argument(e);
}

Adjustment LoadBasedLimits::evaluate(const LoadSignals& s) const {
  check_signal("cpu", s.cpu, true);
  check_signal("memory", s.memory, true);
  check_signal("error_rate", s.error_rate, true);
  check_signal("queue_depth", s.queue_depth, false);

  Adjustment out;
  auto consider = [&](const char* name, const LoadCurve& curve, double v, bool fraction) {
    if (!curve.enabled || v <= curve.start) return;
    const double f = curve_factor(curve, v);
    out.factor = std::min(out.factor, f);
    out.reasons.push_back(std::string(name) + " " + (fraction ? percent(v) : num(v)) + " above " +
                          (fraction ? percent(curve.start) : num(curve.start)) + ": capacity " +
                          times(f));
  };
  consider("cpu", config_.cpu, s.cpu, true);
  consider("memory", config_.memory, s.memory, true);
  consider("error_rate", config_.error_rate, s.error_rate, true);
  consider("queue_depth", config_.queue_depth, s.queue_depth, false);
  if (out.reasons.empty())
    out.reasons.emplace_back("no signal above its threshold: capacity x1.00");
  return out;
}

Adjustment LoadBasedLimits::adjust(const LoadSignals& signals) {
  Adjustment out = evaluate(signals);
  const double target = out.factor;
  const Micros now = clock_->now();
  const std::lock_guard lock(mu_);
  const Micros elapsed = adjusted_ ? std::max<Micros>(0, now - last_) : 0;
  adjusted_ = true;
  last_ = now;
  if (target < current_) {
    if (current_ - target > config_.deadband) {
      current_ = target;
    } else {
      out.reasons.push_back("holding capacity " + times(current_) + ": target " + times(target) +
                            " is within the deadband of " + num(config_.deadband));
    }
  } else if (target > current_) {
    const double step = config_.recovery_per_second * static_cast<double>(elapsed) /
                        static_cast<double>(kMicrosPerSecond);
    current_ = std::min(target, current_ + step);
    if (current_ < target) {
      out.reasons.push_back("recovering: capacity " + times(current_) + " toward " + times(target) +
                            " at +" + num(config_.recovery_per_second) + "/s");
    }
  }
  out.factor = current_;
  return out;
}

double LoadBasedLimits::factor() const {
  const std::lock_guard lock(mu_);
  return current_;
}

Adjustment LoadBasedLimits::for_identifier(const Adjustment& load, double score) const {
  if (!in_unit(score)) {
    throw std::invalid_argument("behaviour score must be in [0, 1], got " + num(score));
  }
  if (!(load.factor > 0.0) || !std::isfinite(load.factor)) {
    throw std::invalid_argument("Adjustment.factor must be finite and > 0, got " +
                                num(load.factor));
  }
  Adjustment out = load;
  char buf[16];
  (void)std::snprintf(buf, sizeof buf, "%.2f", score);
  const std::string shown = std::string("behaviour score ") + buf;
  if (score >= config_.good_score) {
    out.factor *= config_.good_factor;
    out.reasons.push_back(shown + " >= " + num(config_.good_score) + ": bonus " +
                          times(config_.good_factor));
  } else if (score <= config_.poor_score) {
    out.factor *= config_.poor_factor;
    out.reasons.push_back(shown + " <= " + num(config_.poor_score) + ": penalty " +
                          times(config_.poor_factor));
  } else {
    out.reasons.push_back(shown + ": no bonus or penalty");
  }
  if (out.factor > config_.max_factor) {
    out.factor = config_.max_factor;
    out.reasons.push_back("capped at " + times(config_.max_factor));
  }
  return out;
}

Adjustment LoadBasedLimits::for_identifier(const Adjustment& load, const BehaviorScores& scores,
                                           std::string_view id) const {
  return for_identifier(load, scores.score(id));
}

LimitSpec scaled(const LimitSpec& spec, double factor) {
  if (!(factor > 0.0) || !std::isfinite(factor)) {
    throw std::invalid_argument("scaled: factor must be finite and > 0, got " + num(factor));
  }
  std::int64_t max = LimitSpec::kMaxLimit;
  if (spec.algorithm() == Algorithm::sliding_window) max = LimitSpec::kMaxSlidingWindowLimit;
  if (spec.algorithm() == Algorithm::sliding_log) max = LimitSpec::kMaxSlidingLogLimit;
  auto scale = [&](std::int64_t v, std::int64_t cap) {
    const double x = std::round(static_cast<double>(v) * factor);
    if (x >= static_cast<double>(cap)) return cap;
    return std::max<std::int64_t>(1, static_cast<std::int64_t>(x));
  };
  LimitParams p;
  p.algorithm = spec.algorithm();
  p.limit = scale(spec.limit(), max);
  p.window = spec.window();
  if (is_bucket(spec.algorithm())) p.burst = scale(spec.burst(), LimitSpec::kMaxLimit);
  if (spec.algorithm() == Algorithm::leaky_bucket) p.mode = spec.mode();
  return LimitSpec(p);
}

}  // namespace ratelimit
