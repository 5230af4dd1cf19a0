#pragma once
/// @file section_readers.hpp
/// Readers for the repeated parts of a policy config: limits (in the top-level
/// list, in tiers and in endpoints), list entries and tier assignments.

#include <yaml-cpp/yaml.h>

#include <string_view>
#include <vector>

#include "policy/yaml_reader.hpp"
#include "ratelimit/policy/config.hpp"

namespace ratelimit::policy::yaml {

/// A limit read from YAML, with the node it came from (for later checks).
struct ReadLimit {
  LimitRule rule;
  YAML::Node node;
};

/// Reads a list of limits. `section` names the owner in messages ("tier
/// 'free'"); limits without a `scope` get `default_scope` (nullopt: a scope is
/// required). Reports duplicate names within the list.
std::vector<ReadLimit> read_limits(const YAML::Node& list, const std::string& section,
                                   const std::optional<std::vector<Attribute>>& default_scope,
                                   Issues& issues);

/// Reads whitelist or denylist entries (`list_name` is "whitelist"/"denylist").
std::vector<ListEntry> read_list_entries(const YAML::Node& list, std::string_view list_name,
                                         Issues& issues);

/// Reads tier assignments; tier names are checked by the caller.
std::vector<TierAssignment> read_tier_assignments(const YAML::Node& list, Issues& issues,
                                                  std::vector<YAML::Node>& tier_nodes);

/// Reads the `proxy:` section (proxy mode of ratelimitd) into config.proxy.
void read_proxy(MapReader& top, PolicyConfig& config);
/// Reads the `service:` section (ratelimitd's settings) into config.service.
void read_service(MapReader& top, PolicyConfig& config);

/// Longest name (limit, tier) and identifier accepted, in bytes: they become
/// parts of store keys, which are bounded (Store::kMaxKeyLength).
inline constexpr std::size_t kMaxNameLength = 64;
inline constexpr std::size_t kMaxIdentifierLength = 256;

/// Names are [A-Za-z0-9_.-]{1,64}; reports otherwise and returns false.
bool check_name(const YAML::Node& at, std::string_view name, std::string_view what, Issues& issues);

}  // namespace ratelimit::policy::yaml
