// Reads SLA definitions (docs/planning.md, "sla") with positioned errors.
#include "ratelimit/planning/sla.hpp"
#include "yaml_input.hpp"

namespace ratelimit::planning {
namespace {

using policy::yaml::MapReader;

std::vector<CreditStep> read_credits(const YAML::Node& node, const std::string& what,
                                     policy::yaml::Issues& issues) {
  std::vector<CreditStep> out;
  if (!node.IsSequence()) {
    issues.add(node, what + " must be a list like [{below: 99.9, credit: 10}]");
    return out;
  }
  for (const auto& entry : node) {
    MapReader m(entry, "a step of " + what, issues);
    if (!m.ok()) continue;
    CreditStep step;
    const auto below = m.number("below", 0, 100);
    const auto credit = detail::non_negative(m, "credit", 100);
    if (!m.has("below")) m.missing("below", "availability percent under which the credit applies");
    if (!m.has("credit")) m.missing("credit", "percent of the monthly fee");
    m.finish();
    if (below && credit) out.push_back({*below, *credit});
  }
  return out;
}

}  // namespace

SlaDefinition load_sla_file(const std::string& path) {
  policy::yaml::Issues issues(path);
  const YAML::Node root = detail::load_yaml_file(path, issues);
  SlaDefinition sla;
  MapReader top(root, "the SLA file", issues);
  if (!top.ok()) detail::throw_if_any(issues);
  std::vector<CreditStep> default_credits;
  if (const YAML::Node c = top.get("credits"); c.IsDefined()) {
    default_credits = read_credits(c, "credits", issues);
  }
  const YAML::Node tiers = top.get("tiers");
  if (!tiers.IsDefined()) {
    top.missing("tiers", "e.g. tiers: {premium: {availability: 99.9, max_response_ms: 200}}");
  } else {
    MapReader all(tiers, "tiers", issues);
    if (all.ok()) {
      for (auto it = tiers.begin(); it != tiers.end(); ++it) {
        if (!it->first.IsScalar()) continue;
        SlaTarget t;
        t.tier = it->first.Scalar();
        all.allow(t.tier);
        const std::string what = "SLA tier '" + t.tier + "'";
        MapReader m(it->second, what, issues);
        if (!m.ok()) continue;
        t.monthly_fee = detail::non_negative(m, "monthly_fee", 1e15).value_or(0);
        t.availability_percent = m.number("availability", 0, 100);
        t.max_response_ms = m.number("max_response_ms", 0, 1e9);
        t.accuracy_percent = m.number("accuracy", 0, 100);
        const YAML::Node own = m.get("credits");
        if (own.IsDefined()) {
          t.credits = read_credits(own, "credits of " + what, issues);
        } else if (m.has("availability")) {
          // The default schedule applies where there is an availability target.
          t.credits = default_credits;
        }
        if (!m.has("availability") && !m.has("max_response_ms") && !m.has("accuracy")) {
          issues.add(it->second, what + " has no target",
                     "give availability, max_response_ms or accuracy");
        } else if (own.IsDefined() && !m.has("availability")) {
          issues.add(it->second, what + " has credits but no 'availability' target",
                     "credits are owed on measured availability");
        }
        m.finish();
        sla.tiers.push_back(std::move(t));
      }
      all.finish();
    }
  }
  top.finish();
  detail::throw_if_any(issues);
  return sla;
}

}  // namespace ratelimit::planning
