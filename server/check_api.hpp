#pragma once
// POST /v1/check (spec/http-api.md): the caller names key and limit; one
// check, or a batch that is decided atomically or check by check.
//
// Three steps, so a server can gather many requests' decisions into one
// store call (Store::decide_batch): parse, decide, render.

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "exchange.hpp"
#include "metrics.hpp"
#include "ratelimit/limit_spec.hpp"
#include "ratelimit/store.hpp"
#include "ratelimit/time.hpp"

namespace ratelimitd {

/// A parsed /v1/check body, and once decided, its decisions.
struct CheckRequest {
  struct Item {
    ratelimit::LimitSpec spec;
    std::string key;
    std::int64_t cost = 1;
  };
  std::vector<Item> items;
  bool batch = false;   ///< the `{"checks": [...]}` form
  bool atomic = false;  ///< a batch decided all-or-none
  /// What to ask the store (filled by `plan`): one decision for a single
  /// check or an atomic batch, one per check otherwise.
  std::vector<ratelimit::Check> checks;
  std::vector<ratelimit::Decision> each;
  std::vector<ratelimit::BatchDecision> decisions;

  CheckRequest() = default;
  // `checks` and `decisions` point into `items` and `each`.
  CheckRequest(const CheckRequest&) = delete;
  CheckRequest& operator=(const CheckRequest&) = delete;

  /// Fills `checks`, `each` and `decisions` for the instant `now`.
  void plan(ratelimit::Micros now);
};

/// Parses a /v1/check body into `out` (empty). Throws BadField naming the
/// member for bad input (a batch is validated whole before anything is decided).
void parse_check_request(std::string_view body, CheckRequest& out);

/// The reply for a decided request: 200 with the decision(s) (a denial is a
/// decision, not an error); 400 for a request the store refused; 503 when
/// the store was unavailable. `outcome` receives what happened, for the metrics.
[[nodiscard]] HttpReply render_check(const CheckRequest& request, DecisionOutcome& outcome);

/// All three steps at once: parses `body`, decides in `store` at
/// `clock.now()` and renders the reply (400 naming the field for bad input).
[[nodiscard]] HttpReply handle_check(std::string_view body, ratelimit::Store& store,
                                     const ratelimit::Clock& clock, DecisionOutcome& outcome);

}  // namespace ratelimitd
