// Tier planning: limits per tier x endpoint type, expected load, and the
// policy config that enforces them (formulas in tiers.hpp).
#include "ratelimit/planning/tiers.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <set>
#include <sstream>

#include "ratelimit/planning/capacity.hpp"

namespace ratelimit::planning {
namespace {

constexpr double kSecondsPerHour = 3600.0;
constexpr double kSecondsPerMonth = 30.0 * 24 * kSecondsPerHour;
constexpr std::int64_t kMaxBurst = std::int64_t{1} << 40;
constexpr double kMaxCount = 1e15;

std::string text(double v) {
  std::ostringstream out;
  out << v;
  return out.str();
}

// A rate count as the policy loader reads it: digits, maybe a decimal point.
// Never exponent notation ("1e+06" is not a count).
std::string count_text(double v) {
  char out[64];
  std::snprintf(out, sizeof out, "%.6f", v);
  std::string s = out;
  while (!s.empty() && s.back() == '0') s.pop_back();
  if (!s.empty() && s.back() == '.') s.pop_back();
  return s;
}

bool valid_name(const std::string& name) {
  if (name.empty() || name.size() > 64) return false;
  for (const char c : name) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '_' || c == '-' || c == '.';
    if (!ok) return false;
  }
  return true;
}

void check_input(const TierPlanInput& in) {
  if (in.tiers.empty()) throw InputError("no tiers given");
  if (!std::isfinite(in.peak_factor) || in.peak_factor < 1) {
    throw InputError("peak_factor must be at least 1 (peak RPS = average * peak_factor), not " +
                     text(in.peak_factor));
  }
  if (!std::isfinite(in.headroom) || in.headroom < 0) {
    throw InputError("headroom must be 0 or more (0.5 = plan 50% above peak), not " +
                     text(in.headroom));
  }
  std::set<std::string> names;
  for (const auto& t : in.tiers) {
    const std::string where = "tier '" + t.name + "'";
    if (!valid_name(t.name)) {
      throw InputError(where + ": a tier name is 1 to 64 letters, digits, '_', '-' or '.'");
    }
    if (!names.insert(t.name).second) throw InputError(where + " is given twice");
    if (!std::isfinite(t.requests_per_hour) || t.requests_per_hour <= 0 ||
        t.requests_per_hour > kMaxCount) {
      throw InputError(where + ": requests_per_hour must be above 0 and at most 1e15, not " +
                       text(t.requests_per_hour));
    }
    if (t.burst < 1 || t.burst > kMaxBurst) {
      throw InputError(where + ": burst must be 1..2^40, not " + std::to_string(t.burst));
    }
    if (!std::isfinite(t.users) || t.users < 0 || t.users > kMaxCount) {
      throw InputError(where + ": users must be 0..1e15, not " + text(t.users));
    }
    if (!std::isfinite(t.usage) || t.usage <= 0 || t.usage > 1) {
      throw InputError(where + ": usage must be above 0 and at most 1, not " + text(t.usage));
    }
  }
  if (in.endpoint_types.empty()) throw InputError("no endpoint types given");
  std::set<std::string> types;
  for (const auto& e : in.endpoint_types) {
    if (!types.insert(e.name).second) {
      throw InputError("endpoint type '" + e.name + "' is given twice");
    }
    // 1e-6..1e6: a cost of 1/multiplier must stay a sane whole number.
    if (!std::isfinite(e.multiplier) || e.multiplier < 1e-6 || e.multiplier > 1e6) {
      throw InputError("endpoint type '" + e.name +
                       "': multiplier must be 0.000001..1000000, not " + text(e.multiplier));
    }
  }
  if (!in.default_tier.empty() && names.count(in.default_tier) == 0) {
    throw InputError("default_tier '" + in.default_tier + "' is not one of the tiers");
  }
}

}  // namespace

std::vector<EndpointType> default_endpoint_types() {
  // Exact methods everywhere: the policy prefers an exact method over `*`
  // before it looks at literal segments, so `* /admin/**` would lose to
  // `POST /**`.
  return {
      {"read", 1.0, {"GET /**"}},
      {"write", 0.5, {"POST /**", "PUT /**", "PATCH /**", "DELETE /**"}},
      {"compute", 0.1, {"GET /compute/**", "POST /compute/**"}},
      {"admin",
       0.2,
       {"GET /admin/**", "POST /admin/**", "PUT /admin/**", "PATCH /admin/**", "DELETE /admin/**"}},
  };
}

TierPlan plan_tiers(const TierPlanInput& input) {
  check_input(input);
  TierPlan plan;
  plan.peak_factor = input.peak_factor;
  plan.headroom = input.headroom;
  plan.total.tier = "total";
  for (const auto& t : input.tiers) {
    for (const auto& e : input.endpoint_types) {
      TierLimit l;
      l.tier = t.name;
      l.endpoint_type = e.name;
      l.multiplier = e.multiplier;
      l.per_hour = t.requests_per_hour * e.multiplier;
      l.per_minute = l.per_hour / 60.0;
      l.per_second = l.per_hour / kSecondsPerHour;
      // A burst is whole requests; a type too expensive for even one at the
      // scaled burst still gets one, or it could never be called.
      const double scaled = std::min(std::floor(static_cast<double>(t.burst) * e.multiplier + 1e-9),
                                     static_cast<double>(kMaxBurst));
      l.burst = std::max<std::int64_t>(1, static_cast<std::int64_t>(scaled));
      plan.limits.push_back(l);
    }
    TierLoad load;
    load.tier = t.name;
    load.users = t.users;
    load.avg_rps = t.users * t.requests_per_hour * t.usage / kSecondsPerHour;
    load.peak_rps = load.avg_rps * input.peak_factor;
    load.recommended_rps = load.peak_rps * (1.0 + input.headroom);
    load.monthly_requests = load.avg_rps * kSecondsPerMonth;
    plan.total.users += load.users;
    plan.total.avg_rps += load.avg_rps;
    plan.total.peak_rps += load.peak_rps;
    plan.total.recommended_rps += load.recommended_rps;
    plan.total.monthly_requests += load.monthly_requests;
    plan.loads.push_back(load);
  }
  return plan;
}

std::string emit_policy_config(const TierPlanInput& input, const std::string& source) {
  check_input(input);
  struct Rule {
    std::string pattern;
    std::int64_t cost;
    std::string note;
  };
  std::vector<Rule> rules;
  std::set<std::string> patterns;
  std::int64_t max_cost = 1;
  std::string max_cost_type;
  for (const auto& e : input.endpoint_types) {
    if (e.multiplier > 1) {
      throw InputError("endpoint type '" + e.name + "': multiplier " + text(e.multiplier) +
                       " is above 1; a policy cost is a whole number of units per request, so "
                       "--emit-config needs multipliers in (0, 1]");
    }
    if (e.match.empty()) {
      throw InputError("endpoint type '" + e.name +
                       "' has no 'match' patterns; --emit-config needs them (e.g. match: [\"POST "
                       "/upload/**\"])");
    }
    // A tier's bucket counts cost units, one per read request; a request of
    // this type costs 1/multiplier units, so the bucket admits multiplier
    // times as many of them.
    const auto cost = static_cast<std::int64_t>(std::llround(1.0 / e.multiplier));
    std::string note =
        e.name + ": multiplier " + text(e.multiplier) + " -> cost " + std::to_string(cost);
    if (std::abs(1.0 / static_cast<double>(cost) - e.multiplier) > 1e-9) {
      note += " (costs are whole units: effective multiplier " +
              text(1.0 / static_cast<double>(cost)) + ")";
    }
    if (cost > max_cost) {
      max_cost = cost;
      max_cost_type = e.name;
    }
    for (const auto& p : e.match) {
      // Written inside double quotes: keep the YAML well-formed.
      if (p.find_first_of("\"\\\n") != std::string::npos) {
        throw InputError("endpoint pattern '" + p + "' (endpoint type '" + e.name +
                         "') may not contain quotes, backslashes or line breaks");
      }
      if (!patterns.insert(p).second) {
        throw InputError("endpoint pattern '" + p + "' is given twice (endpoint type '" + e.name +
                         "')");
      }
      rules.push_back({p, cost, note});
    }
  }
  for (const auto& t : input.tiers) {
    if (t.burst < max_cost) {
      throw InputError("tier '" + t.name + "': burst " + std::to_string(t.burst) +
                       " is below the cost of a '" + max_cost_type + "' request (" +
                       std::to_string(max_cost) +
                       "), so such requests could never be admitted; "
                       "raise burst to at least " +
                       std::to_string(max_cost));
    }
  }
  std::ostringstream out;
  out << "# Generated by `ratelimit tiers --emit-config`"
      << (source.empty() ? "" : " from " + source) << ".\n"
      << "# Each tier is one token bucket counting cost units: a read request costs 1,\n"
      << "# other endpoint types cost 1/multiplier. Check: ratelimit config check FILE\n"
      << "version: 1\n"
      << "caller: [api_key, user, ip]\n"
      << "default_tier: "
      << (input.default_tier.empty() ? input.tiers.front().name : input.default_tier)
      << "\ntiers:\n";
  for (const auto& t : input.tiers) {
    out << "  " << t.name << ":\n"
        << "    limits:\n"
        << "      - {name: hourly, rate: " << count_text(t.requests_per_hour)
        << "/h, burst: " << t.burst << "}\n";
  }
  out << "endpoints:\n";
  std::string last_note;
  for (const auto& r : rules) {
    if (r.note != last_note) out << "  # " << r.note << "\n";
    last_note = r.note;
    out << "  - {match: \"" << r.pattern << "\", cost: " << r.cost << "}\n";
  }
  return out.str();
}

}  // namespace ratelimit::planning
