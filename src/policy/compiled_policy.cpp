#include "policy/compiled_policy.hpp"

#include <cstdio>

namespace ratelimit::policy {
namespace {

// FNV-1a: a stable fingerprint for key names (not a security boundary; the
// inputs are the operator's own config).
std::uint64_t fnv1a(std::string_view text) {
  std::uint64_t h = 1469598103934665603ULL;
  for (const char c : text) {
    h ^= static_cast<unsigned char>(c);
    h *= 1099511628211ULL;
  }
  return h;
}

std::string hex32(std::uint64_t v) {
  char out[9];
  std::snprintf(out, sizeof out, "%08x", static_cast<unsigned>(v & 0xFFFFFFFFU));
  return out;
}

CompiledLimit compile_limit(const LimitRule& rule, const std::string& section) {
  std::string definition = describe(rule.spec);
  for (const Attribute a : rule.scope) definition += "," + std::string(to_string(a));
  if (rule.counts == Counts::requests) definition += ",requests";
  return CompiledLimit{&rule, section + "/" + rule.name + "/" + hex32(fnv1a(definition)) + "|"};
}

// Config lists in lookup form: ids as the Directory stores them.
void index_list(const std::vector<ListEntry>& list, const IdentifierHasher& hasher,
                std::array<StringMap<const ListEntry*>, 3>& ids, CidrSet& ranges,
                std::vector<const ListEntry*>& range_entries) {
  std::vector<std::pair<CidrRange, std::uint32_t>> pairs;
  for (const auto& e : list) {
    if (e.range) {
      pairs.emplace_back(*e.range, static_cast<std::uint32_t>(range_entries.size()));
      range_entries.push_back(&e);
      continue;
    }
    const std::string id = e.type == IdType::api_key ? hasher.hash(e.id) : e.id;
    ids[static_cast<std::size_t>(e.type)].emplace(id, &e);
  }
  ranges = CidrSet(std::move(pairs));
}

}  // namespace

CompiledPolicy::CompiledPolicy(PolicyConfig source)
    : config(std::make_shared<const PolicyConfig>(std::move(source))),
      normalizer(config->paths),
      hasher(config->api_key_salt) {
  const PolicyConfig& c = *config;
  for (const auto& rule : c.limits) limits.push_back(compile_limit(rule, "g"));
  std::size_t most_tier_limits = 0;
  for (const auto& tier : c.tiers) {
    CompiledTier t{&tier, {}};
    for (const auto& rule : tier.limits) t.limits.push_back(compile_limit(rule, "t:" + tier.name));
    most_tier_limits = std::max(most_tier_limits, t.limits.size());
    tier_index.emplace(tier.name, tiers.size());
    tiers.push_back(std::move(t));
  }
  if (const auto it = tier_index.find(c.default_tier); it != tier_index.end())
    default_tier = it->second;
  std::vector<EndpointPattern> patterns;
  std::size_t most_endpoint_limits = 0;
  for (const auto& endpoint : c.endpoints) {
    CompiledEndpoint e{&endpoint, {}};
    // The pattern text has '{' in it, which Redis Cluster reads as a hash
    // tag: the section name uses its fingerprint instead.
    const std::string section = "e:" + hex32(fnv1a(endpoint.pattern.text));
    for (const auto& rule : endpoint.limits) e.limits.push_back(compile_limit(rule, section));
    most_endpoint_limits = std::max(most_endpoint_limits, e.limits.size());
    endpoints.push_back(std::move(e));
    patterns.push_back(endpoint.pattern);
  }
  endpoint_table = EndpointTable(std::move(patterns));
  index_list(c.whitelist, hasher, whitelist, whitelist_ranges, whitelist_range_entries);
  index_list(c.denylist, hasher, denylist, denylist_ranges, denylist_range_entries);
  for (const auto& a : c.tier_assignments) {
    const std::string id = a.type == IdType::api_key ? hasher.hash(a.id) : a.id;
    assignments[static_cast<std::size_t>(a.type)].emplace(id, &a);
  }
  max_checks = limits.size() + most_tier_limits + most_endpoint_limits;
}

}  // namespace ratelimit::policy
