#pragma once
// A decision as the HTTP API's JSON (spec/http-api.md): durations in whole
// milliseconds rounded up, `retry_after_ms: null` when never admissible.

#include <boost/json.hpp>
#include <cstdint>

#include "exchange.hpp"
#include "ratelimit/decision.hpp"

namespace ratelimitd {

/// µs as whole ms, rounded up (negative counts as 0).
[[nodiscard]] std::int64_t ms_rounded_up(ratelimit::Micros us) noexcept;

/// `{"allowed", "limit", "remaining", "reset_after_ms", "retry_after_ms"}`,
/// plus `reason: "cost_exceeds_limit"`, `delay_ms` (shaping) and
/// `degraded` when they apply.
[[nodiscard]] boost::json::object decision_json(const ratelimit::Decision& d);

/// 200 with `body` serialized.
[[nodiscard]] HttpReply json_reply(const boost::json::object& body);

}  // namespace ratelimitd
