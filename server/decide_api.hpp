#pragma once
// POST /v1/decide (spec/http-api.md): the caller's attributes in, the
// configured policy's decision out, with the headers proxy mode would add.

#include <string_view>

#include "exchange.hpp"
#include "metrics.hpp"
#include "ratelimit/http/rate_limit_headers.hpp"
#include "ratelimit/policy/engine.hpp"

namespace ratelimitd {

/// The rate-limit headers for a policy decision made at `now`: none for a
/// whitelisted request or one no limit applied to; `X-RateLimit-Scope:
/// denylist` for a denylisted one; else the styles' headers for the
/// deciding limit.
[[nodiscard]] std::vector<ratelimit::http::Header> policy_headers(
    const ratelimit::policy::PolicyDecision& decision, const ratelimit::http::HeaderStyles& styles,
    ratelimit::Micros now);
/// policy_headers' headers handed to `sink` one at a time (no allocation):
/// proxy mode renders them straight into its response heads.
void write_policy_headers(const ratelimit::policy::PolicyDecision& decision,
                          const ratelimit::http::HeaderStyles& styles, ratelimit::Micros now,
                          ratelimit::http::HeaderSink& sink);

/// What a policy decision on `request` counts as in the metrics and
/// analytics (the /v1/decide handler and proxy mode alike). Only a denied
/// caller is named (ranking needs no more, and hashing an API key costs).
[[nodiscard]] DecisionOutcome policy_outcome(const ratelimit::policy::PolicyDecision& decision,
                                             const ratelimit::policy::Request& request,
                                             const ratelimit::policy::PolicyEngine& engine);

/// Parses `body`, decides through `engine` and renders the reply: 200 with
/// the decision; 400 naming the field for bad input (nothing is counted);
/// 503 when the store is unavailable. `outcome` receives what happened.
[[nodiscard]] HttpReply handle_decide(std::string_view body,
                                      ratelimit::policy::PolicyEngine& engine,
                                      const ratelimit::http::HeaderStyles& styles,
                                      const ratelimit::Clock& clock, DecisionOutcome& outcome);

}  // namespace ratelimitd
