// Measured SLA figures from JSON: a file the user writes, or ratelimitd's
// GET /v1/stats reply.
#include <boost/json.hpp>
#include <cmath>

#include "ratelimit/planning/capacity.hpp"
#include "ratelimit/planning/sla.hpp"

namespace ratelimit::planning {
namespace {
namespace json = boost::json;

json::value parse(std::string_view text, const std::string& source) {
  boost::system::error_code ec;
  json::value v = json::parse(text, ec);
  if (ec) throw InputError(source + " is not valid JSON: " + ec.message());
  return v;
}

std::optional<double> number(const json::object& o, std::string_view key,
                             const std::string& where) {
  const auto* v = o.if_contains(key);
  if (v == nullptr || v->is_null()) return std::nullopt;
  if (!v->is_number()) throw InputError(where + "." + std::string(key) + " must be a number");
  const double d = v->to_number<double>();
  if (!std::isfinite(d) || d < 0) {
    throw InputError(where + "." + std::string(key) + " must be 0 or more");
  }
  return d;
}

Measured read_figures(const json::object& o, const std::string& where, bool allow_tiers) {
  for (const auto& [key, value] : o) {
    if (key != "availability_percent" && key != "response_ms" && key != "accuracy_percent" &&
        !(allow_tiers && key == "tiers")) {
      throw InputError(where + " has an unknown key '" + std::string(key) +
                       "' (known: availability_percent, response_ms, accuracy_percent" +
                       (allow_tiers ? ", tiers)" : ")"));
    }
  }
  return Measured{number(o, "availability_percent", where), number(o, "response_ms", where),
                  number(o, "accuracy_percent", where)};
}

}  // namespace

MeasuredSet parse_measured_json(std::string_view text, const std::string& source) {
  const json::value v = parse(text, source);
  if (!v.is_object()) throw InputError(source + " must hold a JSON object");
  MeasuredSet out;
  out.all = read_figures(v.as_object(), source, true);
  if (const auto* tiers = v.as_object().if_contains("tiers")) {
    if (!tiers->is_object())
      throw InputError(source + ".tiers must be an object of tier -> figures");
    for (const auto& [tier, figures] : tiers->as_object()) {
      const std::string where = source + ".tiers." + std::string(tier);
      if (!figures.is_object()) throw InputError(where + " must be an object");
      out.by_tier[std::string(tier)] = read_figures(figures.as_object(), where, false);
    }
  }
  return out;
}

MeasuredSet measured_from_stats_json(std::string_view text) {
  const json::value v = parse(text, "the /v1/stats reply");
  if (!v.is_object()) throw InputError("the /v1/stats reply is not a JSON object");
  const json::object& o = v.as_object();
  // The 99th-percentile decision latency: flat ("latency_p99_ms") or nested
  // ("latency": {"p99_ms": ...}), whichever the server writes.
  std::optional<double> p99;
  for (const char* key : {"latency_p99_ms", "p99_latency_ms", "p99_ms"}) {
    if (!p99) p99 = number(o, key, "/v1/stats");
  }
  if (const auto* latency = o.if_contains("latency"); !p99 && latency && latency->is_object()) {
    p99 = number(latency->as_object(), "p99_ms", "/v1/stats.latency");
    if (!p99) {
      if (const auto us = number(latency->as_object(), "p99_us", "/v1/stats.latency"))
        p99 = *us / 1000.0;
    }
  }
  if (!p99) {
    throw InputError(
        "the /v1/stats reply has no 99th-percentile latency (latency_p99_ms or latency.p99_ms): "
        "no decision measured yet, or an older server; give --response-ms");
  }
  MeasuredSet out;
  out.all.response_ms = p99;
  return out;
}

}  // namespace ratelimit::planning
