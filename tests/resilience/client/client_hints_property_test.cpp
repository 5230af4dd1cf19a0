// Header values are untrusted: for any status and any header fields,
// AdaptiveClient::on_response neither throws nor crashes, keeps its rate in
// [min_rate, max_rate], never pauses longer than max_hint, and
// read_http_hints only returns hints within max_delay of now.

#include <gtest/gtest.h>
#include <rapidcheck.h>
#include <rapidcheck/gtest.h>

#include <cctype>
#include <cmath>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "ratelimit/resilience/adaptive_client.hpp"
#include "ratelimit/resilience/http_hints.hpp"

namespace ratelimit {
namespace {

constexpr Micros kNow = 1'795'456'800 * kMicrosPerSecond;  // 2026-11-23 18:00:00 GMT

const std::vector<std::string>& names() {
  static const std::vector<std::string> kNames{
      "Retry-After",           "RateLimit-Remaining", "RateLimit-Reset",
      "RateLimit-Limit",       "RateLimit-Policy",    "RateLimit",
      "X-RateLimit-Remaining", "X-RateLimit-Reset",   "x-rate-limit-remaining",
      "x-rate-limit-reset",    "X-RateLimit-Used",    "Content-Type"};
  return kNames;
}

// Values near the valid ones (where parser bugs live) and arbitrary bytes.
rc::Gen<std::string> value() {
  return rc::gen::oneOf(
      rc::gen::arbitrary<std::string>(),
      rc::gen::map(rc::gen::arbitrary<std::int64_t>(),
                   [](std::int64_t v) { return std::to_string(v); }),
      rc::gen::map(rc::gen::inRange<std::int64_t>(0, 4'000'000'000),
                   [](std::int64_t v) { return std::to_string(v); }),
      rc::gen::element<std::string>(
          "Sun, 06 Nov 1994 08:49:37 GMT", "Tue, 24 Nov 2026 17:59:59 GMT",
          "Sunday, 06-Nov-94 08:49:37 GMT", "Sun Nov  6 08:49:37 1994", "\"default\";r=0;t=30",
          "100;w=60", "\"p\";q=5;w=1, 1;w=0", "99999999999999999999", "-0", "0", ""),
      // Mutations of valid values: one byte replaced.
      rc::gen::map(
          rc::gen::pair(
              rc::gen::element<std::string>("Mon, 23 Nov 2026 18:00:30 GMT", "\"default\";r=0;t=30",
                                            "100;w=60, 5;w=1"),
              rc::gen::pair(rc::gen::inRange<std::size_t>(0, 40), rc::gen::arbitrary<char>())),
          [](std::pair<std::string, std::pair<std::size_t, char>> p) {
            std::string s = std::move(p.first);
            if (!s.empty()) s[p.second.first % s.size()] = p.second.second;
            return s;
          }));
}

rc::Gen<HttpHeaders> headers() {
  const auto field = rc::gen::pair(
      rc::gen::map(rc::gen::pair(rc::gen::elementOf(names()), rc::gen::arbitrary<bool>()),
                   [](std::pair<std::string, bool> p) {
                     // Names are case-insensitive: try them shouted.
                     if (p.second) {
                       for (char& c : p.first) {
                         c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
                       }
                     }
                     return p.first;
                   }),
      value());
  return rc::gen::container<HttpHeaders>(field);
}

RC_GTEST_PROP(ClientHintsProperty, ReadHttpHintsStaysWithinMaxDelay, ()) {
  const HttpHeaders h = *headers();
  const Micros max_delay = *rc::gen::inRange<Micros>(0, 7 * kMicrosPerDay);
  const HttpHints hints = read_http_hints(h, kNow, max_delay);
  if (hints.retry_at) {
    RC_ASSERT(*hints.retry_at >= kNow - max_delay);
    RC_ASSERT(*hints.retry_at <= kNow + max_delay);
  }
  if (hints.reset_at) {
    RC_ASSERT(*hints.reset_at >= kNow - max_delay);
    RC_ASSERT(*hints.reset_at <= kNow + max_delay);
  }
  if (hints.policy_rate) {
    RC_ASSERT(*hints.policy_rate > 0);
    RC_ASSERT(std::isfinite(*hints.policy_rate));
  }
  RC_ASSERT(hints.malformed + hints.out_of_range <= h.size());
}

RC_GTEST_PROP(ClientHintsProperty, OnResponseNeverThrowsAndKeepsItsBounds, ()) {
  auto clock = std::make_shared<ManualClock>(kNow);
  auto sleeper = std::make_shared<ManualSleeper>(*clock);
  AdaptiveClientOptions options{.initial_rate = 10, .min_rate = 0.5, .max_rate = 50};
  options.max_hint = kMicrosPerHour;
  AdaptiveClient client(options, clock, sleeper);
  const auto responses = *rc::gen::container<std::vector<std::pair<int, HttpHeaders>>>(
      rc::gen::pair(rc::gen::oneOf(rc::gen::element(200, 204, 301, 404, 429, 500, 503),
                                   rc::gen::arbitrary<int>()),
                    headers()));
  for (const auto& [status, fields] : responses) {
    client.on_response(status, fields);  // noexcept: a throw would terminate
    RC_ASSERT(client.rate() >= options.min_rate);
    RC_ASSERT(client.rate() <= options.max_rate);
    RC_ASSERT(client.paused_until() <= clock->now() + options.max_hint);
    clock->advance(*rc::gen::inRange<Micros>(0, kMicrosPerMinute));
  }
  const AdaptiveClientStats s = client.stats();
  RC_ASSERT(s.responses == responses.size());
  RC_ASSERT(s.successes + s.throttled <= s.responses);
}

}  // namespace
}  // namespace ratelimit
