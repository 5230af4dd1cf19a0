// The `service:` section of a config file: ratelimitd's own settings
// (response headers, admin API, audit log, alert thresholds).
#include "policy/section_readers.hpp"
#include "policy/yaml_reader.hpp"
#include "ratelimit/http/rate_limit_headers.hpp"
#include "ratelimit/policy/config.hpp"

namespace ratelimit::policy::yaml {

namespace {

std::string q(std::string_view s) { return "'" + std::string(s) + "'"; }

void read_alerts(MapReader& service, telemetry::AlertRules& alerts) {
  const YAML::Node node = service.get("alerts");
  if (!node.IsDefined()) return;
  MapReader map(node, "'service.alerts'", service.issues());
  if (!map.ok()) return;
  if (const auto d = map.duration("window")) {
    if (*d % (60 * kMicrosPerSecond) != 0 || *d > 24 * 60 * 60 * kMicrosPerSecond) {
      map.issues().add(map.get("window"), "'window' in 'service.alerts' must be whole minutes, "
                                          "at most 24h",
                       "e.g. window: 5m");
    } else {
      alerts.window_minutes = static_cast<int>(*d / (60 * kMicrosPerSecond));
    }
  }
  if (const auto n = map.integer("min_volume", 0, std::int64_t{1} << 40)) {
    alerts.min_volume = static_cast<std::uint64_t>(*n);
  }
  if (const auto r = map.number("block_rate_warning", 0.0, 1.0)) alerts.block_rate_warning = *r;
  if (const auto r = map.number("block_rate_critical", 0.0, 1.0)) alerts.block_rate_critical = *r;
  if (alerts.block_rate_critical < alerts.block_rate_warning) {
    map.issues().add(node, "'block_rate_critical' is below 'block_rate_warning' in 'service.alerts'");
  }
  if (const auto v = map.number("volume_high_per_minute", 0.0, 1e15)) alerts.volume_high_per_minute = *v;
  if (const auto v = map.number("volume_low_per_minute", 0.0, 1e15)) alerts.volume_low_per_minute = *v;
  if (const auto v = map.number("p99_latency_ms", 0.0, 1e9)) alerts.p99_latency_ms = *v;
  map.finish();
}

}  // namespace

void read_service(MapReader& top, PolicyConfig& config) {
  const YAML::Node node = top.get("service");
  if (!node.IsDefined()) return;
  MapReader map(node, "'service'", top.issues());
  if (!map.ok()) return;
  ServiceConfig& service = config.service;
  if (const YAML::Node headers = map.get("headers"); headers.IsDefined()) {
    if (!headers.IsSequence() || headers.size() == 0) {
      map.issues().add(headers, "'headers' in 'service' must be a list of header styles",
                       "e.g. headers: [ietf, x-ratelimit]");
    } else {
      for (const auto& item : headers) {
        http::HeaderStyles probe{.ietf = false, .x_ratelimit = false};
        if (!item.IsScalar() || !http::enable_style(probe, item.Scalar())) {
          map.issues().add(item, "unknown header style " + q(item.IsScalar() ? item.Scalar() : "?"),
                           "use ietf, x-ratelimit, github or twitter");
        } else {
          service.headers.push_back(item.Scalar());
        }
      }
    }
  }
  if (const auto env = map.string("admin_token_env")) service.admin_token_env = *env;
  if (const auto token = map.string("admin_token")) {
    if (token->size() < 16) {
      map.issues().add(map.get("admin_token"), "'admin_token' is shorter than 16 characters",
                       "use a long random token, or admin_token_env");
    } else {
      service.admin_token = *token;
    }
  }
  if (const auto log = map.string("audit_log")) service.audit_log = *log;
  read_alerts(map, service.alerts);
  map.finish();
}

}  // namespace ratelimit::policy::yaml
