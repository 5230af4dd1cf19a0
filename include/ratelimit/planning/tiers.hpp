#pragma once
/// @file tiers.hpp
/// Tier planning (`ratelimit tiers`): per-tier limits for each endpoint type,
/// expected load, and a policy config that enforces them. Pure functions;
/// thread-safe. Formulas are in docs/planning.md ("tiers").

#include <cstdint>
#include <string>
#include <vector>

namespace ratelimit::planning {

/// A business tier: its allowance (in read requests) and who is on it.
struct TierSpec {
  std::string name;
  double requests_per_hour = 0;  ///< > 0, in read-request units
  std::int64_t burst = 0;        ///< >= 1: requests allowed at once
  double users = 0;              ///< expected users on the tier (>= 0)
  /// Fraction of its allowance an average user uses (0..1]; 1 = every user
  /// uses all of it, the worst case.
  double usage = 1.0;
};

/// A kind of endpoint and how much of a tier's allowance it gets: write 0.5
/// means half as many write requests as read requests.
struct EndpointType {
  std::string name;
  double multiplier = 1.0;         ///< (0, 1] for --emit-config; > 0 otherwise
  std::vector<std::string> match;  ///< endpoint patterns for the emitted config
};

/// read 1.0 (GET /**), write 0.5 (POST/PUT/PATCH/DELETE /**), compute 0.1
/// (GET/POST /compute/**), admin 0.2 (any method on /admin/**).
[[nodiscard]] std::vector<EndpointType> default_endpoint_types();

struct TierPlanInput {
  std::vector<TierSpec> tiers;
  std::vector<EndpointType> endpoint_types = default_endpoint_types();
  double peak_factor = 3.0;  ///< peak RPS = average RPS * this (>= 1)
  double headroom = 0.5;     ///< recommended capacity = peak * (1 + headroom) (>= 0)
  std::string default_tier;  ///< for the emitted config; empty = the first tier
};

/// One tier's limits for one endpoint type.
struct TierLimit {
  std::string tier;
  std::string endpoint_type;
  double multiplier = 0;
  double per_hour = 0;     ///< requests_per_hour * multiplier
  double per_minute = 0;   ///< per_hour / 60
  double per_second = 0;   ///< per_hour / 3600
  std::int64_t burst = 0;  ///< floor(burst * multiplier), at least 1
};

/// One tier's expected load.
struct TierLoad {
  std::string tier;
  double users = 0;
  double avg_rps = 0;           ///< users * requests_per_hour * usage / 3600
  double peak_rps = 0;          ///< avg_rps * peak_factor
  double recommended_rps = 0;   ///< peak_rps * (1 + headroom)
  double monthly_requests = 0;  ///< avg_rps * 30 days (2,592,000 s)
};

struct TierPlan {
  std::vector<TierLimit> limits;  ///< tier-major, in input order
  std::vector<TierLoad> loads;    ///< in input order
  TierLoad total;                 ///< sums over tiers; tier = "total"
  double peak_factor = 0;
  double headroom = 0;
};

/// Throws InputError naming the bad field.
[[nodiscard]] TierPlan plan_tiers(const TierPlanInput& input);

/// Reads tiers, endpoint_types, peak_factor, headroom, default_tier from a
/// YAML file (docs/planning.md). Throws policy::ConfigError with positions.
[[nodiscard]] TierPlanInput load_tier_plan_file(const std::string& path);

/// A policy config (docs/config.md) enforcing the tiers: one token bucket
/// per tier ("hourly": requests_per_hour/h, burst), and one endpoint rule per
/// pattern with cost round(1 / multiplier), so a tier's bucket admits
/// `multiplier` times as many of those requests. Throws InputError when a
/// multiplier is above 1, a type has no patterns, or a burst is below a cost
/// (such requests could never be admitted).
[[nodiscard]] std::string emit_policy_config(const TierPlanInput& input,
                                             const std::string& source = "");

}  // namespace ratelimit::planning
