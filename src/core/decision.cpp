#include "ratelimit/decision.hpp"

#include <algorithm>

namespace ratelimit {

namespace {

// True when `a` should supply the combined fields rather than `b`.
bool limits_more(const Decision& a, const Decision& b) noexcept {
  if (a.allowed != b.allowed) return !a.allowed;  // a denial always wins
  if (!a.allowed) return a.retry_after > b.retry_after;
  if (a.remaining != b.remaining) return a.remaining < b.remaining;
  return a.reset_after > b.reset_after;
}

}  // namespace

Decision combine(std::span<const Decision> each) noexcept {
  std::uint32_t best = 0;
  Micros delay = 0;
  bool degraded = false;
  for (std::uint32_t i = 0; i < each.size(); ++i) {
    if (i > 0 && limits_more(each[i], each[best])) best = i;
    delay = std::max(delay, each[i].delay);
    degraded = degraded || each[i].degraded;
  }
  Decision out = each[best];
  out.check_index = best;
  out.delay = out.allowed ? delay : 0;
  out.degraded = degraded;
  return out;
}

}  // namespace ratelimit
