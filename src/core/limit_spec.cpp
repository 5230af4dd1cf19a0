#include "ratelimit/limit_spec.hpp"

#include <array>
#include <utility>

namespace ratelimit {

namespace {

constexpr std::array<std::pair<std::string_view, Algorithm>, 6> kAlgorithms{{
    {"token_bucket", Algorithm::token_bucket},
    {"gcra", Algorithm::gcra},
    {"leaky_bucket", Algorithm::leaky_bucket},
    {"fixed_window", Algorithm::fixed_window},
    {"sliding_window", Algorithm::sliding_window},
    {"sliding_log", Algorithm::sliding_log},
}};

bool known(Algorithm a) noexcept {
  for (const auto& [name, value] : kAlgorithms) {
    if (value == a) return true;
  }
  return false;
}

std::string number(std::int64_t v) { return std::to_string(v); }

}  // namespace

std::string_view to_string(Algorithm a) noexcept {
  for (const auto& [name, value] : kAlgorithms) {
    if (value == a) return name;
  }
  return "unknown";
}

std::string_view to_string(LeakyMode m) noexcept { return m == LeakyMode::shape ? "shape" : "police"; }

Algorithm parse_algorithm(std::string_view name) {
  for (const auto& [known_name, value] : kAlgorithms) {
    if (known_name == name) return value;
  }
  throw InvalidLimitSpec("unknown algorithm '" + std::string(name) +
                         "' (expected one of token_bucket, gcra, leaky_bucket, fixed_window, "
                         "sliding_window, sliding_log)");
}

LeakyMode parse_leaky_mode(std::string_view name) {
  if (name == "police") return LeakyMode::police;
  if (name == "shape") return LeakyMode::shape;
  throw InvalidLimitSpec("unknown leaky_bucket mode '" + std::string(name) +
                         "' (expected police or shape)");
}

std::string LimitSpec::validate(const LimitParams& p) {
  if (!known(p.algorithm)) {
    return "unknown algorithm (enum value " + number(static_cast<int>(p.algorithm)) + ")";
  }
  const std::string algo(to_string(p.algorithm));
  if (p.limit < 1) return algo + ": limit must be a positive integer, got " + number(p.limit);
  if (p.limit > kMaxLimit) {
    return algo + ": limit " + number(p.limit) + " exceeds the maximum " + number(kMaxLimit);
  }
  if (p.algorithm == Algorithm::sliding_window && p.limit > kMaxSlidingWindowLimit) {
    return algo + ": limit " + number(p.limit) + " exceeds the sliding_window maximum " +
           number(kMaxSlidingWindowLimit);
  }
  if (p.algorithm == Algorithm::sliding_log && p.limit > kMaxSlidingLogLimit) {
    return algo + ": limit " + number(p.limit) + " exceeds the sliding_log maximum " +
           number(kMaxSlidingLogLimit) + " (it stores one entry per request; use sliding_window)";
  }
  if (p.window < 1) return algo + ": window must be at least 1 µs, got " + number(p.window) + " µs";
  if (p.window > kMaxWindow) {
    return algo + ": window " + number(p.window) + " µs exceeds the maximum of 366 days";
  }
  if (p.burst) {
    if (!is_bucket(p.algorithm)) {
      return algo + ": burst applies only to token_bucket, gcra and leaky_bucket";
    }
    if (*p.burst < 1) return algo + ": burst must be at least 1, got " + number(*p.burst);
    if (*p.burst > kMaxLimit) {
      return algo + ": burst " + number(*p.burst) + " exceeds the maximum " + number(kMaxLimit);
    }
  }
  if (p.mode && p.algorithm != Algorithm::leaky_bucket) {
    return algo + ": mode applies only to leaky_bucket";
  }
  return {};
}

LimitSpec::LimitSpec(const LimitParams& p)
    : algorithm_(p.algorithm),
      mode_(p.mode.value_or(LeakyMode::police)),
      limit_(p.limit),
      window_(p.window),
      burst_(p.burst.value_or(p.limit)),
      rate_(static_cast<double>(p.limit) / static_cast<double>(p.window)),
      interval_(static_cast<double>(p.window) / static_cast<double>(p.limit)) {
  if (std::string error = validate(p); !error.empty()) throw InvalidLimitSpec(error);
}

LimitSpec::LimitSpec(Algorithm algorithm, std::int64_t limit, Micros window,
                     std::optional<std::int64_t> burst, std::optional<LeakyMode> mode)
    : LimitSpec(LimitParams{algorithm, limit, window, burst, mode}) {}

std::string describe(const LimitSpec& spec) {
  std::string out(to_string(spec.algorithm()));
  out += ' ' + number(spec.limit()) + '/' + number(spec.window()) + "us";
  if (is_bucket(spec.algorithm())) out += " burst " + number(spec.burst());
  if (spec.algorithm() == Algorithm::leaky_bucket) out += std::string(" ") += to_string(spec.mode());
  return out;
}

}  // namespace ratelimit
