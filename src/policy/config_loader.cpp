// The policy config file: top-level sections, then the checks that span them.
#include "ratelimit/policy/config_loader.hpp"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <sstream>

#include "policy/section_readers.hpp"
#include "policy/yaml_reader.hpp"
#include "ratelimit/redis_store.hpp"
#include "ratelimit/store.hpp"

namespace ratelimit::policy {
namespace {

using yaml::Issues;
using yaml::MapReader;
using yaml::ReadLimit;

std::string q(std::string_view s) { return "'" + std::string(s) + "'"; }

// What the loader keeps besides the model: the nodes later checks point at.
struct Nodes {
  std::vector<ReadLimit> top_limits;
  std::vector<std::vector<ReadLimit>> tier_limits;
  std::vector<YAML::Node> tier_nodes;
  std::vector<std::vector<ReadLimit>> endpoint_limits;
  std::vector<YAML::Node> endpoint_cost_nodes;
  std::vector<YAML::Node> assignment_tier_nodes;
  YAML::Node default_tier;
};

void read_store(MapReader& top, PolicyConfig& config) {
  const YAML::Node node = top.get("store");
  if (!node.IsDefined()) return;
  MapReader map(node, "'store'", top.issues());
  if (!map.ok()) return;
  if (const auto url = map.string("url")) {
    config.store.url = *url;
    if (*url != "memory") {
      try {
        (void)parse_redis_url(*url);
      } catch (const std::exception& e) {
        map.issues().add(
            map.get("url"), e.what(),
            "use memory, or redis://host:port, redis+sentinel://..., redis+cluster://...");
      }
    }
  }
  if (const auto refresh = map.duration("refresh")) config.store.refresh_interval = *refresh;
  map.finish();
}

void read_paths(MapReader& top, PolicyConfig& config) {
  const YAML::Node node = top.get("paths");
  if (!node.IsDefined()) return;
  MapReader map(node, "'paths'", top.issues());
  if (!map.ok()) return;
  if (const auto v = map.boolean("numeric_ids")) config.paths.numeric_ids = *v;
  if (const auto v = map.boolean("uuids")) config.paths.uuids = *v;
  if (const auto v = map.integer("opaque_min_length", 0, 1024))
    config.paths.opaque_min_length = static_cast<std::size_t>(*v);
  if (const auto v = map.string("placeholder")) {
    if (v->empty() || v->find('/') != std::string::npos || v->size() > 32) {
      map.issues().add(map.get("placeholder"),
                       "'placeholder' must be 1 to 32 characters without '/'");
    } else {
      config.paths.placeholder = *v;
    }
  }
  map.finish();
}

void read_identity(MapReader& top, PolicyConfig& config) {
  Issues& issues = top.issues();
  if (const YAML::Node caller = top.get("caller"); caller.IsDefined()) {
    std::vector<Attribute> order;
    const bool list = caller.IsSequence() && caller.size() > 0;
    if (!list) {
      issues.add(caller, "'caller' must be a list of attributes",
                 "e.g. caller: [api_key, user, ip]");
    } else {
      for (const auto& item : caller) {
        const auto a = item.IsScalar() ? parse_attribute(item.Scalar()) : std::nullopt;
        if (!a || (*a != Attribute::api_key && *a != Attribute::user && *a != Attribute::ip)) {
          issues.add(item, "'caller' may list only api_key, user and ip");
        } else if (std::find(order.begin(), order.end(), *a) != order.end()) {
          issues.add(item, "'caller' lists " + q(to_string(*a)) + " twice");
        } else {
          order.push_back(*a);
        }
      }
      config.caller = std::move(order);
    }
  }
  if (const YAML::Node keys = top.get("api_keys"); keys.IsDefined()) {
    MapReader map(keys, "'api_keys'", issues);
    if (map.ok()) {
      if (const auto salt = map.string("salt")) config.api_key_salt = *salt;
      if (const auto env = map.string("salt_env")) {
        if (map.has("salt")) {
          issues.add(map.get("salt_env"), "'api_keys' gives both 'salt' and 'salt_env'",
                     "keep one");
        } else if (const char* value = std::getenv(env->c_str()); value == nullptr) {
          issues.add(map.get("salt_env"),
                     "environment variable " + q(*env) + " named by 'salt_env' is not set");
        } else {
          config.api_key_salt = value;
        }
      }
      map.finish();
    }
  }
  if (const auto prefix = top.integer("ipv6_prefix", 1, 128))
    config.ipv6_prefix = static_cast<int>(*prefix);
}

void read_tiers(MapReader& top, PolicyConfig& config, Nodes& nodes) {
  const YAML::Node tiers = top.get("tiers");
  if (!tiers.IsDefined() || tiers.IsNull()) return;
  Issues& issues = top.issues();
  MapReader map(tiers, "'tiers'", issues);
  if (!map.ok()) return;
  for (auto it = tiers.begin(); it != tiers.end(); ++it) {
    if (!it->first.IsScalar()) continue;  // reported by MapReader
    const std::string name = it->first.Scalar();
    map.allow(name);
    if (!yaml::check_name(it->first, name, "tier name", issues)) continue;
    const std::string what = "tier " + q(name);
    MapReader tier_map(it->second, what, issues);
    if (!tier_map.ok()) continue;
    Tier tier;
    tier.name = name;
    if (const auto m = tier_map.number("cost_multiplier", 0.0, 1e6)) tier.cost_multiplier = *m;
    auto limits = yaml::read_limits(tier_map.get("limits"), what,
                                    std::vector<Attribute>{Attribute::caller}, issues);
    if (!tier_map.has("limits"))
      tier_map.missing("limits",
                       "a tier lists its limits, e.g. limits: [{name: per_minute, rate: 100/min}]");
    tier_map.finish();
    for (const auto& l : limits) tier.limits.push_back(l.rule);
    nodes.tier_limits.push_back(std::move(limits));
    nodes.tier_nodes.push_back(it->first);
    config.tiers.push_back(std::move(tier));
  }
  map.finish();  // duplicate tier names
}

void read_endpoints(MapReader& top, PolicyConfig& config, Nodes& nodes) {
  const YAML::Node list = top.get("endpoints");
  if (!list.IsDefined() || list.IsNull()) return;
  Issues& issues = top.issues();
  if (!list.IsSequence()) {
    issues.add(list, "'endpoints' must be a list",
               "e.g. - {match: \"POST /ocr/process\", cost: 10}");
    return;
  }
  std::vector<YAML::Node> match_nodes;
  for (const auto& item : list) {
    MapReader map(item, "an endpoint", issues);
    if (!map.ok()) continue;
    const std::size_t before = issues.size();
    EndpointRule rule;
    std::string what = map.what();
    if (const auto match = map.string("match")) {
      try {
        rule.pattern = parse_endpoint_pattern(*match);
        what = "endpoint " + q(rule.pattern.text);
      } catch (const InvalidEndpointPattern& e) {
        issues.add(map.get("match"), e.what(),
                   "write METHOD /path, e.g. \"POST /ocr/process\" or \"GET /users/{id}\"");
      }
    } else if (!map.has("match")) {
      map.missing("match", "e.g. match: \"POST /ocr/process\"");
    }
    if (const auto cost = map.integer("cost", 0, LimitSpec::kMaxLimit)) rule.cost = *cost;
    auto limits =
        yaml::read_limits(map.get("limits"), what,
                          std::vector<Attribute>{Attribute::caller, Attribute::endpoint}, issues);
    map.finish();
    if (issues.size() != before) continue;
    bool duplicate = false;
    for (std::size_t i = 0; i < config.endpoints.size(); ++i) {
      if (config.endpoints[i].pattern.text == rule.pattern.text) {
        issues.add(map.get("match"),
                   "endpoint " + q(rule.pattern.text) + " is defined twice (first at " +
                       yaml::line_of(match_nodes[i]) + ")",
                   "merge the two entries");
        duplicate = true;
      }
    }
    if (duplicate) continue;
    for (const auto& l : limits) rule.limits.push_back(l.rule);
    match_nodes.push_back(map.get("match"));
    nodes.endpoint_limits.push_back(std::move(limits));
    nodes.endpoint_cost_nodes.push_back(map.has("cost") ? map.get("cost") : YAML::Node(item));
    config.endpoints.push_back(std::move(rule));
  }
}

// The checks that need more than one section.
void check_across(PolicyConfig& config, Nodes& nodes, Issues& issues, const YAML::Node& root) {
  std::vector<std::string> tier_names;
  for (const auto& t : config.tiers) tier_names.push_back(t.name);
  const auto tier_hint = [&](const std::string& name) {
    const std::string guess = yaml::closest(name, tier_names);
    if (!guess.empty()) return "did you mean " + q(guess) + "?";
    std::string all = "tiers:";
    for (const auto& t : tier_names) all += " " + t;
    return tier_names.empty() ? std::string("define it under 'tiers'") : all;
  };
  const auto has_tier = [&](const std::string& name) {
    return std::find(tier_names.begin(), tier_names.end(), name) != tier_names.end();
  };
  if (!config.tiers.empty() && config.default_tier.empty() && !nodes.default_tier.IsDefined()) {
    issues.add(root, "'default_tier' is required when tiers are defined",
               "e.g. default_tier: " + tier_names.front());
  } else if (!config.default_tier.empty() && !has_tier(config.default_tier)) {
    issues.add(nodes.default_tier,
               "default_tier " + q(config.default_tier) + " is not a defined tier",
               tier_hint(config.default_tier));
  }
  for (std::size_t i = 0; i < config.tier_assignments.size(); ++i) {
    const auto& a = config.tier_assignments[i];
    if (!has_tier(a.tier)) {
      issues.add(nodes.assignment_tier_nodes[i],
                 "tier assignment names tier " + q(a.tier) + ", which is not defined",
                 tier_hint(a.tier));
    }
  }
  for (const auto& w : config.whitelist) {
    for (const auto& d : config.denylist) {
      if (w.type == d.type && w.id == d.id && w.range.has_value() == d.range.has_value()) {
        issues.add(
            root["denylist"],
            std::string(to_string(d.type)) + " " + q(d.id) + " is both whitelisted and denylisted",
            "remove it from one list");
      }
    }
  }
  // Names are what responses report as the limiting scope: a request's
  // limits (top-level, its tier's, its endpoint's) must not share one.
  const auto find_top = [&](const std::string& name) {
    return std::find_if(nodes.top_limits.begin(), nodes.top_limits.end(),
                        [&](const ReadLimit& l) { return l.rule.name == name; });
  };
  std::size_t most_tier = 0;
  std::size_t most_endpoint = 0;
  for (std::size_t t = 0; t < nodes.tier_limits.size(); ++t) {
    most_tier = std::max(most_tier, nodes.tier_limits[t].size());
    for (const auto& l : nodes.tier_limits[t]) {
      if (const auto top = find_top(l.rule.name); top != nodes.top_limits.end()) {
        issues.add(l.node,
                   "limit " + q(l.rule.name) + " of tier " + q(config.tiers[t].name) +
                       " has the name of a top-level limit (" + yaml::line_of(top->node) + ")",
                   "responses name the limiting limit: give each its own name");
      }
    }
  }
  for (std::size_t e = 0; e < nodes.endpoint_limits.size(); ++e) {
    most_endpoint = std::max(most_endpoint, nodes.endpoint_limits[e].size());
    for (const auto& l : nodes.endpoint_limits[e]) {
      if (const auto top = find_top(l.rule.name); top != nodes.top_limits.end()) {
        issues.add(l.node,
                   "limit " + q(l.rule.name) + " of endpoint " +
                       q(config.endpoints[e].pattern.text) +
                       " has the name of a top-level limit (" + yaml::line_of(top->node) + ")",
                   "responses name the limiting limit: give each its own name");
      }
      for (std::size_t t = 0; t < nodes.tier_limits.size(); ++t) {
        for (const auto& tl : nodes.tier_limits[t]) {
          if (tl.rule.name == l.rule.name) {
            issues.add(l.node,
                       "limit " + q(l.rule.name) + " of endpoint " +
                           q(config.endpoints[e].pattern.text) +
                           " has the name of a limit of tier " + q(config.tiers[t].name) + " (" +
                           yaml::line_of(tl.node) + ")",
                       "responses name the limiting limit: give each its own name");
          }
        }
      }
    }
  }
  if (const std::size_t most = nodes.top_limits.size() + most_tier + most_endpoint;
      most > Store::kMaxChecks) {
    issues.add(root,
               "a request could meet " + std::to_string(most) +
                   " limits (top-level, tier and endpoint); at most " +
                   std::to_string(Store::kMaxChecks) + " are decided together",
               "merge limits, or move some into fewer tiers/endpoints");
  }
  // A request whose cost is above a limit's capacity can never be admitted:
  // an endpoint cost (times a tier multiplier) above any limit that counts it
  // is a mistake, not a policy.
  if (config.shadow) return;
  const auto check_cost = [&](const YAML::Node& at, const std::string& what_costs,
                              std::int64_t cost, const std::vector<ReadLimit>& limits,
                              const std::string& owner) {
    for (const auto& l : limits) {
      if (l.rule.shadow || l.rule.counts == Counts::requests ||
          cost <= l.rule.spec.reported_limit())
        continue;
      issues.add(at,
                 what_costs + " costs " + std::to_string(cost) + ", above the capacity " +
                     std::to_string(l.rule.spec.reported_limit()) + " of limit " + q(l.rule.name) +
                     " of " + owner + ": such requests could never be admitted",
                 "raise that limit's burst/limit or lower the cost");
    }
  };
  const auto scaled = [](std::int64_t cost, double multiplier) {
    return static_cast<std::int64_t>(std::ceil(static_cast<double>(cost) * multiplier));
  };
  std::vector<std::pair<std::string, double>> multipliers;
  for (const auto& t : config.tiers) multipliers.emplace_back(t.name, t.cost_multiplier);
  if (multipliers.empty()) multipliers.emplace_back("", 1.0);
  for (std::size_t e = 0; e < config.endpoints.size(); ++e) {
    const auto& ep = config.endpoints[e];
    for (std::size_t t = 0; t < multipliers.size(); ++t) {
      const std::int64_t cost = scaled(ep.cost, multipliers[t].second);
      const std::string who =
          "endpoint " + q(ep.pattern.text) +
          (multipliers[t].first.empty() ? "" : " in tier " + q(multipliers[t].first));
      check_cost(nodes.endpoint_cost_nodes[e], who, cost, nodes.top_limits, "the top-level limits");
      check_cost(nodes.endpoint_cost_nodes[e], who, cost, nodes.endpoint_limits[e], "the endpoint");
      if (!config.tiers.empty()) {
        check_cost(nodes.endpoint_cost_nodes[e], who, cost, nodes.tier_limits[t],
                   "tier " + q(multipliers[t].first));
      }
    }
  }
  for (std::size_t t = 0; t < config.tiers.size(); ++t) {
    const std::int64_t cost = scaled(1, config.tiers[t].cost_multiplier);
    const std::string who = "a request in tier " + q(config.tiers[t].name);
    check_cost(nodes.tier_nodes[t], who, cost, nodes.tier_limits[t], "that tier");
    check_cost(nodes.tier_nodes[t], who, cost, nodes.top_limits, "the top-level limits");
  }
}

}  // namespace

std::string ConfigIssue::to_string() const {
  std::string out = file;
  if (line > 0) out += ":" + std::to_string(line) + ":" + std::to_string(column);
  out += ": " + message;
  if (!hint.empty()) out += " (" + hint + ")";
  return out;
}

namespace {
std::string join_issues(const std::vector<ConfigIssue>& issues) {
  std::string out;
  for (const auto& i : issues) {
    if (!out.empty()) out += "\n";
    out += i.to_string();
  }
  return out;
}
}  // namespace

ConfigError::ConfigError(std::vector<ConfigIssue> issues)
    : std::runtime_error(join_issues(issues)), issues_(std::move(issues)) {}

PolicyConfig load_config(std::string_view text, std::string_view source) {
  Issues issues{std::string(source)};
  YAML::Node root;
  try {
    root = YAML::Load(std::string(text));
  } catch (const YAML::Exception& e) {
    issues.add(e.mark, "not valid YAML: " + e.msg);
    throw ConfigError(issues.take());
  }
  PolicyConfig config;
  config.source = std::string(source);
  if (root.IsNull() || !root.IsDefined()) {
    return config;  // an empty file: no limits at all (documented)
  }
  MapReader top(root, "the config", issues);
  if (!top.ok()) throw ConfigError(issues.take());
  Nodes nodes;
  if (const auto version = top.integer("version", 1, 1000)) {
    if (*version != 1)
      issues.add(top.get("version"),
                 "config version " + std::to_string(*version) + " is not supported",
                 "this build reads version: 1");
  }
  read_store(top, config);
  yaml::read_proxy(top, config);
  yaml::read_service(top, config);
  if (const auto shadow = top.boolean("shadow")) config.shadow = *shadow;
  read_identity(top, config);
  read_paths(top, config);
  nodes.default_tier = top.get("default_tier");
  if (const auto d = top.string("default_tier")) config.default_tier = *d;
  read_tiers(top, config, nodes);
  nodes.top_limits =
      yaml::read_limits(top.get("limits"), "the top-level limits", std::nullopt, issues);
  for (const auto& l : nodes.top_limits) config.limits.push_back(l.rule);
  read_endpoints(top, config, nodes);
  config.tier_assignments =
      yaml::read_tier_assignments(top.get("tier_assignments"), issues, nodes.assignment_tier_nodes);
  config.whitelist = yaml::read_list_entries(top.get("whitelist"), "whitelist", issues);
  config.denylist = yaml::read_list_entries(top.get("denylist"), "denylist", issues);
  top.finish();
  if (issues.empty()) check_across(config, nodes, issues, root);
  if (!issues.empty()) throw ConfigError(issues.take());
  return config;
}

PolicyConfig load_config_file(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    throw ConfigError({ConfigIssue{path.string(), 0, 0, "cannot read the file",
                                   "check the path and its permissions"}});
  }
  std::ostringstream text;
  text << in.rdbuf();
  return load_config(text.str(), path.string());
}

}  // namespace ratelimit::policy
