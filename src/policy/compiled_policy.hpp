#pragma once
/// @file compiled_policy.hpp
/// A PolicyConfig made ready for the request path: lookups by name, store key
/// prefixes precomputed, lists as hash maps and range sets. Immutable.

#include <array>
#include <memory>
#include <string>
#include <vector>

#include "ratelimit/policy/config.hpp"
#include "ratelimit/policy/directory.hpp"
#include "ratelimit/policy/identifier_hash.hpp"

namespace ratelimit::policy {

struct CompiledLimit {
  const LimitRule* rule = nullptr;
  /// "<section>/<name>/<fingerprint>|": the fingerprint covers the algorithm,
  /// numbers and scope, so a limit whose definition changes starts from new
  /// keys after a reload while unchanged ones keep their usage.
  std::string key_prefix;
};

struct CompiledTier {
  const Tier* tier = nullptr;
  std::vector<CompiledLimit> limits;
};

struct CompiledEndpoint {
  const EndpointRule* rule = nullptr;
  std::vector<CompiledLimit> limits;
};

struct CompiledPolicy {
  explicit CompiledPolicy(PolicyConfig config);

  std::shared_ptr<const PolicyConfig> config;
  PathNormalizer normalizer;
  EndpointTable endpoint_table;
  IdentifierHasher hasher;
  std::vector<CompiledLimit> limits;
  std::vector<CompiledTier> tiers;
  StringMap<std::size_t> tier_index;
  /// Index into `tiers`; npos when there are none.
  std::size_t default_tier = std::string::npos;
  std::vector<CompiledEndpoint> endpoints;
  /// Config-file lists and assignments, by IdType, ids in stored form.
  std::array<StringMap<const ListEntry*>, 3> whitelist;
  std::array<StringMap<const ListEntry*>, 3> denylist;
  CidrSet whitelist_ranges;
  CidrSet denylist_ranges;
  std::vector<const ListEntry*> whitelist_range_entries;
  std::vector<const ListEntry*> denylist_range_entries;
  std::array<StringMap<const TierAssignment*>, 3> assignments;
  /// The most checks one request can have (bounded by Store::kMaxChecks).
  std::size_t max_checks = 0;
};

}  // namespace ratelimit::policy
