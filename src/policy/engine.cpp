// From request attributes to one atomic decision over every applicable limit.
#include "ratelimit/policy/engine.hpp"

#include <algorithm>
#include <array>
#include <cmath>

#include "policy/compiled_policy.hpp"
#include "ratelimit/policy/config_loader.hpp"

namespace ratelimit::policy {
namespace {

// Values longer than this are hashed in store keys, keeping keys short.
constexpr std::size_t kLongValue = 64;

bool live(const std::optional<Micros>& expires_at, Micros now) {
  return !expires_at || *expires_at > now;
}

void check_length(std::string_view name, std::string_view value, std::size_t max) {
  if (value.size() > max) {
    throw InvalidRequest(std::string(name) + " is " + std::to_string(value.size()) +
                         " bytes long; the most is " + std::to_string(max));
  }
}

// The request's attributes in the form keys and lookups use. Views point
// into the request or into the owned strings here.
struct Resolved {
  std::string_view user;
  std::string api_key;  // hashed
  std::string ip_owned;
  std::string_view ip;  // canonical
  std::string ip_key_owned;
  std::string_view ip_key;  // IPv6 masked to the configured prefix
  std::optional<IpAddress> address;
  std::string endpoint;
  std::optional<std::size_t> endpoint_rule;
  std::array<std::string_view, 3> ids;  // by IdType, stored form (empty = absent)
  std::optional<std::size_t> tier;      // named by the request

  Resolved() = default;
  Resolved(const Resolved&) = delete;
  Resolved& operator=(const Resolved&) = delete;
};

void masked_ip_key(const IpAddress& address, int prefix, std::string& out) {
  auto bytes = address.bytes();
  for (int bit = prefix; bit < 128; ++bit) {
    bytes[static_cast<std::size_t>(bit / 8)] &= static_cast<std::uint8_t>(~(0x80U >> (bit % 8)));
  }
  out = IpAddress::from_bytes(bytes).to_string() + "/" + std::to_string(prefix);
}

void resolve(const CompiledPolicy& p, const Request& r, Resolved& out) {
  check_length("user", r.user, kMaxIdentifierBytes);
  check_length("api_key", r.api_key, kMaxIdentifierBytes);
  check_length("ip", r.ip, 64);
  check_length("method", r.method, kMaxMethodBytes);
  check_length("path", r.path, kMaxPathBytes);
  if (r.cost && (*r.cost < 0 || *r.cost > LimitSpec::kMaxLimit)) {
    throw InvalidRequest("cost must be 0 to " + std::to_string(LimitSpec::kMaxLimit) + ", not " +
                         std::to_string(*r.cost));
  }
  out.user = r.user;
  if (!r.tier.empty()) {
    const auto it = p.tier_index.find(r.tier);
    if (it == p.tier_index.end()) {
      throw InvalidRequest("tier '" + std::string(r.tier.substr(0, 64)) +
                           "' is not a configured tier");
    }
    out.tier = it->second;
  }
  if (!r.api_key.empty()) out.api_key = p.hasher.hash(r.api_key);
  if (!r.ip.empty()) {
    out.address = IpAddress::parse(r.ip);
    if (!out.address)
      throw InvalidRequest("ip '" + std::string(r.ip) + "' is not an IPv4 or IPv6 address");
    if (out.address->is_v4() && r.ip.find(':') == std::string_view::npos) {
      // Dotted IPv4 that parsed (no leading zeros, no spaces) is canonical.
      out.ip = r.ip;
      out.ip_key = r.ip;
    } else {
      out.ip_owned = out.address->to_string();
      out.ip = out.ip_owned;
      if (out.address->is_v4() || p.config->ipv6_prefix >= 128) {
        out.ip_key = out.ip;
      } else {
        masked_ip_key(*out.address, p.config->ipv6_prefix, out.ip_key_owned);
        out.ip_key = out.ip_key_owned;
      }
    }
  }
  if (!r.method.empty() && !std::all_of(r.method.begin(), r.method.end(), [](char c) {
        return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '-' || c == '_';
      })) {
    throw InvalidRequest("method '" + std::string(r.method) + "' is not an HTTP method name");
  }
  if (!r.path.empty()) {
    char method_buffer[kMaxMethodBytes];
    const std::string_view given = r.method.empty() ? std::string_view("GET") : r.method;
    for (std::size_t i = 0; i < given.size(); ++i) {
      const char c = given[i];
      method_buffer[i] = c >= 'a' && c <= 'z' ? static_cast<char>(c - 'a' + 'A') : c;
    }
    const std::string_view method(method_buffer, given.size());
    std::string path = p.normalizer.normalize(r.path);
    out.endpoint_rule = p.endpoint_table.match(method, path);
    if (out.endpoint_rule) {
      out.endpoint = p.endpoints[*out.endpoint_rule].rule->pattern.text;
    } else {
      out.endpoint.reserve(method.size() + 1 + path.size());
      out.endpoint.append(method).append(" ").append(path);
    }
  }
  out.ids[static_cast<std::size_t>(IdType::user)] = out.user;
  out.ids[static_cast<std::size_t>(IdType::api_key)] = out.api_key;
  out.ids[static_cast<std::size_t>(IdType::ip)] = out.ip;
}

// Appends "u=alice", "k=h:…", "ip=1.2.3.4", "e=POST /x": one attribute's part
// of a key. False (nothing appended) when the request lacks the attribute.
bool append_key_part(const CompiledPolicy& p, const Resolved& r, Attribute a, std::string& key) {
  std::string_view prefix;
  std::string_view value;
  switch (a) {
    case Attribute::user:
      prefix = "u=";
      value = r.user;
      break;
    case Attribute::api_key:
      prefix = "k=";
      value = r.api_key;
      break;
    case Attribute::ip:
      prefix = "ip=";
      value = r.ip_key;
      break;
    case Attribute::endpoint:
      prefix = "e=";
      value = r.endpoint;
      break;
    case Attribute::caller:
      for (const Attribute c : p.config->caller) {
        if (append_key_part(p, r, c, key)) return true;
      }
      key.append("anon");
      return true;
  }
  if (value.empty()) return false;
  key.append(prefix);
  if (value.size() > kLongValue) {
    key.append(p.hasher.hash(value));
  } else {
    key.append(value);
  }
  return true;
}

// Appends the store key of one limit for this request to `keys`; false (and
// nothing appended) when the request lacks an attribute of the limit's scope
// (the limit does not apply). The first part is a Redis Cluster hash tag, so
// an entity's limits share a slot.
bool append_limit_key(const CompiledPolicy& p, const Resolved& r, const CompiledLimit& limit,
                      std::string& keys) {
  const std::size_t start = keys.size();
  keys.append(limit.key_prefix);
  if (limit.rule->scope.empty()) {
    keys.append("{g}");
    return true;
  }
  bool first = true;
  for (const Attribute a : limit.rule->scope) {
    keys.append(first ? "{" : "|");
    if (!append_key_part(p, r, a, keys)) {
      keys.resize(start);
      return false;
    }
    if (first) keys.append("}");
    first = false;
  }
  return true;
}

// The checks of one request: which limits apply, and their keys, all kept in
// one buffer (one allocation per request, reused by the thread).
struct Plan {
  struct Item {
    const CompiledLimit* limit;
    std::size_t offset;
    std::size_t length;
  };
  std::string keys;
  std::vector<Item> items;
  [[nodiscard]] std::string_view key(const Item& item) const {
    return std::string_view(keys).substr(item.offset, item.length);
  }
};

template <typename Entry>
const Entry* find_live(const std::array<StringMap<Entry>, 3>& maps, const Resolved& r, Micros now) {
  for (const IdType t : {IdType::user, IdType::api_key, IdType::ip}) {
    const std::string_view id = r.ids[static_cast<std::size_t>(t)];
    if (id.empty()) continue;
    const auto& map = maps[static_cast<std::size_t>(t)];
    if (map.empty()) continue;  // the common case: skip hashing
    const auto it = map.find(id);
    if (it == map.end()) continue;
    const auto& entry = it->second;
    if constexpr (std::is_pointer_v<typename StringMap<Entry>::mapped_type>) {
      if (!live(entry->expires_at, now)) continue;
    } else {
      if (!live(entry.expires_at, now)) continue;
    }
    return &entry;
  }
  return nullptr;
}

// A list hit: the entry's reason and expiry, from config or runtime records.
struct ListHit {
  std::string reason;
  std::optional<Micros> expires_at;
};

std::optional<ListHit> list_hit(ListKind kind, const CompiledPolicy& p,
                                const DirectorySnapshot& snap, const Resolved& r, Micros now) {
  const auto& runtime = kind == ListKind::whitelist ? snap.whitelist : snap.denylist;
  if (const auto* e = find_live(runtime, r, now)) return ListHit{e->reason, e->expires_at};
  const auto& configured = kind == ListKind::whitelist ? p.whitelist : p.denylist;
  if (const auto* e = find_live(configured, r, now)) return ListHit{(*e)->reason, (*e)->expires_at};
  if (!r.address) return std::nullopt;
  const auto& runtime_ranges =
      kind == ListKind::whitelist ? snap.whitelist_ranges : snap.denylist_ranges;
  const auto& runtime_entries =
      kind == ListKind::whitelist ? snap.whitelist_range_entries : snap.denylist_range_entries;
  if (const auto i = runtime_ranges.longest_match(*r.address)) {
    const ListEntry& e = runtime_entries[*i];
    if (live(e.expires_at, now)) return ListHit{e.reason, e.expires_at};
  }
  const auto& ranges = kind == ListKind::whitelist ? p.whitelist_ranges : p.denylist_ranges;
  const auto& entries =
      kind == ListKind::whitelist ? p.whitelist_range_entries : p.denylist_range_entries;
  if (const auto i = ranges.longest_match(*r.address)) {
    const ListEntry& e = *entries[*i];
    if (live(e.expires_at, now)) return ListHit{e.reason, e.expires_at};
  }
  return std::nullopt;
}

// The caller's tier: a runtime grant, else a config assignment, for the
// first caller attribute that has one; else the default tier.
std::optional<std::size_t> tier_of(const CompiledPolicy& p, const DirectorySnapshot& snap,
                                   const Resolved& r, Micros now) {
  if (r.tier) return r.tier;
  if (p.tiers.empty()) return std::nullopt;
  for (const Attribute a : p.config->caller) {
    const IdType t = a == Attribute::user      ? IdType::user
                     : a == Attribute::api_key ? IdType::api_key
                                               : IdType::ip;
    const std::string_view id = r.ids[static_cast<std::size_t>(t)];
    if (id.empty()) continue;
    const auto& grants = snap.tiers[static_cast<std::size_t>(t)];
    if (const auto it = grants.empty() ? grants.end() : grants.find(id);
        it != grants.end() && live(it->second.expires_at, now)) {
      // A grant naming a tier a reload removed falls back to the next source.
      if (const auto tier = p.tier_index.find(it->second.tier); tier != p.tier_index.end())
        return tier->second;
    }
    const auto& assigned = p.assignments[static_cast<std::size_t>(t)];
    if (const auto it = assigned.find(id);
        it != assigned.end() && live(it->second->expires_at, now)) {
      if (const auto tier = p.tier_index.find(it->second->tier); tier != p.tier_index.end())
        return tier->second;
    }
  }
  if (p.default_tier == std::string::npos) return std::nullopt;
  return p.default_tier;
}

void make_plan(const CompiledPolicy& p, const Resolved& r, std::optional<std::size_t> tier,
               Plan& plan) {
  plan.keys.clear();
  plan.items.clear();
  const auto add = [&](const std::vector<CompiledLimit>& limits) {
    for (const auto& l : limits) {
      const std::size_t offset = plan.keys.size();
      if (append_limit_key(p, r, l, plan.keys))
        plan.items.push_back({&l, offset, plan.keys.size() - offset});
    }
  };
  add(p.limits);
  if (tier) add(p.tiers[*tier].limits);
  if (r.endpoint_rule) add(p.endpoints[*r.endpoint_rule].limits);
}

// Decides the plan's items selected by `shadow` atomically; appends each
// check's result. Returns nullopt when no item was selected.
std::optional<Decision> decide_group(Store& store, const Plan& plan, bool shadow_group,
                                     bool all_shadow, Micros now, std::int64_t cost,
                                     std::vector<CheckResult>& out) {
  // Per-thread scratch, sized to this request (constructing 32 Decisions
  // each time costs more than the rest of the bookkeeping).
  thread_local std::vector<Check> checks;
  thread_local std::vector<Decision> each;
  thread_local std::vector<const LimitRule*> rules;
  checks.resize(plan.items.size());
  rules.resize(plan.items.size());
  std::size_t n = 0;
  for (const auto& item : plan.items) {
    const LimitRule& rule = *item.limit->rule;
    if ((rule.shadow && !all_shadow) != shadow_group) continue;
    // A limit that counts requests is charged 1 whatever the request costs.
    checks[n] = Check{&rule.spec, plan.key(item),
                      rule.counts == Counts::requests ? 1 : Check::kDecisionCost};
    rules[n++] = &rule;
  }
  if (n == 0) return std::nullopt;
  each.resize(n);
  const Decision combined = store.decide(std::span<const Check>(checks.data(), n), cost, now,
                                         std::span<Decision>(each.data(), n));
  for (std::size_t i = 0; i < n; ++i)
    out.push_back({rules[i]->name, each[i], shadow_group || all_shadow, rules[i]->spec.limit(),
                   rules[i]->spec.window()});
  return combined;
}

thread_local Plan t_plan;

}  // namespace

PolicyEngine::PolicyEngine(Store& store, AttributeStore& attributes, const Clock& clock,
                           PolicyConfig config)
    : store_(store),
      clock_(clock),
      directory_(attributes, clock, IdentifierHasher(config.api_key_salt),
                 config.store.refresh_interval),
      policy_(std::make_shared<const CompiledPolicy>(std::move(config))) {}

PolicyEngine::~PolicyEngine() = default;

std::shared_ptr<const CompiledPolicy> PolicyEngine::compiled() const { return policy_.load(); }

std::shared_ptr<const PolicyConfig> PolicyEngine::config() const { return compiled()->config; }

void PolicyEngine::reload(PolicyConfig config) {
  const auto current = compiled();
  std::vector<ConfigIssue> issues;
  if (!(config.store == current->config->store)) {
    issues.push_back({config.source, 0, 0, "'store' settings changed; they apply only at start",
                      "restart the service to use the new store"});
  }
  if (!(config.service == current->config->service)) {
    issues.push_back({config.source, 0, 0, "'service' settings changed; they apply only at start",
                      "restart the service to use the new settings"});
  }
  if (!(config.proxy == current->config->proxy)) {
    issues.push_back({config.source, 0, 0, "'proxy' settings changed; they apply only at start",
                      "restart the service to use the new proxy settings"});
  }
  if (config.api_key_salt != current->config->api_key_salt) {
    issues.push_back({config.source, 0, 0, "'api_keys' salt changed; it applies only at start",
                      "a new salt orphans every API-key record and usage: restart deliberately"});
  }
  if (!issues.empty()) throw ConfigError(std::move(issues));
  policy_.store(std::make_shared<const CompiledPolicy>(std::move(config)));
  reloads_.fetch_add(1, std::memory_order_relaxed);
}

void PolicyEngine::reload_file(const std::filesystem::path& path) {
  reload(load_config_file(path));
}

void PolicyEngine::assign_tier(IdType type, std::string_view id, std::string_view tier,
                               std::optional<Micros> ttl, std::string_view actor) {
  const auto p = compiled();
  if (p->tier_index.find(tier) == p->tier_index.end()) {
    std::string known;
    for (const auto& t : p->config->tiers) known += (known.empty() ? "" : ", ") + t.name;
    throw InvalidRequest("unknown tier '" + std::string(tier) + "'" +
                         (known.empty() ? "; no tiers are configured" : "; tiers: " + known));
  }
  directory_.assign_tier(type, id, tier, ttl, actor);
}

// What both decide and keys_for start from: the config in force, the
// resolved attributes, the instant and the runtime records. The config and
// the records are the caller's (owned, or the thread's copies).
struct PolicyEngine::Context {
  Context(const CompiledPolicy& policy, Micros at, const DirectorySnapshot& records,
          const Request& request)
      : p(&policy), now(at), snap(&records) {
    resolve(*p, request, r);
  }
  const CompiledPolicy* p;
  Micros now;
  const DirectorySnapshot* snap;
  Resolved r;
};

std::vector<std::string> PolicyEngine::keys_for(const Request& request) {
  const auto policy = compiled();
  const Micros at = clock_.now();
  const auto records = directory_.snapshot(at);
  const Context c(*policy, at, *records, request);
  const auto& p = c.p;
  const Resolved& r = c.r;
  const Micros now = c.now;
  const auto& snap = c.snap;
  Plan plan;
  make_plan(*p, r, tier_of(*p, *snap, r, now), plan);
  std::vector<std::string> keys;
  for (const auto& item : plan.items) keys.emplace_back(plan.key(item));
  return keys;
}

PolicyDecision PolicyEngine::decide(const Request& request) {
  // The thread's copies: nothing below reads them again through
  // thread_copy() while `c` is in use (see Published::thread_copy).
  const Micros at = clock_.now();
  const Context c(*policy_.thread_copy(), at, *directory_.thread_snapshot(at), request);
  const auto& p = c.p;
  const Resolved& r = c.r;
  const Micros now = c.now;
  const auto& snap = c.snap;
  PolicyDecision out;
  out.endpoint = r.endpoint;

  if (const auto hit = list_hit(ListKind::denylist, *p, *snap, r, now)) {
    out.allowed = false;
    out.denylisted = true;
    out.scope = "denylist";
    out.reason = hit->reason;
    out.decision.allowed = false;
    out.decision.retry_after = hit->expires_at ? *hit->expires_at - now : kInfinite;
    return out;
  }
  if (list_hit(ListKind::whitelist, *p, *snap, r, now)) {
    out.whitelisted = true;
    out.scope = "whitelist";
    out.decision.allowed = true;
    return out;
  }

  const auto tier = tier_of(*p, *snap, r, now);
  double multiplier = 1.0;
  if (tier) {
    out.tier = p->tiers[*tier].tier->name;
    multiplier = p->tiers[*tier].tier->cost_multiplier;
  }
  const std::int64_t base = request.cost
                                ? *request.cost
                                : (r.endpoint_rule ? p->endpoints[*r.endpoint_rule].rule->cost : 1);
  out.cost = multiplier == 1.0
                 ? base
                 : static_cast<std::int64_t>(std::ceil(static_cast<double>(base) * multiplier));

  Plan& plan = t_plan;
  make_plan(*p, r, tier, plan);
  if (plan.items.empty()) {
    out.decision.allowed = true;
    return out;
  }
  const bool all_shadow = p->config->shadow;
  out.checks.reserve(plan.items.size());
  const auto enforced = decide_group(store_, plan, false, all_shadow, now, out.cost, out.checks);
  if (enforced) {
    out.decision = *enforced;
    out.scope = out.checks[out.decision.check_index].scope;
  } else {
    out.decision.allowed = true;
  }
  if (all_shadow && !out.decision.allowed) {
    // Global shadow: the limits ran as if enforced; nothing is refused.
    out.shadow_denied = true;
    out.decision.allowed = true;
    out.decision.retry_after = 0;
  }
  // Shadow limits count what the enforced ones let through.
  if (out.decision.allowed && !all_shadow) {
    const std::size_t first = out.checks.size();
    if (const auto s = decide_group(store_, plan, true, false, now, out.cost, out.checks)) {
      if (!s->allowed) out.shadow_denied = true;
      if (!enforced) {
        out.scope = out.checks[first + s->check_index].scope;
        out.decision = *s;
        out.decision.allowed = true;
        out.decision.retry_after = 0;
      }
    }
  }
  out.allowed = out.decision.allowed;
  return out;
}

}  // namespace ratelimit::policy
