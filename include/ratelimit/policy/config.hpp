#pragma once
/// @file config.hpp
/// The policy configuration model: what `load_config` produces from YAML and
/// what PolicyEngine compiles. Every field here is named in docs/config.md.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "ratelimit/limit_spec.hpp"
#include "ratelimit/policy/cidr_set.hpp"
#include "ratelimit/policy/endpoint_table.hpp"
#include "ratelimit/policy/path_normalizer.hpp"
#include "ratelimit/time.hpp"

namespace ratelimit::policy {

/// Request attributes a limit can be keyed by. `caller` is the first present
/// of the configured caller attributes (by default api_key, then user, then ip).
enum class Attribute : std::uint8_t { ip, user, api_key, endpoint, caller };

/// Identifier types of tier assignments and of whitelist/denylist entries.
enum class IdType : std::uint8_t { user, ip, api_key };

[[nodiscard]] std::string_view to_string(Attribute a) noexcept;
[[nodiscard]] std::string_view to_string(IdType t) noexcept;
/// nullopt for an unknown name.
[[nodiscard]] std::optional<Attribute> parse_attribute(std::string_view name) noexcept;
[[nodiscard]] std::optional<IdType> parse_id_type(std::string_view name) noexcept;

/// What a limit counts: cost units (each request its cost: the endpoint's
/// cost times the tier's multiplier, or the cost the request names), or
/// requests (each request 1, whatever it costs).
enum class Counts : std::uint8_t { cost, requests };

/// One limit and whose requests it counts together.
struct LimitRule {
  /// Unique within its section (the top-level list, one tier, one endpoint).
  std::string name;
  LimitSpec spec{Algorithm::token_bucket, 1, kMicrosPerSecond};
  /// Attributes whose values make the key, in order; empty = one global key.
  std::vector<Attribute> scope;
  /// Evaluated and counted, never denies.
  bool shadow = false;
  Counts counts = Counts::cost;
};

struct Tier {
  std::string name;
  /// Every request's cost is multiplied by this, then rounded up.
  double cost_multiplier = 1.0;
  std::vector<LimitRule> limits;
};

struct EndpointRule {
  EndpointPattern pattern;
  /// Cost of one request (when the request names none).
  std::int64_t cost = 1;
  std::vector<LimitRule> limits;
};

/// A whitelist or denylist entry: an identifier or (type ip) a CIDR range.
struct ListEntry {
  IdType type = IdType::user;
  /// The identifier as configured (an api_key is hashed when compiled).
  std::string id;
  /// Set for CIDR entries (type is then ip).
  std::optional<CidrRange> range;
  std::string reason;
  std::string added_by;
  /// Unix µs when it was added (runtime entries; 0 for config entries).
  Micros added_at = 0;
  /// Unix µs; nullopt = in force until removed.
  std::optional<Micros> expires_at;
};

struct TierAssignment {
  IdType type = IdType::user;
  std::string id;
  std::string tier;
  std::optional<Micros> expires_at;
};

struct StoreConfig {
  /// "memory" or a Redis URL (see open_store).
  std::string url = "memory";
  /// How often each instance looks for tier and list changes made by others.
  Micros refresh_interval = kMicrosPerSecond;
  friend bool operator==(const StoreConfig&, const StoreConfig&) = default;
};

struct PolicyConfig {
  StoreConfig store;
  /// Global shadow mode: every limit is evaluated and counted, none denies.
  bool shadow = false;
  /// Which attributes identify the caller, in order of preference.
  std::vector<Attribute> caller{Attribute::api_key, Attribute::user, Attribute::ip};
  /// Mixed into API-key hashes (so store keys cannot be matched against a
  /// list of known keys without it).
  std::string api_key_salt;
  /// IPv6 addresses are counted per prefix of this length (a host usually
  /// owns a whole /64). 128 counts every address apart.
  int ipv6_prefix = 64;
  NormalizeOptions paths;
  std::string default_tier;
  std::vector<Tier> tiers;
  std::vector<LimitRule> limits;
  std::vector<EndpointRule> endpoints;
  std::vector<TierAssignment> tier_assignments;
  std::vector<ListEntry> whitelist;
  std::vector<ListEntry> denylist;
  /// Where the config came from (a file name), for messages.
  std::string source;
};

}  // namespace ratelimit::policy
