#include "ratelimit/http/rate_limit_headers.hpp"

#include <algorithm>
#include <limits>
#include <string>

#include "ratelimit/http/digits.hpp"

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

// limit - remaining, at least 0, saturating instead of overflowing for a
// decision with out-of-range numbers.
std::int64_t used(const Decision& d) noexcept {
  std::int64_t out = 0;
  if (__builtin_sub_overflow(d.limit, d.remaining, &out)) {
    out = d.remaining < 0 ? std::numeric_limits<std::int64_t>::max() : 0;
  }
  return std::max<std::int64_t>(0, out);
}

bool is_printable(std::string_view text) noexcept {
  return std::all_of(text.begin(), text.end(), [](char c) {
    const auto byte = static_cast<unsigned char>(c);
    return byte >= 0x20 && byte != 0x7f;
  });
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

void write_rate_limit_headers(const HeaderInput& input, const HeaderStyles& styles,
                              HeaderSink& sink) {
  const Decision& d = input.decision;
  const Digits limit(d.limit);
  const Digits remaining(d.remaining);
  const Digits reset_epoch(epoch_seconds_rounded_up(input.now, d.reset_after));
  // Only a name with control characters costs a copy (they are dropped).
  std::string cleaned;
  std::string_view scope = input.scope;
  if (!is_printable(scope)) {
    cleaned = printable(scope);
    scope = cleaned;
  }

  if (styles.ietf) {
    sink.add("RateLimit-Limit", limit.view());
    sink.add("RateLimit-Remaining", remaining.view());
    sink.add("RateLimit-Reset", Digits(seconds_rounded_up(d.reset_after)).view());
    if (input.window > 0) {
      const std::int64_t quota = input.window_limit > 0 ? input.window_limit : d.limit;
      char policy[64];
      char* end = std::to_chars(policy, policy + 24, quota).ptr;
      *end++ = ';';
      *end++ = 'w';
      *end++ = '=';
      end = std::to_chars(end, policy + sizeof policy, seconds_rounded_up(input.window)).ptr;
      sink.add("RateLimit-Policy", std::string_view(policy, static_cast<std::size_t>(end - policy)));
    }
  }
  if (styles.x_ratelimit || styles.github) {
    sink.add("X-RateLimit-Limit", limit.view());
    sink.add("X-RateLimit-Remaining", remaining.view());
    sink.add("X-RateLimit-Reset", reset_epoch.view());
    sink.add("X-RateLimit-Used", Digits(used(d)).view());
    if (styles.github) sink.add("X-RateLimit-Resource", scope);
  }
  if (styles.twitter) {
    sink.add("x-rate-limit-limit", limit.view());
    sink.add("x-rate-limit-remaining", remaining.view());
    sink.add("x-rate-limit-reset", reset_epoch.view());
  }
  if (!d.allowed) {
    if (!d.never_admissible()) sink.add("Retry-After", Digits(seconds_rounded_up(d.retry_after)).view());
    if (!scope.empty()) sink.add("X-RateLimit-Scope", scope);
  }
}

std::vector<Header> rate_limit_headers(const HeaderInput& input, const HeaderStyles& styles) {
  HeaderList list;
  list.headers.reserve(12);
  write_rate_limit_headers(input, styles, list);
  return std::move(list.headers);
}

}  // namespace ratelimit::http
