// SLA compliance and credits (rules in sla.hpp).
#include "ratelimit/planning/sla.hpp"

#include <cmath>
#include <sstream>

#include "ratelimit/planning/capacity.hpp"

namespace ratelimit::planning {
namespace {

std::string text(double v) {
  std::ostringstream out;
  out << v;
  return out.str();
}

void check_percent(double v, const std::string& field) {
  if (!std::isfinite(v) || v < 0 || v > 100) {
    throw InputError(field + " must be a percentage 0..100, not " + text(v));
  }
}

// Per-tier figure if there is one, else the one for every tier.
std::optional<double> pick(const MeasuredSet& m, const std::string& tier,
                           std::optional<double> Measured::*field) {
  if (const auto it = m.by_tier.find(tier); it != m.by_tier.end() && (it->second.*field)) {
    return it->second.*field;
  }
  return m.all.*field;
}

double required(const std::optional<double>& v, const std::string& tier, const std::string& what,
                const std::string& how) {
  if (!v) {
    throw InputError("no measured " + what + " for tier '" + tier + "' (give " + how +
                     ", or put it in the --measured JSON file)");
  }
  return *v;
}

}  // namespace

void MeasuredSet::complete_from(const MeasuredSet& other) {
  const auto fill = [](Measured& to, const Measured& from) {
    if (!to.availability_percent) to.availability_percent = from.availability_percent;
    if (!to.response_ms) to.response_ms = from.response_ms;
    if (!to.accuracy_percent) to.accuracy_percent = from.accuracy_percent;
  };
  fill(all, other.all);
  for (const auto& [tier, figures] : other.by_tier) fill(by_tier[tier], figures);
}

SlaReport evaluate_sla(const SlaDefinition& sla, const MeasuredSet& measured) {
  if (sla.tiers.empty()) throw InputError("the SLA defines no tiers");
  for (const auto& [tier, m] : measured.by_tier) {
    bool known = false;
    for (const auto& t : sla.tiers) known = known || t.tier == tier;
    if (!known)
      throw InputError("measured figures name tier '" + tier + "', which the SLA does not define");
  }
  SlaReport report;
  for (const auto& t : sla.tiers) {
    SlaTierResult r;
    r.tier = t.tier;
    r.monthly_fee = t.monthly_fee;
    std::optional<double> availability;
    if (t.availability_percent) {
      const double v = required(pick(measured, t.tier, &Measured::availability_percent), t.tier,
                                "availability", "--availability PERCENT");
      check_percent(v, "measured availability");
      availability = v;
      const bool met = v >= *t.availability_percent;
      r.items.push_back({"availability", "%", *t.availability_percent, v, met,
                         met ? 0.0 : *t.availability_percent - v});
    }
    if (t.max_response_ms) {
      const double v = required(pick(measured, t.tier, &Measured::response_ms), t.tier,
                                "response time", "--response-ms MS");
      if (!std::isfinite(v) || v < 0)
        throw InputError("measured response time must be 0 ms or more, not " + text(v));
      const bool met = v <= *t.max_response_ms;
      r.items.push_back(
          {"response_time", "ms", *t.max_response_ms, v, met, met ? 0.0 : v - *t.max_response_ms});
    }
    if (t.accuracy_percent) {
      const double v = required(pick(measured, t.tier, &Measured::accuracy_percent), t.tier,
                                "rate-limit accuracy", "--accuracy PERCENT");
      check_percent(v, "measured accuracy");
      const bool met = v >= *t.accuracy_percent;
      r.items.push_back(
          {"accuracy", "%", *t.accuracy_percent, v, met, met ? 0.0 : *t.accuracy_percent - v});
    }
    for (const auto& item : r.items) r.met = r.met && item.met;
    if (availability) {
      for (const auto& step : t.credits) {
        if (*availability < step.below_percent) {
          r.credit_percent = std::max(r.credit_percent, step.credit_percent);
        }
      }
    }
    r.credit = r.monthly_fee * r.credit_percent / 100.0;
    report.met = report.met && r.met;
    report.total_credit += r.credit;
    report.tiers.push_back(std::move(r));
  }
  return report;
}

}  // namespace ratelimit::planning
