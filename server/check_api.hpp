#pragma once
// POST /v1/check (spec/http-api.md): the caller names key and limit; one
// check, or a batch that is decided atomically or check by check.

#include <string_view>

#include "exchange.hpp"
#include "metrics.hpp"
#include "ratelimit/store.hpp"
#include "ratelimit/time.hpp"

namespace ratelimitd {

/// Parses `body`, decides in `store` at `clock.now()` and renders the reply:
/// 200 with the decision(s) (a denial is a decision, not an error); 400
/// naming the field for bad input, with nothing decided (a batch is
/// validated whole before any check is charged); 503 when the store is
/// unavailable. `outcome` receives what happened, for the metrics.
[[nodiscard]] HttpReply handle_check(std::string_view body, ratelimit::Store& store,
                                     const ratelimit::Clock& clock, DecisionOutcome& outcome);

}  // namespace ratelimitd
