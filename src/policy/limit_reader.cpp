// Limits as the config writes them: a name, an algorithm, a rate (or limit
// and window), a burst, a scope.
#include <algorithm>
#include <optional>
#include <string>

#include "policy/section_readers.hpp"

namespace ratelimit::policy::yaml {
namespace {

std::string q(std::string_view s) { return "'" + std::string(s) + "'"; }

constexpr std::string_view kScopeNames = "global, ip, user, api_key, endpoint, caller";

std::optional<Attribute> read_attribute(const YAML::Node& node, const std::string& what,
                                        Issues& issues) {
  if (!node.IsScalar()) {
    issues.add(node, "scope of " + what + " must list attribute names",
               std::string("use: ") + std::string(kScopeNames));
    return std::nullopt;
  }
  const auto a = parse_attribute(node.Scalar());
  if (!a) {
    issues.add(node, "unknown scope attribute " + q(node.Scalar()) + " in " + what,
               std::string("use one of: ") + std::string(kScopeNames));
  }
  return a;
}

// "global", one attribute, or a list of attributes (a composite scope).
std::optional<std::vector<Attribute>> read_scope(const YAML::Node& node, const std::string& what,
                                                 Issues& issues) {
  if (node.IsScalar() && node.Scalar() == "global") return std::vector<Attribute>{};
  if (node.IsScalar()) {
    const auto a = read_attribute(node, what, issues);
    if (!a) return std::nullopt;
    return std::vector<Attribute>{*a};
  }
  if (!node.IsSequence() || node.size() == 0) {
    issues.add(node, "scope of " + what + " must be 'global', an attribute or a list of attributes",
               "e.g. scope: user, or scope: [user, endpoint]");
    return std::nullopt;
  }
  std::vector<Attribute> scope;
  bool ok = true;
  for (const auto& item : node) {
    if (item.IsScalar() && item.Scalar() == "global") {
      issues.add(item, "'global' cannot be combined with other attributes in the scope of " + what,
                 "write scope: global on its own");
      ok = false;
      continue;
    }
    const auto a = read_attribute(item, what, issues);
    if (!a) {
      ok = false;
      continue;
    }
    if (std::find(scope.begin(), scope.end(), *a) != scope.end()) {
      issues.add(item, "scope of " + what + " names " + q(to_string(*a)) + " twice");
      ok = false;
      continue;
    }
    scope.push_back(*a);
  }
  if (!ok) return std::nullopt;
  return scope;
}

std::optional<ReadLimit> read_limit(const YAML::Node& node, const std::string& section,
                                    const std::optional<std::vector<Attribute>>& default_scope,
                                    Issues& issues) {
  MapReader map(node, "a limit of " + section, issues);
  if (!map.ok()) return std::nullopt;
  const std::size_t errors_before = issues.size();
  LimitRule rule;
  const auto name = map.string("name");
  if (!name) {
    if (!map.has("name")) map.missing("name", "every limit needs a name, e.g. name: per_minute");
  } else if (check_name(map.get("name"), *name, "limit name", issues)) {
    rule.name = *name;
  }
  const std::string what = name ? "limit " + q(*name) + " of " + section : map.what();

  LimitParams params;
  if (const auto algorithm = map.string("algorithm")) {
    try {
      params.algorithm = parse_algorithm(*algorithm);
    } catch (const InvalidLimitSpec& e) {
      issues.add(map.get("algorithm"), std::string(e.what()) + " (in " + what + ")");
    }
  }
  const bool has_rate = map.has("rate");
  const bool has_limit = map.has("limit") || map.has("window");
  if (has_rate && has_limit) {
    issues.add(map.get("rate"), what + " gives both 'rate' and 'limit'/'window'",
               "use rate: 100/min, or limit: 100 with window: 1m");
  }
  if (const auto rate_text = map.string("rate")) {
    const auto rate = parse_rate(*rate_text);
    if (!rate) {
      issues.add(map.get("rate"),
                 "'rate' of " + what + " must be a positive count per unit, not " + q(*rate_text),
                 "e.g. 100/min, 1.67/s, 10/100ms");
    } else {
      params.limit = rate->limit;
      params.window = rate->window;
    }
  }
  if (const auto limit = map.integer("limit", 1, LimitSpec::kMaxLimit)) params.limit = *limit;
  if (const auto window = map.duration("window")) params.window = *window;
  if (!has_rate && !has_limit) {
    map.missing("rate", "write rate: 100/min, or limit: 100 with window: 1m");
  } else if (has_limit && !has_rate && (!map.has("limit") || !map.has("window"))) {
    map.missing(map.has("limit") ? "window" : "limit", "'limit' and 'window' go together");
  }
  if (const auto burst = map.integer("burst", 1, LimitSpec::kMaxLimit)) params.burst = *burst;
  if (const auto mode = map.string("mode")) {
    try {
      params.mode = parse_leaky_mode(*mode);
    } catch (const InvalidLimitSpec& e) {
      issues.add(map.get("mode"), std::string(e.what()) + " (in " + what + ")");
    }
  }
  if (const auto shadow = map.boolean("shadow")) rule.shadow = *shadow;
  if (const auto counts = map.string("counts")) {
    if (*counts == "requests") {
      rule.counts = Counts::requests;
    } else if (*counts != "cost") {
      issues.add(map.get("counts"),
                 "'counts' of " + what + " must be cost or requests, not " + q(*counts),
                 "cost: each request uses its cost (endpoint cost x tier multiplier); requests: "
                 "each uses 1");
    }
  }
  if (const YAML::Node scope = map.get("scope"); scope.IsDefined()) {
    if (auto s = read_scope(scope, what, issues)) rule.scope = std::move(*s);
  } else if (default_scope) {
    rule.scope = *default_scope;
  } else {
    issues.add(node, what + " needs 'scope'",
               "top-level limits say whom they count: scope: global, ip, user, api_key, "
               "endpoint, caller or a list such as [user, endpoint]");
  }
  map.finish();
  if (issues.size() != errors_before) return std::nullopt;
  // Algorithm-level rules (burst only for buckets, mode only for leaky
  // buckets, sliding_log's cap) live in LimitSpec; report them here.
  if (const std::string error = LimitSpec::validate(params); !error.empty()) {
    issues.add(node, error + " (in " + what + ")");
    return std::nullopt;
  }
  rule.spec = LimitSpec(params);
  return ReadLimit{std::move(rule), node};
}

}  // namespace

bool check_name(const YAML::Node& at, std::string_view name, std::string_view what,
                Issues& issues) {
  const bool ok = !name.empty() && name.size() <= kMaxNameLength &&
                  std::all_of(name.begin(), name.end(), [](char c) {
                    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                           (c >= '0' && c <= '9') || c == '_' || c == '-' || c == '.';
                  });
  if (!ok) {
    issues.add(at, std::string(what) + " " + q(name) + " is not a valid name",
               "use 1 to 64 letters, digits, '_', '-' or '.'");
  }
  return ok;
}

std::vector<ReadLimit> read_limits(const YAML::Node& list, const std::string& section,
                                   const std::optional<std::vector<Attribute>>& default_scope,
                                   Issues& issues) {
  std::vector<ReadLimit> out;
  if (!list.IsDefined() || list.IsNull()) return out;
  if (!list.IsSequence()) {
    issues.add(list, "'limits' of " + section + " must be a list",
               "start each limit with '- name: ...'");
    return out;
  }
  for (const auto& item : list) {
    auto limit = read_limit(item, section, default_scope, issues);
    if (!limit) continue;
    const auto same = std::find_if(out.begin(), out.end(), [&](const ReadLimit& l) {
      return l.rule.name == limit->rule.name;
    });
    if (same != out.end()) {
      issues.add(item,
                 "duplicate limit name " + q(limit->rule.name) + " in " + section + " (first at " +
                     line_of(same->node) + ")",
                 "names key the limit's state: give each limit its own");
      continue;
    }
    out.push_back(std::move(*limit));
  }
  return out;
}

}  // namespace ratelimit::policy::yaml
