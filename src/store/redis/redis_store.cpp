// RedisStore: every decision is one EVALSHA of the decision script per hash
// slot; NOSCRIPT, MOVED and ASK are handled here, failures surface as
// StoreUnavailable.

#include "ratelimit/redis_store.hpp"

#include <algorithm>
#include <array>
#include <optional>
#include <string>

#include "core/request_validation.hpp"
#include "store/redis/decide_script.hpp"
#include "store/redis/options_validation.hpp"
#include "store/redis/topology.hpp"

namespace ratelimit {

using redis::Command;
using redis::Counters;
using redis::NodePool;
using redis::Reply;

namespace {

constexpr int kMaxRedirects = 5;
constexpr std::size_t kFieldsPerCheck = 5;  // allowed, remaining, reset_after, retry_after, delay

bool starts_with(std::string_view s, std::string_view prefix) { return s.substr(0, prefix.size()) == prefix; }

// "MOVED 3999 127.0.0.1:6381" / "ASK 3999 127.0.0.1:6381" -> the endpoint.
RedisEndpoint redirect_target(std::string_view err) {
  const auto space = err.rfind(' ');
  const std::string_view addr = err.substr(space + 1);
  const auto colon = addr.rfind(':');
  if (space == std::string_view::npos || colon == std::string_view::npos) {
    throw StoreUnavailable(StoreUnavailable::Kind::reply, "redis: malformed redirection '" + std::string(err) + "'");
  }
  return {std::string(addr.substr(0, colon)), std::stoi(std::string(addr.substr(colon + 1)))};
}

// Error replies that mean "this node cannot serve now" (a failover, a restart
// loading its data, a cluster reconfiguring): the topology looks again.
bool is_node_unavailable(std::string_view err) {
  return starts_with(err, "READONLY") || starts_with(err, "LOADING") || starts_with(err, "MASTERDOWN") ||
         starts_with(err, "CLUSTERDOWN") || starts_with(err, "TRYAGAIN");
}

}  // namespace

struct RedisStore::Impl {
  explicit Impl(RedisStoreOptions o) : options(std::move(o)) {
    settings.username = options.username;
    settings.password = options.password;
    settings.database = options.database;
    settings.connect_timeout_ms = options.connect_timeout_ms;
    settings.command_timeout_ms = options.command_timeout_ms;
    topology = redis::make_topology(options, settings, counters);
  }

  // Checks of one decision that live on one slot (all of them outside Cluster).
  struct Group {
    int slot = 0;
    std::vector<std::uint32_t> checks;
  };

  // Loads the script on `pool`'s node; remembers its SHA1 (the same on every node).
  void load_script(NodePool& pool) {
    Reply r = pool.connection().run(Command{{"SCRIPT", "LOAD", std::string(redis::kDecideScript)}});
    Counters::bump(counters.script_loads);
    if (r->type != REDIS_REPLY_STRING) {
      Counters::bump(counters.errors);
      throw StoreUnavailable(StoreUnavailable::Kind::reply,
                             "redis " + redis::describe(pool.endpoint()) +
                                 ": SCRIPT LOAD failed: " + std::string(redis::error_text(*r)));
    }
    std::lock_guard lock(sha_mu);
    sha.assign(r->str, r->len);
  }
  std::string current_sha() {
    std::lock_guard lock(sha_mu);
    return sha;
  }

  // Runs the script once for `group`: op "decide" (cost 0 = peek) or
  // "refund". `at` is the instant, or nullopt for Redis TIME. Writes each
  // check's decision into out[index] and returns the instant the script used.
  Micros run_script(std::span<const Check> checks, const std::vector<std::string>& keys, const Group& group,
                    std::int64_t cost, std::optional<Micros> at, std::string_view op, std::span<Decision> out) {
    std::shared_ptr<NodePool> pool = topology->pool_for(group.slot);
    if (current_sha().empty()) run_guarded(*pool, [&] { load_script(*pool); });

    Command cmd;
    auto& a = cmd.args;
    a.reserve(6 + group.checks.size() * (1 + kFieldsPerCheck));
    a.emplace_back("EVALSHA");
    a.emplace_back(current_sha());
    a.emplace_back(std::to_string(group.checks.size()));
    for (const std::uint32_t i : group.checks) a.push_back(keys[i]);
    a.emplace_back(at ? std::to_string(*at) : std::string());
    a.emplace_back(std::to_string(cost));
    a.emplace_back(op);
    for (const std::uint32_t i : group.checks) {
      const LimitSpec& s = *checks[i].spec;
      a.emplace_back(std::to_string(static_cast<int>(s.algorithm())));
      a.emplace_back(std::to_string(s.limit()));
      a.emplace_back(std::to_string(s.window()));
      a.emplace_back(std::to_string(s.burst()));
      a.emplace_back(std::to_string(static_cast<int>(s.mode())));
    }

    std::shared_ptr<NodePool> ask;  // set for one attempt after an ASK
    for (int attempt = 0; attempt <= kMaxRedirects; ++attempt) {
      Reply r;
      if (ask) {
        const Command asking{{"ASKING"}};
        const std::array<const Command*, 2> both{&asking, &cmd};
        auto replies = run_guarded(*ask, [&] { return ask->connection().run(both); });
        r = std::move(replies[1]);
        ask.reset();
      } else {
        r = run_guarded(*pool, [&] { return pool->connection().run(cmd); });
      }
      const std::string_view err = redis::error_text(*r);
      if (err.empty()) {
        Counters::bump(counters.scripts_run);
        return parse(*r, checks, group, out);
      }
      if (starts_with(err, "NOSCRIPT")) {
        run_guarded(*pool, [&] { load_script(*pool); });  // after SCRIPT FLUSH or a restart
        continue;
      }
      if (starts_with(err, "MOVED")) {
        Counters::bump(counters.redirects);
        pool = topology->on_moved(group.slot, redirect_target(err));
        continue;
      }
      if (starts_with(err, "ASK")) {
        Counters::bump(counters.redirects);
        ask = topology->pool_at(redirect_target(err));
        continue;
      }
      Counters::bump(counters.errors);
      if (is_node_unavailable(err)) {
        topology->on_failure(*pool);
        // A demoted master answers READONLY: the next attempt asks for the new one.
        if (starts_with(err, "READONLY") && attempt == 0) {
          pool = topology->pool_for(group.slot);
          continue;
        }
        throw StoreUnavailable(StoreUnavailable::Kind::reply,
                               "redis " + redis::describe(pool->endpoint()) + ": " + std::string(err));
      }
      throw StoreUnavailable(StoreUnavailable::Kind::reply,
                             "redis " + redis::describe(pool->endpoint()) + ": decision script failed: " +
                                 std::string(err));
    }
    throw StoreUnavailable(StoreUnavailable::Kind::reply,
                           "redis: more than " + std::to_string(kMaxRedirects) + " redirections for one decision");
  }

  // Runs `fn` against `pool`; a connection failure tells the topology first.
  template <class Fn>
  auto run_guarded(NodePool& pool, Fn&& fn) -> decltype(fn()) {
    try {
      return fn();
    } catch (const StoreUnavailable&) {
      topology->on_failure(pool);
      throw;
    }
  }

  Micros parse(const redisReply& r, std::span<const Check> checks, const Group& group, std::span<Decision> out) {
    const std::size_t n = group.checks.size();
    if (r.type != REDIS_REPLY_ARRAY || r.elements != 1 + kFieldsPerCheck * n) {
      Counters::bump(counters.errors);
      throw StoreUnavailable(StoreUnavailable::Kind::reply, "redis: the decision script returned an unexpected reply");
    }
    auto field = [&](std::size_t i) -> long long {
      const redisReply* e = r.element[i];
      if (e->type != REDIS_REPLY_INTEGER) {
        throw StoreUnavailable(StoreUnavailable::Kind::reply, "redis: non-integer field in the script's reply");
      }
      return e->integer;
    };
    for (std::size_t j = 0; j < n; ++j) {
      const std::size_t base = 1 + kFieldsPerCheck * j;
      Decision& d = out[group.checks[j]];
      d = Decision{};
      d.allowed = field(base) == 1;
      d.limit = checks[group.checks[j]].spec->reported_limit();
      d.remaining = field(base + 1);
      d.reset_after = field(base + 2);
      const long long retry = field(base + 3);
      d.retry_after = retry < 0 ? kInfinite : retry;
      d.delay = field(base + 4);
    }
    return field(0);
  }

  std::vector<Group> group_by_slot(const std::vector<std::string>& keys) const {
    std::vector<Group> groups;
    if (!topology->sharded()) {
      groups.push_back({0, {}});
      for (std::uint32_t i = 0; i < keys.size(); ++i) groups.front().checks.push_back(i);
      return groups;
    }
    for (std::uint32_t i = 0; i < keys.size(); ++i) {
      const int slot = redis::key_slot(keys[i]);
      auto it = std::find_if(groups.begin(), groups.end(), [&](const Group& g) { return g.slot == slot; });
      if (it == groups.end()) {
        groups.push_back({slot, {i}});
      } else {
        it->checks.push_back(i);
      }
    }
    return groups;
  }

  std::vector<std::string> redis_keys(std::span<const Check> checks) const {
    std::vector<std::string> keys;
    keys.reserve(checks.size());
    for (const Check& c : checks) keys.push_back(options.key_prefix + std::string(c.key));
    return keys;
  }

  Decision decide(std::span<const Check> checks, std::int64_t cost, Micros now, std::span<Decision> each) {
    std::array<Decision, Store::kMaxChecks> buffer;
    const std::span<Decision> out = each.empty() ? std::span<Decision>(buffer).first(checks.size()) : each;
    const std::vector<std::string> keys = redis_keys(checks);
    const std::vector<Group> groups = group_by_slot(keys);
    std::optional<Micros> at;
    if (options.time_mode == RedisTimeMode::client) at = now;

    if (groups.size() == 1) {
      run_script(checks, keys, groups.front(), cost, at, "decide", out);
      return combine(out);
    }
    // Several slots (Cluster): charge slot by slot, all at the first slot's
    // instant; if one denies, undo the slots already charged and peek the rest.
    for (std::size_t g = 0; g < groups.size(); ++g) {
      const Micros t = run_script(checks, keys, groups[g], cost, at, "decide", out);
      if (!at) at = t;
      const bool denied = std::any_of(groups[g].checks.begin(), groups[g].checks.end(),
                                      [&](std::uint32_t i) { return !out[i].allowed; });
      if (!denied || cost == 0) continue;
      std::array<Decision, Store::kMaxChecks> scratch;
      for (std::size_t done = 0; done < g; ++done) {
        run_script(checks, keys, groups[done], cost, at, "refund", scratch);
        Counters::bump(counters.refunds);
        // What the refunded checks report: their state without this request.
        run_script(checks, keys, groups[done], 0, at, "decide", out);
      }
      for (std::size_t rest = g + 1; rest < groups.size(); ++rest) {
        run_script(checks, keys, groups[rest], 0, at, "decide", out);
      }
      break;
    }
    return combine(out);
  }

  void reset(std::span<const Check> checks) {
    const std::vector<std::string> keys = redis_keys(checks);
    for (const Group& g : group_by_slot(keys)) {
      Command del{{"DEL"}};
      for (const std::uint32_t i : g.checks) del.args.push_back(keys[i]);
      std::shared_ptr<NodePool> pool = topology->pool_for(g.slot);
      for (int attempt = 0; attempt <= kMaxRedirects; ++attempt) {
        Reply r = run_guarded(*pool, [&] { return pool->connection().run(del); });
        const std::string_view err = redis::error_text(*r);
        if (err.empty()) break;
        if (starts_with(err, "MOVED") && attempt < kMaxRedirects) {
          Counters::bump(counters.redirects);
          pool = topology->on_moved(g.slot, redirect_target(err));
          continue;
        }
        Counters::bump(counters.errors);
        throw StoreUnavailable(StoreUnavailable::Kind::reply,
                               "redis " + redis::describe(pool->endpoint()) + ": DEL failed: " + std::string(err));
      }
    }
  }

  RedisStoreOptions options;
  redis::ConnectSettings settings;
  Counters counters;
  std::unique_ptr<redis::Topology> topology;
  std::mutex sha_mu;
  std::string sha;  // guarded by sha_mu; empty until the first SCRIPT LOAD
};

namespace {

RedisStoreOptions validated(RedisStoreOptions o) {
  if (const std::string problem = redis::validate_options(o); !problem.empty()) {
    throw InvalidRedisUrl("invalid Redis store options: " + problem);
  }
  return o;
}

}  // namespace

RedisStore::RedisStore(RedisStoreOptions options) : impl_(std::make_unique<Impl>(validated(std::move(options)))) {}
RedisStore::~RedisStore() = default;

Decision RedisStore::decide(std::span<const Check> checks, std::int64_t cost, Micros now, std::span<Decision> each) {
  validate_instant(now);
  validate_request(checks, cost, each);
  return impl_->decide(checks, cost, now, each);
}

Decision RedisStore::decide_one_now(const Check& check, std::int64_t cost, const Clock& clock) {
  // In server time mode Redis reads its own clock: ours is not needed.
  const Micros now = impl_->options.time_mode == RedisTimeMode::client ? clock.now() : 0;
  return decide_one(check, cost, now);
}

void RedisStore::reset(std::span<const Check> checks) {
  validate_request(checks, 0, {});
  impl_->reset(checks);
}

StoreStats RedisStore::stats() const { return {}; }

RedisStats RedisStore::redis_stats() const { return impl_->counters.snapshot(); }

const RedisStoreOptions& RedisStore::options() const noexcept { return impl_->options; }

std::string RedisStore::redis_key(std::string_view key) const { return impl_->options.key_prefix + std::string(key); }

}  // namespace ratelimit
