// `ratelimit tiers`: per-tier limits by endpoint type, expected load, and
// an emitted policy config (src/planning/tiers.cpp).
#include <boost/json.hpp>
#include <charconv>
#include <cmath>
#include <fstream>
#include <iostream>

#include "commands.hpp"
#include "ratelimit/planning/capacity.hpp"
#include "ratelimit/planning/text_table.hpp"
#include "ratelimit/planning/tiers.hpp"

namespace ratelimit::cli {
namespace json = boost::json;

namespace {

double number_in(const std::string& text, const std::string& flag, const std::string& part) {
  double v = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc{} || end != text.data() + text.size()) {
    throw planning::InputError(flag + ": " + part + " must be a number, not '" + text + "'");
  }
  return v;
}

std::vector<std::string> split(const std::string& text, char separator) {
  std::vector<std::string> parts;
  std::size_t start = 0;
  for (std::size_t i = 0; i <= text.size(); ++i) {
    if (i == text.size() || text[i] == separator) {
      parts.push_back(text.substr(start, i - start));
      start = i + 1;
    }
  }
  return parts;
}

// --tier NAME:REQUESTS_PER_HOUR:BURST[:USERS[:USAGE]]
planning::TierSpec parse_tier_flag(const std::string& text) {
  const std::string flag = "--tier '" + text + "'";
  const auto parts = split(text, ':');
  if (parts.size() < 3 || parts.size() > 5) {
    throw planning::InputError(
        flag + " must be NAME:REQUESTS_PER_HOUR:BURST[:USERS[:USAGE]] (e.g. free:100:10:1000)");
  }
  planning::TierSpec t;
  t.name = parts[0];
  t.requests_per_hour = number_in(parts[1], flag, "requests per hour");
  const double burst = number_in(parts[2], flag, "burst");
  // Range first: converting a double beyond int64 is undefined behaviour.
  if (!(burst >= 0 && burst <= 1099511627776.0)) {
    throw planning::InputError(flag + ": burst must be 1..2^40");
  }
  if (burst != std::floor(burst)) {
    throw planning::InputError(flag + ": burst must be a whole number of requests");
  }
  t.burst = static_cast<std::int64_t>(burst);
  if (parts.size() > 3) t.users = number_in(parts[3], flag, "users");
  if (parts.size() > 4) t.usage = number_in(parts[4], flag, "usage");
  return t;
}

// --endpoint-type NAME=MULTIPLIER; a default type keeps its patterns.
planning::EndpointType parse_type_flag(const std::string& text) {
  const std::string flag = "--endpoint-type '" + text + "'";
  const auto parts = split(text, '=');
  if (parts.size() != 2 || parts[0].empty()) {
    throw planning::InputError(flag + " must be NAME=MULTIPLIER (e.g. write=0.5)");
  }
  planning::EndpointType e;
  e.name = parts[0];
  e.multiplier = number_in(parts[1], flag, "multiplier");
  for (const auto& d : planning::default_endpoint_types()) {
    if (d.name == e.name) e.match = d.match;
  }
  return e;
}

std::string limit_text(double v) {
  // Whole numbers print whole; fractions keep what matters.
  return planning::format_number(v, v == std::floor(v) ? 0 : 3);
}

void print_table(const planning::TierPlan& plan) {
  using planning::format_number;
  planning::TextTable limits(
      {"tier", "endpoint", "multiplier", "per second", "per minute", "per hour", "burst"},
      {false, false, true, true, true, true, true});
  for (const auto& l : plan.limits) {
    limits.add_row({l.tier, l.endpoint_type, format_number(l.multiplier, 2),
                    format_number(l.per_second, 4), limit_text(l.per_minute),
                    limit_text(l.per_hour), format_number(static_cast<double>(l.burst), 0)});
  }
  limits.print(std::cout);
  std::cout << "\nExpected load (peak = average x " << format_number(plan.peak_factor, 2)
            << ", recommended = peak x " << format_number(1 + plan.headroom, 2) << "):\n\n";
  planning::TextTable load(
      {"tier", "users", "avg RPS", "peak RPS", "recommended RPS", "requests/month"},
      {false, true, true, true, true, true});
  auto row = [&](const planning::TierLoad& t) {
    load.add_row({t.tier, format_number(t.users, 0), format_number(t.avg_rps, 2),
                  format_number(t.peak_rps, 2), format_number(t.recommended_rps, 2),
                  format_number(t.monthly_requests, 0)});
  };
  for (const auto& t : plan.loads) row(t);
  row(plan.total);
  load.print(std::cout);
}

json::object load_json(const planning::TierLoad& t) {
  return json::object{{"tier", t.tier},
                      {"users", t.users},
                      {"avg_rps", t.avg_rps},
                      {"peak_rps", t.peak_rps},
                      {"recommended_rps", t.recommended_rps},
                      {"monthly_requests", t.monthly_requests}};
}

json::object to_json(const planning::TierPlan& plan) {
  json::array limits, loads;
  for (const auto& l : plan.limits) {
    limits.push_back(json::object{{"tier", l.tier},
                                  {"endpoint_type", l.endpoint_type},
                                  {"multiplier", l.multiplier},
                                  {"per_second", l.per_second},
                                  {"per_minute", l.per_minute},
                                  {"per_hour", l.per_hour},
                                  {"burst", l.burst}});
  }
  for (const auto& t : plan.loads) loads.push_back(load_json(t));
  return json::object{{"peak_factor", plan.peak_factor},
                      {"headroom", plan.headroom},
                      {"limits", std::move(limits)},
                      {"load", std::move(loads)},
                      {"total", load_json(plan.total)}};
}

}  // namespace

int run_tiers(const TiersOptions& o) {
  planning::TierPlanInput input;
  if (!o.file.empty()) input = planning::load_tier_plan_file(o.file);
  if (!o.tiers.empty()) {
    input.tiers.clear();
    for (const auto& t : o.tiers) input.tiers.push_back(parse_tier_flag(t));
  }
  if (!o.endpoint_types.empty()) {
    input.endpoint_types.clear();
    for (const auto& e : o.endpoint_types) input.endpoint_types.push_back(parse_type_flag(e));
  }
  if (o.tiers.empty() && o.file.empty()) {
    throw planning::InputError(
        "no tiers: give a plan file or --tier NAME:REQUESTS_PER_HOUR:BURST[:USERS]");
  }
  if (o.peak_factor) input.peak_factor = *o.peak_factor;
  if (o.headroom) input.headroom = *o.headroom;
  const auto plan = planning::plan_tiers(input);
  if (!o.emit_config.empty()) {
    const std::string config =
        planning::emit_policy_config(input, o.file.empty() ? "flags" : o.file);
    std::ofstream out(o.emit_config, std::ios::binary | std::ios::trunc);
    out << config;
    out.close();
    if (!out) throw planning::InputError("cannot write " + o.emit_config);
  }
  if (o.json) {
    auto j = to_json(plan);
    if (!o.emit_config.empty()) j["config_written"] = o.emit_config;
    std::cout << json::serialize(j) << '\n';
  } else {
    print_table(plan);
    if (!o.emit_config.empty()) {
      std::cout << "\nPolicy config written to " << o.emit_config
                << " (check: ratelimit config check " << o.emit_config << ")\n";
    }
  }
  return 0;
}

}  // namespace ratelimit::cli
