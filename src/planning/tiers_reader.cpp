// Reads a tier plan (docs/planning.md, "tiers"). Every problem is reported
// with its position; values are range-checked again by plan_tiers.
#include "ratelimit/planning/tiers.hpp"
#include "yaml_input.hpp"

namespace ratelimit::planning {
namespace {

using policy::yaml::MapReader;

constexpr double kMax = 1e15;

std::vector<EndpointType> read_endpoint_types(const YAML::Node& node,
                                              policy::yaml::Issues& issues) {
  std::vector<EndpointType> out;
  MapReader types(node, "endpoint_types", issues);
  if (!types.ok()) return out;
  const auto defaults = default_endpoint_types();
  for (auto it = node.begin(); it != node.end(); ++it) {
    if (!it->first.IsScalar()) continue;  // reported by MapReader
    EndpointType type;
    type.name = it->first.Scalar();
    types.allow(type.name);
    for (const auto& d : defaults) {
      if (d.name == type.name) type.match = d.match;
    }
    const std::string what = "endpoint type '" + type.name + "'";
    if (it->second.IsScalar()) {
      // Shorthand: `write: 0.5`.
      const auto value = types.number(type.name, 0, kMax);
      if (!value) continue;
      type.multiplier = *value;
    } else {
      MapReader m(it->second, what, issues);
      if (!m.ok()) continue;
      if (const auto v = m.number("multiplier", 0, kMax)) {
        type.multiplier = *v;
      } else if (!m.has("multiplier")) {
        m.missing("multiplier", "e.g. {multiplier: 0.5, match: [\"POST /**\"]}");
      }
      if (const YAML::Node match = m.get("match"); match.IsDefined()) {
        type.match.clear();
        if (match.IsScalar()) {
          type.match.push_back(match.Scalar());
        } else if (match.IsSequence()) {
          for (const auto& p : match) {
            if (p.IsScalar()) {
              type.match.push_back(p.Scalar());
            } else {
              issues.add(
                  p, "patterns in 'match' of " + what + " must be strings like \"GET /items/**\"");
            }
          }
        } else {
          issues.add(match, "'match' in " + what + " must be a pattern or a list of patterns");
        }
      }
      m.finish();
    }
    out.push_back(std::move(type));
  }
  types.finish();
  return out;
}

}  // namespace

TierPlanInput load_tier_plan_file(const std::string& path) {
  policy::yaml::Issues issues(path);
  const YAML::Node root = detail::load_yaml_file(path, issues);
  TierPlanInput input;
  MapReader top(root, "the tier plan", issues);
  if (!top.ok()) detail::throw_if_any(issues);
  const YAML::Node tiers = top.get("tiers");
  if (!tiers.IsDefined()) {
    top.missing("tiers", "e.g. tiers: {free: {requests_per_hour: 100, burst: 10, users: 1000}}");
  } else {
    MapReader all(tiers, "tiers", issues);
    if (all.ok()) {
      for (auto it = tiers.begin(); it != tiers.end(); ++it) {
        if (!it->first.IsScalar()) continue;
        TierSpec t;
        t.name = it->first.Scalar();
        all.allow(t.name);
        MapReader m(it->second, "tier '" + t.name + "'", issues);
        if (!m.ok()) continue;
        if (const auto v = m.number("requests_per_hour", 0, kMax)) {
          t.requests_per_hour = *v;
        } else if (!m.has("requests_per_hour")) {
          m.missing("requests_per_hour");
        }
        if (const auto v = m.integer("burst", 1, std::int64_t{1} << 40)) {
          t.burst = *v;
        } else if (!m.has("burst")) {
          m.missing("burst", "how many requests may come at once, e.g. burst: 10");
        }
        t.users = detail::non_negative(m, "users", kMax).value_or(0);
        t.usage = m.number("usage", 0, 1).value_or(1.0);
        m.finish();
        input.tiers.push_back(std::move(t));
      }
      all.finish();
    }
  }
  if (const YAML::Node types = top.get("endpoint_types"); types.IsDefined()) {
    input.endpoint_types = read_endpoint_types(types, issues);
  }
  if (const YAML::Node v = top.get("peak_factor"); v.IsDefined()) {
    if (const auto f = top.number("peak_factor", 0, kMax)) {
      if (*f < 1) {
        issues.add(v,
                   "'peak_factor' in the tier plan is " + v.Scalar() + "; it must be at least 1");
      }
      input.peak_factor = *f;
    }
  }
  if (const auto h = detail::non_negative(top, "headroom", kMax)) input.headroom = *h;
  if (const auto d = top.string("default_tier")) input.default_tier = *d;
  top.finish();
  detail::throw_if_any(issues);
  return input;
}

}  // namespace ratelimit::planning
