#include "ratelimit/http/rate_limit_headers.hpp"

#include <algorithm>
#include <string>

namespace ratelimit::http {

namespace {

std::string printable(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (const char c : text) {
    const auto byte = static_cast<unsigned char>(c);
    if (byte >= 0x20 && byte != 0x7f) out.push_back(c);
  }
  return out;
}

std::int64_t epoch_seconds_rounded_up(Micros now, Micros after) noexcept {
  const Micros at =
      after >= kMaxInstant ? kMaxInstant : std::max<Micros>(now, 0) + std::max<Micros>(after, 0);
  return seconds_rounded_up(at);
}

}  // namespace

std::int64_t seconds_rounded_up(Micros us) noexcept {
  if (us <= 0) return 0;
  return us / kMicrosPerSecond + (us % kMicrosPerSecond != 0 ? 1 : 0);
}

bool enable_style(HeaderStyles& styles, std::string_view name) noexcept {
  if (name == "ietf") {
    styles.ietf = true;
  } else if (name == "x-ratelimit") {
    styles.x_ratelimit = true;
  } else if (name == "github") {
    styles.github = true;
  } else if (name == "twitter") {
    styles.twitter = true;
  } else {
    return false;
  }
  return true;
}

std::vector<Header> rate_limit_headers(const HeaderInput& input, const HeaderStyles& styles) {
  const Decision& d = input.decision;
  const std::string limit = std::to_string(d.limit);
  const std::string remaining = std::to_string(d.remaining);
  const std::string reset_epoch =
      std::to_string(epoch_seconds_rounded_up(input.now, d.reset_after));
  const std::string scope = printable(input.scope);

  std::vector<Header> out;
  out.reserve(12);
  if (styles.ietf) {
    out.emplace_back("RateLimit-Limit", limit);
    out.emplace_back("RateLimit-Remaining", remaining);
    out.emplace_back("RateLimit-Reset", std::to_string(seconds_rounded_up(d.reset_after)));
    if (input.window > 0) {
      const std::int64_t quota = input.window_limit > 0 ? input.window_limit : d.limit;
      out.emplace_back("RateLimit-Policy", std::to_string(quota) + ";w=" +
                                               std::to_string(seconds_rounded_up(input.window)));
    }
  }
  if (styles.x_ratelimit || styles.github) {
    out.emplace_back("X-RateLimit-Limit", limit);
    out.emplace_back("X-RateLimit-Remaining", remaining);
    out.emplace_back("X-RateLimit-Reset", reset_epoch);
    out.emplace_back("X-RateLimit-Used",
                     std::to_string(std::max<std::int64_t>(0, d.limit - d.remaining)));
    if (styles.github) out.emplace_back("X-RateLimit-Resource", scope);
  }
  if (styles.twitter) {
    out.emplace_back("x-rate-limit-limit", limit);
    out.emplace_back("x-rate-limit-remaining", remaining);
    out.emplace_back("x-rate-limit-reset", reset_epoch);
  }
  if (!d.allowed) {
    if (!d.never_admissible())
      out.emplace_back("Retry-After", std::to_string(seconds_rounded_up(d.retry_after)));
    if (!scope.empty()) out.emplace_back("X-RateLimit-Scope", scope);
  }
  return out;
}

}  // namespace ratelimit::http
