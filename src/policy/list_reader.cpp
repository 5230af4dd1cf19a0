// Whitelist/denylist entries and tier assignments: "who" (exactly one of
// user, ip, api_key, or cidr for ranges) plus bookkeeping fields.
#include <string>

#include "policy/section_readers.hpp"

namespace ratelimit::policy::yaml {
namespace {

std::string q(std::string_view s) { return "'" + std::string(s) + "'"; }

// Reads the one identifier key of an entry. `allow_cidr`: lists accept ranges.
bool read_who(MapReader& map, bool allow_cidr, IdType& type, std::string& id,
              std::optional<CidrRange>& range) {
  Issues& issues = map.issues();
  int found = 0;
  for (const IdType t : {IdType::user, IdType::ip, IdType::api_key}) {
    const std::string_view key = to_string(t);
    if (const auto value = map.string(key)) {
      ++found;
      type = t;
      id = *value;
    }
  }
  if (allow_cidr) {
    if (const auto cidr = map.string("cidr")) {
      ++found;
      type = IdType::ip;
      try {
        range = parse_cidr(*cidr);
        id = range->to_string();
      } catch (const InvalidCidr& e) {
        issues.add(map.get("cidr"), e.what() + std::string(" (in ") + map.what() + ")");
        return false;
      }
    }
  }
  const std::string keys = allow_cidr ? "user, ip, api_key or cidr" : "user, ip or api_key";
  if (found == 0) {
    issues.add(map.node(), map.what() + " names nobody", "give exactly one of " + keys);
    return false;
  }
  if (found > 1) {
    issues.add(map.node(), map.what() + " names more than one identifier",
               "give exactly one of " + keys + " per entry");
    return false;
  }
  if (id.empty() || id.size() > kMaxIdentifierLength) {
    issues.add(map.node(), "identifier in " + map.what() + " must be 1 to " +
                               std::to_string(kMaxIdentifierLength) + " bytes long");
    return false;
  }
  if (type == IdType::ip && !range) {
    const auto address = IpAddress::parse(id);
    if (!address) {
      issues.add(map.get("ip"), q(id) + " in " + map.what() + " is not an IPv4 or IPv6 address",
                 allow_cidr ? "for a range, write cidr: 10.0.0.0/8" : "");
      return false;
    }
    id = address->to_string();  // one spelling per address
  }
  return true;
}

}  // namespace

std::vector<ListEntry> read_list_entries(const YAML::Node& list, std::string_view list_name,
                                         Issues& issues) {
  std::vector<ListEntry> out;
  if (!list.IsDefined() || list.IsNull()) return out;
  if (!list.IsSequence()) {
    issues.add(list, "'" + std::string(list_name) + "' must be a list",
               "e.g. - {user: ops-bot, reason: monitoring}");
    return out;
  }
  std::vector<YAML::Node> nodes;
  for (const auto& item : list) {
    MapReader map(item, "an entry of " + std::string(list_name), issues);
    if (!map.ok()) continue;
    const std::size_t before = issues.size();
    ListEntry entry;
    const bool who = read_who(map, true, entry.type, entry.id, entry.range);
    if (const auto reason = map.string("reason")) entry.reason = *reason;
    if (const auto by = map.string("added_by")) entry.added_by = *by;
    if (const auto expires = map.timestamp("expires")) entry.expires_at = *expires;
    map.finish();
    if (!who || issues.size() != before) continue;
    bool duplicate = false;
    for (std::size_t i = 0; i < out.size(); ++i) {
      if (out[i].type == entry.type && out[i].id == entry.id &&
          out[i].range.has_value() == entry.range.has_value()) {
        issues.add(item, std::string(to_string(entry.type)) + " " + q(entry.id) +
                             " is listed twice in " + std::string(list_name) + " (first at " +
                             line_of(nodes[i]) + ")");
        duplicate = true;
      }
    }
    if (duplicate) continue;
    nodes.push_back(item);
    out.push_back(std::move(entry));
  }
  return out;
}

std::vector<TierAssignment> read_tier_assignments(const YAML::Node& list, Issues& issues,
                                                  std::vector<YAML::Node>& tier_nodes) {
  std::vector<TierAssignment> out;
  if (!list.IsDefined() || list.IsNull()) return out;
  if (!list.IsSequence()) {
    issues.add(list, "'tier_assignments' must be a list", "e.g. - {user: u42, tier: pro}");
    return out;
  }
  for (const auto& item : list) {
    MapReader map(item, "a tier assignment", issues);
    if (!map.ok()) continue;
    const std::size_t before = issues.size();
    TierAssignment assignment;
    std::optional<CidrRange> no_range;
    const bool who = read_who(map, false, assignment.type, assignment.id, no_range);
    if (const auto tier = map.string("tier")) {
      assignment.tier = *tier;
    } else if (!map.has("tier")) {
      map.missing("tier");
    }
    if (const auto expires = map.timestamp("expires")) assignment.expires_at = *expires;
    map.finish();
    if (!who || issues.size() != before) continue;
    for (std::size_t i = 0; i < out.size(); ++i) {
      if (out[i].type == assignment.type && out[i].id == assignment.id) {
        issues.add(item, std::string(to_string(assignment.type)) + " " + q(assignment.id) +
                             " is assigned a tier twice (first at " + line_of(tier_nodes[i]) + ")");
      }
    }
    tier_nodes.push_back(map.get("tier"));
    out.push_back(std::move(assignment));
  }
  return out;
}

}  // namespace ratelimit::policy::yaml
