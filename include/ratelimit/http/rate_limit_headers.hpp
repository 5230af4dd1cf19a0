#pragma once
/// @file http/rate_limit_headers.hpp
/// The rate-limit response headers of spec/http-api.md ("Headers") as a pure
/// function of a decision: shared by the service, proxy mode and anyone
/// writing their own middleware.

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "ratelimit/decision.hpp"
#include "ratelimit/time.hpp"

namespace ratelimit::http {

/// Which header families to emit; several at once is fine (a family that
/// another already covers is not repeated).
struct HeaderStyles {
  /// `RateLimit-Limit`, `RateLimit-Remaining`, `RateLimit-Reset` (delta
  /// seconds), `RateLimit-Policy: <limit>;w=<window seconds>`.
  bool ietf = true;
  /// `X-RateLimit-Limit`, `-Remaining`, `-Reset` (Unix epoch seconds), `-Used`.
  bool x_ratelimit = true;
  /// As x_ratelimit, plus `X-RateLimit-Resource` (the scope).
  bool github = false;
  /// `x-rate-limit-limit`, `x-rate-limit-remaining`, `x-rate-limit-reset`
  /// (Unix epoch seconds).
  bool twitter = false;
};

/// Parses one style name ("ietf", "x-ratelimit", "github", "twitter") into
/// `styles`; false for an unknown name.
bool enable_style(HeaderStyles& styles, std::string_view name) noexcept;

/// What the headers describe: the deciding limit's decision, its window, the
/// scope's name and the instant of the decision.
struct HeaderInput {
  Decision decision;
  /// The deciding limit's definition, `window_limit` units per `window` µs
  /// (RateLimit-Policy: `<window_limit>;w=<window seconds>`). For a bucket
  /// this differs from `decision.limit`, its burst. `window` 0 leaves
  /// RateLimit-Policy out; `window_limit` 0 means `decision.limit`.
  Micros window = 0;
  std::int64_t window_limit = 0;
  /// The deciding limit's name (X-RateLimit-Scope, X-RateLimit-Resource).
  std::string_view scope;
  /// Unix µs of the decision (for the epoch-second reset headers).
  Micros now = 0;
};

using Header = std::pair<std::string, std::string>;

/// Headers for one decision, in a fixed order (ietf, x-ratelimit/github,
/// twitter, then the denial headers). Durations are whole seconds rounded
/// up, so a client that waits that long is never early. On a denial:
/// `Retry-After` (omitted only when the request can never be admitted,
/// `retry_after == kInfinite`: no wait would be true) and
/// `X-RateLimit-Scope`. Control characters in `scope` are dropped, so a
/// name can never split a header.
[[nodiscard]] std::vector<Header> rate_limit_headers(const HeaderInput& input,
                                                     const HeaderStyles& styles);

/// Receives headers one at a time: the allocation-free form of
/// rate_limit_headers, for servers that render headers straight into their
/// output. `name` and `value` are valid only during the call.
class HeaderSink {
 public:
  virtual void add(std::string_view name, std::string_view value) = 0;

 protected:
  ~HeaderSink() = default;
};

/// A HeaderSink that keeps what it is handed as a list (rate_limit_headers'
/// result).
class HeaderList final : public HeaderSink {
 public:
  void add(std::string_view name, std::string_view value) override {
    headers.emplace_back(std::string(name), std::string(value));
  }
  std::vector<Header> headers;
};

/// rate_limit_headers' headers, in the same order, handed to `sink`. Allocates
/// nothing (unless `scope` holds control characters, which are dropped).
void write_rate_limit_headers(const HeaderInput& input, const HeaderStyles& styles,
                              HeaderSink& sink);

/// µs as whole seconds, rounded up (0 stays 0; negative counts as 0).
[[nodiscard]] std::int64_t seconds_rounded_up(Micros us) noexcept;

}  // namespace ratelimit::http
