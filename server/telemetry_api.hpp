#pragma once
// The analytics routes (spec/http-api.md, "Observability"): GET /v1/stats,
// GET /v1/alerts, GET /v1/events (Server-Sent Events) and the dashboard's
// embedded files under GET /dashboard.

#include <boost/json.hpp>
#include <functional>
#include <string_view>

#include "exchange.hpp"
#include "ratelimit/telemetry/alerts.hpp"
#include "ratelimit/telemetry/analytics.hpp"
#include "ratelimit/time.hpp"

namespace ratelimitd {

/// What the routes read. Thread-safe as its parts are.
struct TelemetryContext {
  const ratelimit::telemetry::Analytics& analytics;
  const ratelimit::telemetry::AlertRules& rules;
  const ratelimit::Clock& clock;
  /// What GET /readyz reports (status, store, breaker, config).
  std::function<boost::json::object()> readiness;
};

/// /v1/stats, /v1/alerts, /v1/events, /dashboard and /dashboard/<file>.
[[nodiscard]] bool is_telemetry_path(std::string_view path) noexcept;

/// Answers a telemetry path: GET (or HEAD) only, else 405; `query` is the
/// target's part after '?'. A bad `range` is 400 naming it.
[[nodiscard]] HttpReply handle_telemetry(const HttpRequest& request, std::string_view path,
                                         std::string_view query, const TelemetryContext& context);

/// The JSON of /v1/stats.
[[nodiscard]] boost::json::object stats_json(const ratelimit::telemetry::Stats& stats,
                                             ratelimit::telemetry::Range range);
/// The JSON of /v1/alerts' `alerts`.
[[nodiscard]] boost::json::array alerts_json(
    const std::vector<ratelimit::telemetry::Alert>& alerts);

}  // namespace ratelimitd
