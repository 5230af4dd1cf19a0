#pragma once
/// @file resilience/http_hints.hpp
/// What a rate-limited server's response says about when to call it again:
/// strict, non-throwing parsers for Retry-After and the rate-limit headers.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "ratelimit/time.hpp"

namespace ratelimit {

/// Response header fields as (name, value) pairs, in the order received.
/// Names are matched case-insensitively; values are raw (untrusted) text.
/// Independent of any HTTP library: copy the fields in.
using HttpHeaders = std::vector<std::pair<std::string, std::string>>;

/// The hints found in one response. Instants are µs since the epoch.
struct HttpHints {
  /// `Retry-After` (delta-seconds or HTTP-date) as an instant.
  std::optional<Micros> retry_at;
  /// When the server's window resets, set only when a header pair said
  /// nothing is left (`*-Remaining: 0` with its `*-Reset`, or `RateLimit`
  /// `r=0` with `t`): the latest such instant.
  std::optional<Micros> reset_at;
  /// The strictest `RateLimit-Policy` quota per window, in units per second.
  std::optional<double> policy_rate;
  /// Header fields whose value did not parse (or that were repeated with
  /// different values); ignored.
  std::uint32_t malformed = 0;
  /// Header fields that parsed but were absurd (an instant or delay more
  /// than `max_delay` away, a zero window or quota); ignored.
  std::uint32_t out_of_range = 0;
  bool operator==(const HttpHints&) const = default;
};

/// Reads Retry-After, RateLimit-Remaining/-Reset (delta seconds),
/// X-RateLimit-Remaining/-Reset and x-rate-limit-remaining/-reset (Unix epoch
/// seconds), RateLimit (`"name";r=<remaining>;t=<seconds>`) and
/// RateLimit-Policy (`<quota>;w=<seconds>` or `"name";q=<quota>;w=<seconds>`)
/// from `headers`, as of `now`. Delays and instants more than `max_delay` µs
/// from `now` are out of range. Other fields are not looked at. Never throws
/// on any input; thread-safe (pure).
[[nodiscard]] HttpHints read_http_hints(const HttpHeaders& headers, Micros now,
                                        Micros max_delay) noexcept;

/// `delta-seconds` (RFC 9110 §10.2.3: one or more digits, nothing else) in
/// seconds; nullopt when malformed or above 10^15 (no delay is that long).
[[nodiscard]] std::optional<std::int64_t> parse_delta_seconds(std::string_view text) noexcept;

/// An HTTP-date (RFC 9110 §5.6.7) as µs since the epoch: IMF-fixdate
/// (`Sun, 06 Nov 1994 08:49:37 GMT`) and the obsolete forms recipients must
/// accept, RFC 850 (`Sunday, 06-Nov-94 08:49:37 GMT`; its two-digit year is
/// the latest year not more than 50 years after `now`) and asctime
/// (`Sun Nov  6 08:49:37 1994`). Strict: exact spacing and case, a real
/// calendar date, a weekday that matches it. nullopt when malformed.
[[nodiscard]] std::optional<Micros> parse_http_date(std::string_view text, Micros now) noexcept;

}  // namespace ratelimit
