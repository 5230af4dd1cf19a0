// RedisStore: every decision is one EVALSHA of the decision script per hash
// slot; NOSCRIPT, MOVED and ASK are handled here, failures surface as
// StoreUnavailable.

#include "ratelimit/redis_store.hpp"

#include <algorithm>
#include <array>
#include <exception>
#include <optional>
#include <string>

#include "core/request_validation.hpp"
#include "store/redis/combiner.hpp"
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
    for (int i = 0; i < options.pool_size; ++i) lanes.push_back(std::make_unique<redis::Combiner<BatchItem>>());
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

  // Appends the 5 script parameters of each listed check.
  static void append_specs(Command& cmd, std::span<const Check> checks, const std::vector<std::uint32_t>& idx) {
    for (const std::uint32_t i : idx) {
      const LimitSpec& s = *checks[i].spec;
      cmd.args.emplace_back(std::to_string(static_cast<int>(s.algorithm())));
      cmd.args.emplace_back(std::to_string(s.limit()));
      cmd.args.emplace_back(std::to_string(s.window()));
      cmd.args.emplace_back(std::to_string(s.burst()));
      cmd.args.emplace_back(std::to_string(static_cast<int>(s.mode())));
    }
  }

  static std::string instant_arg(std::optional<Micros> at) { return at ? std::to_string(*at) : std::string(); }

  // Runs the script once for `group`: op "decide" (cost 0 = peek) or
  // "refund". `at` is the instant, or nullopt for Redis TIME. Writes each
  // check's decision into out[index] and returns the instant the script used.
  Micros run_script(std::span<const Check> checks, const std::vector<std::string>& keys, const Group& group,
                    std::int64_t cost, std::optional<Micros> at, std::string_view op, std::span<Decision> out) {
    Command cmd;
    cmd.args.reserve(6 + group.checks.size() * (1 + kFieldsPerCheck));
    cmd.args = {"EVALSHA", "", std::to_string(group.checks.size())};
    for (const std::uint32_t i : group.checks) cmd.args.push_back(keys[i]);
    cmd.args.push_back(instant_arg(at));
    cmd.args.push_back(std::to_string(cost));
    cmd.args.emplace_back(op);
    append_specs(cmd, checks, group.checks);
    Reply r = execute(cmd, group.slot);
    expect_fields(*r, group.checks.size());
    parse_into(*r, 1, checks, group.checks, out);
    return r->element[0]->integer;
  }

  // A decision waiting in a batch (see decide_batched).
  struct BatchItem {
    std::span<const Check> checks;
    const std::vector<std::string>* keys = nullptr;
    const Group* group = nullptr;
    std::int64_t cost = 0;
    std::optional<Micros> at;
    std::span<Decision> out;
    std::exception_ptr error;
  };

  // Decides one whole batch of single-slot decisions with one script call
  // (op "batch"), or a lone decision with op "decide". Never throws: a
  // failure fails every decision of the batch.
  void run_batch(std::span<BatchItem* const> batch) {
    try {
      if (batch.size() == 1) {
        const BatchItem& b = *batch.front();
        run_script(b.checks, *b.keys, *b.group, b.cost, b.at, "decide", b.out);
        return;
      }
      Command cmd;
      std::size_t total = 0;
      for (const BatchItem* b : batch) total += b->group->checks.size();
      cmd.args.reserve(6 + total * 7 + batch.size() * 3);
      cmd.args = {"EVALSHA", "", std::to_string(total)};
      for (const BatchItem* b : batch) {
        for (const std::uint32_t i : b->group->checks) cmd.args.push_back((*b->keys)[i]);
      }
      cmd.args.emplace_back();
      cmd.args.push_back(std::to_string(batch.size()));
      cmd.args.emplace_back("batch");
      for (const BatchItem* b : batch) {
        cmd.args.push_back(instant_arg(b->at));
        cmd.args.push_back(std::to_string(b->cost));
        cmd.args.push_back(std::to_string(b->group->checks.size()));
        append_specs(cmd, b->checks, b->group->checks);
      }
      Reply r = execute(cmd, batch.front()->group->slot);
      expect_fields(*r, total);
      std::size_t field = 1;
      for (BatchItem* b : batch) {
        parse_into(*r, field, b->checks, b->group->checks, b->out);
        field += kFieldsPerCheck * b->group->checks.size();
      }
    } catch (...) {
      const auto error = std::current_exception();
      for (BatchItem* b : batch) b->error = error;
    }
  }

  // Sends `cmd` (an EVALSHA whose SHA, args[1], this fills in) to the node
  // serving `slot`, following NOSCRIPT, MOVED, ASK and a demoted master.
  // Returns the script's reply; throws StoreUnavailable.
  Reply execute(Command& cmd, int slot) {
    std::shared_ptr<NodePool> pool = topology->pool_for(slot);
    if (current_sha().empty()) run_guarded(*pool, [&] { load_script(*pool); });
    cmd.args[1] = current_sha();
    std::shared_ptr<NodePool> ask;  // set for the attempts that follow an ASK
    for (int attempt = 0; attempt <= kMaxRedirects; ++attempt) {
      Reply r;
      if (ask) {
        const Command asking{{"ASKING"}};
        const std::array<const Command*, 2> both{&asking, &cmd};
        auto replies = run_guarded(*ask, [&] { return ask->connection().run(both); });
        r = std::move(replies[1]);
      } else {
        r = run_guarded(*pool, [&] { return pool->connection().run(cmd); });
      }
      const std::string_view err = redis::error_text(*r);
      if (err.empty()) {
        Counters::bump(counters.scripts_run);
        return r;
      }
      if (starts_with(err, "NOSCRIPT")) {
        // After SCRIPT FLUSH, a restart, or on a node that never ran it (an
        // ASK target): load it where it was missing and try that node again.
        NodePool& missing = ask ? *ask : *pool;
        run_guarded(missing, [&] { load_script(missing); });
        cmd.args[1] = current_sha();
        continue;
      }
      ask.reset();
      if (starts_with(err, "MOVED")) {
        Counters::bump(counters.redirects);
        pool = topology->on_moved(slot, redirect_target(err));
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
          pool = topology->pool_for(slot);
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

  void expect_fields(const redisReply& r, std::size_t checks) {
    if (r.type != REDIS_REPLY_ARRAY || r.elements != 1 + kFieldsPerCheck * checks) {
      Counters::bump(counters.errors);
      throw StoreUnavailable(StoreUnavailable::Kind::reply, "redis: the decision script returned an unexpected reply");
    }
    for (std::size_t i = 0; i < r.elements; ++i) {
      if (r.element[i]->type != REDIS_REPLY_INTEGER) {
        Counters::bump(counters.errors);
        throw StoreUnavailable(StoreUnavailable::Kind::reply, "redis: non-integer field in the script's reply");
      }
    }
  }

  // Reads the 5 fields per check starting at reply element `first`.
  static void parse_into(const redisReply& r, std::size_t first, std::span<const Check> checks,
                         const std::vector<std::uint32_t>& idx, std::span<Decision> out) {
    for (std::size_t j = 0; j < idx.size(); ++j) {
      const std::size_t base = first + kFieldsPerCheck * j;
      Decision& d = out[idx[j]];
      d = Decision{};
      d.allowed = r.element[base]->integer == 1;
      d.limit = checks[idx[j]].spec->reported_limit();
      d.remaining = r.element[base + 1]->integer;
      d.reset_after = r.element[base + 2]->integer;
      const long long retry = r.element[base + 3]->integer;
      d.retry_after = retry < 0 ? kInfinite : retry;
      d.delay = r.element[base + 4]->integer;
    }
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
      // Cluster: merged decisions could span slots (CROSSSLOT), so not there.
      if (options.max_batch > 1 && !topology->sharded()) {
        decide_batched(checks, keys, groups.front(), cost, at, out);
      } else {
        run_script(checks, keys, groups.front(), cost, at, "decide", out);
      }
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

  // Concurrent decisions on one slot are merged: a leader sends up to
  // max_batch of them in one script call (Combiner), one lane per pooled
  // connection so several batches can be in flight.
  void decide_batched(std::span<const Check> checks, const std::vector<std::string>& keys, const Group& group,
                      std::int64_t cost, std::optional<Micros> at, std::span<Decision> out) {
    BatchItem item{checks, &keys, &group, cost, at, out, nullptr};
    auto& lane = *lanes[redis::thread_number() % lanes.size()];
    lane.submit(item, static_cast<std::size_t>(options.max_batch),
                [this](std::span<BatchItem* const> batch) { run_batch(batch); });
    if (item.error) std::rethrow_exception(item.error);
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
  std::vector<std::unique_ptr<redis::Combiner<BatchItem>>> lanes;
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
