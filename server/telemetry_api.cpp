#include "telemetry_api.hpp"

#include <algorithm>
#include <ctime>
#include <string>

#include "dashboard_assets.hpp"
#include "problem.hpp"

namespace ratelimitd {

namespace json = boost::json;
using ratelimit::Micros;
using ratelimit::telemetry::Range;

namespace {

// The value of `name` in a query string (no percent-decoding: the values
// this API takes are plain words); nullopt when absent.
std::optional<std::string_view> query_value(std::string_view query, std::string_view name) {
  while (!query.empty()) {
    const auto amp = query.find('&');
    const std::string_view pair = query.substr(0, amp);
    const auto eq = pair.find('=');
    if (pair.substr(0, eq) == name)
      return eq == std::string_view::npos ? std::string_view() : pair.substr(eq + 1);
    if (amp == std::string_view::npos) break;
    query.remove_prefix(amp + 1);
  }
  return std::nullopt;
}

// RFC 3339, UTC, seconds.
std::string rfc3339(Micros at) {
  const std::time_t seconds = static_cast<std::time_t>(at / ratelimit::kMicrosPerSecond);
  std::tm utc{};
  gmtime_r(&seconds, &utc);
  char text[32];
  std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%SZ", &utc);
  return text;
}

json::object counts_json(
    const std::map<std::string, ratelimit::telemetry::Counts, std::less<>>& by) {
  json::object out;
  for (const auto& [name, c] : by) out[name] = {{"allowed", c.allowed}, {"blocked", c.blocked}};
  return out;
}

HttpReply reply_of(json::object body) {
  HttpReply reply;
  reply.body = json::serialize(body);
  reply.headers.emplace_back("Cache-Control", "no-store");
  return reply;
}

json::object alerts_body(const TelemetryContext& c, Micros now) {
  const auto recent = c.analytics.stats_minutes(c.rules.window_minutes, now);
  json::object rules{{"window_minutes", c.rules.window_minutes},
                     {"min_volume", c.rules.min_volume},
                     {"block_rate_warning", c.rules.block_rate_warning},
                     {"block_rate_critical", c.rules.block_rate_critical},
                     {"p99_latency_ms", c.rules.p99_latency_ms}};
  rules["volume_high_per_minute"] = c.rules.volume_high_per_minute
                                        ? json::value(*c.rules.volume_high_per_minute)
                                        : json::value(nullptr);
  rules["volume_low_per_minute"] = c.rules.volume_low_per_minute
                                       ? json::value(*c.rules.volume_low_per_minute)
                                       : json::value(nullptr);
  return {{"evaluated_at", rfc3339(now)},
          {"alerts", alerts_json(ratelimit::telemetry::evaluate_alerts(recent, c.rules))},
          {"rules", std::move(rules)}};
}

// One Server-Sent Events message: the window's stats, the alerts and the
// readiness, as the dashboard renders them.
std::string snapshot_event(const TelemetryContext& c, Range range) {
  const Micros now = c.clock.now();
  json::object alerts = alerts_body(c, now);
  const json::object snapshot{{"at", now},
                              {"stats", stats_json(c.analytics.stats(range, now), range)},
                              {"alerts", std::move(alerts["alerts"])},
                              {"ready", c.readiness()}};
  return "event: snapshot\ndata: " + json::serialize(snapshot) + "\n\n";
}

std::optional<Range> range_of(std::string_view query, HttpReply& error) {
  const auto text = query_value(query, "range");
  if (!text) return Range::hour;
  const auto range = ratelimit::telemetry::parse_range(*text);
  if (!range) {
    error = problem(400,
                    "'range' must be 1h, 24h or 7d, not '" + std::string(text->substr(0, 32)) + "'",
                    "range");
  }
  return range;
}

}  // namespace

bool is_telemetry_path(std::string_view path) noexcept {
  return path == "/v1/stats" || path == "/v1/alerts" || path == "/v1/events" ||
         path == "/dashboard" || path == "/dashboard/" || path.starts_with("/dashboard/");
}

json::object stats_json(const ratelimit::telemetry::Stats& s, Range range) {
  json::array top;
  for (const auto& t : s.top_limited)
    top.push_back({{"identifier", t.identifier}, {"blocked", t.blocked}, {"error", t.error}});
  json::array points;
  for (const auto& p : s.series)
    points.push_back({{"start", p.start}, {"allowed", p.allowed}, {"blocked", p.blocked}});
  json::object latency{{"samples", s.latency_samples}};
  latency["p99_ms"] = s.p99_latency ? json::value(static_cast<double>(*s.p99_latency) / 1000.0)
                                    : json::value(nullptr);
  return {{"range", ratelimit::telemetry::to_string(range)},
          {"from", rfc3339(s.from)},
          {"to", rfc3339(s.to)},
          {"total", s.total()},
          {"allowed", s.allowed},
          {"blocked", s.blocked},
          {"block_rate", s.block_rate()},
          {"admitted_cost", s.admitted_cost},
          {"by_scope", counts_json(s.by_scope)},
          {"by_tier", counts_json(s.by_tier)},
          {"by_endpoint", counts_json(s.by_endpoint)},
          {"top_limited", std::move(top)},
          {"top_limited_error_bound", s.top_limited_error_bound},
          {"series",
           {{"step_seconds", s.series_step / ratelimit::kMicrosPerSecond},
            {"points", std::move(points)}}},
          {"latency", std::move(latency)},
          {"lifetime", {{"allowed", s.lifetime_allowed}, {"blocked", s.lifetime_blocked}}}};
}

json::array alerts_json(const std::vector<ratelimit::telemetry::Alert>& alerts) {
  json::array out;
  for (const auto& a : alerts) {
    out.push_back({{"name", a.name},
                   {"severity", a.severity},
                   {"value", a.value},
                   {"threshold", a.threshold},
                   {"since", rfc3339(a.since)},
                   {"since_us", a.since},
                   {"message", a.message}});
  }
  return out;
}

HttpReply handle_telemetry(const HttpRequest& request, std::string_view path,
                           std::string_view query, const TelemetryContext& context) {
  if (request.method != "GET" && request.method != "HEAD") {
    HttpReply reply = problem(405, std::string(path) + " accepts GET only");
    reply.headers.emplace_back("Allow", "GET");
    return reply;
  }
  HttpReply error;
  if (path == "/v1/stats") {
    const auto range = range_of(query, error);
    if (!range) return error;
    return reply_of(stats_json(context.analytics.stats(*range, context.clock.now()), *range));
  }
  if (path == "/v1/alerts") return reply_of(alerts_body(context, context.clock.now()));
  if (path == "/v1/events") {
    const auto range = range_of(query, error);
    if (!range) return error;
    HttpReply reply;
    reply.content_type = "text/event-stream";
    // Reconnect after 2 s if the connection drops; the first snapshot at once.
    reply.body = "retry: 2000\n\n";
    reply.stream = [&context, r = *range] { return snapshot_event(context, r); };
    return reply;
  }
  const std::string_view wanted = path == "/dashboard/" ? "/dashboard" : path;
  for (const auto& asset : dashboard_assets()) {
    if (asset.path != wanted) continue;
    HttpReply reply;
    reply.content_type = std::string(asset.content_type);
    reply.body = std::string(asset.body);
    reply.headers.emplace_back("Cache-Control", "no-cache");
    return reply;
  }
  return problem(404, "no such dashboard file: " + std::string(path));
}

}  // namespace ratelimitd
