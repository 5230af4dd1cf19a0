// Durations, rates and timestamps as the configuration writes them.
#include <charconv>
#include <cstdint>
#include <ctime>
#include <optional>
#include <string_view>

#include "ratelimit/policy/config_loader.hpp"

namespace ratelimit::policy {
namespace {

// Whole-unit lengths accepted after a number.
std::optional<Micros> unit_micros(std::string_view unit) noexcept {
  if (unit == "us") return 1;
  if (unit == "ms") return kMicrosPerMilli;
  if (unit == "s" || unit == "sec" || unit == "second") return kMicrosPerSecond;
  if (unit == "m" || unit == "min" || unit == "minute") return kMicrosPerMinute;
  if (unit == "h" || unit == "hour") return kMicrosPerHour;
  if (unit == "d" || unit == "day") return kMicrosPerDay;
  return std::nullopt;
}

// Digits only, no sign, no leading '+': "0042" is fine, "" is not.
std::optional<std::int64_t> parse_digits(std::string_view text) noexcept {
  if (text.empty() || text.size() > 15) return std::nullopt;
  std::int64_t value = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc{} || end != text.data() + text.size() || text.front() == '-') {
    return std::nullopt;
  }
  return value;
}

bool multiply(std::int64_t a, std::int64_t b, std::int64_t& out) noexcept {
  return !__builtin_mul_overflow(a, b, &out);
}

}  // namespace

std::optional<Micros> parse_duration(std::string_view text) noexcept {
  std::size_t digits = 0;
  while (digits < text.size() && text[digits] >= '0' && text[digits] <= '9') ++digits;
  const auto count = parse_digits(text.substr(0, digits));
  const auto unit = unit_micros(text.substr(digits));
  Micros out = 0;
  if (!count || !unit || !multiply(*count, *unit, out)) return std::nullopt;
  return out;
}

std::optional<Rate> parse_rate(std::string_view text) noexcept {
  const auto slash = text.find('/');
  if (slash == std::string_view::npos) return std::nullopt;
  const std::string_view number = text.substr(0, slash);
  std::string_view per = text.substr(slash + 1);
  // The window: a unit ("s", "min") or a duration ("100ms", "10s").
  std::optional<Micros> window = unit_micros(per);
  if (!window) window = parse_duration(per);
  if (!window || *window <= 0) return std::nullopt;
  // The count: "167" or "1.67"; decimals scale count and window alike, so
  // the rate stays exact ("1.67/s" = 167 per 100 s).
  const auto dot = number.find('.');
  std::string whole(number.substr(0, dot));
  std::size_t decimals = 0;
  if (dot != std::string_view::npos) {
    const std::string_view fraction = number.substr(dot + 1);
    if (fraction.empty() || fraction.size() > 6) return std::nullopt;
    whole += fraction;
    decimals = fraction.size();
  }
  auto limit = parse_digits(whole);
  if (!limit || *limit <= 0) return std::nullopt;
  Micros scaled = *window;
  for (std::size_t i = 0; i < decimals; ++i) {
    if (!multiply(scaled, 10, scaled)) return std::nullopt;
  }
  // Reduce by common factors of ten so "1.50/s" is 15 per 10 s, not 150 per 100 s.
  while (*limit % 10 == 0 && scaled % 10 == 0 && decimals > 0) {
    *limit /= 10;
    scaled /= 10;
    --decimals;
  }
  return Rate{*limit, scaled};
}

std::optional<Micros> parse_timestamp(std::string_view text) noexcept {
  // Exactly "YYYY-MM-DDTHH:MM:SSZ": one unambiguous form, always UTC.
  if (text.size() != 20 || text[4] != '-' || text[7] != '-' ||
      (text[10] != 'T' && text[10] != 't') || text[13] != ':' || text[16] != ':' ||
      (text[19] != 'Z' && text[19] != 'z')) {
    return std::nullopt;
  }
  const auto field = [&](std::size_t at, std::size_t n) {
    return parse_digits(text.substr(at, n));
  };
  const auto year = field(0, 4), month = field(5, 2), day = field(8, 2);
  const auto hour = field(11, 2), minute = field(14, 2), second = field(17, 2);
  if (!year || !month || !day || !hour || !minute || !second) return std::nullopt;
  if (*year < 1970 || *month < 1 || *month > 12 || *day < 1 || *day > 31 || *hour > 23 ||
      *minute > 59 || *second > 60) {
    return std::nullopt;
  }
  std::tm tm{};
  tm.tm_year = static_cast<int>(*year - 1900);
  tm.tm_mon = static_cast<int>(*month - 1);
  tm.tm_mday = static_cast<int>(*day);
  tm.tm_hour = static_cast<int>(*hour);
  tm.tm_min = static_cast<int>(*minute);
  tm.tm_sec = static_cast<int>(*second);
  const std::time_t t = timegm(&tm);
  // timegm normalizes 31 February into March: reject what it had to move.
  if (t < 0 || tm.tm_mday != static_cast<int>(*day)) return std::nullopt;
  return static_cast<Micros>(t) * kMicrosPerSecond;
}

}  // namespace ratelimit::policy
