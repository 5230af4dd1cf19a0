// Router: commands and scripts to the node serving a slot, with NOSCRIPT,
// MOVED, ASK and demoted masters handled; failures surface as StoreUnavailable.

#include "store/redis/router.hpp"

#include <array>
#include <string>
#include <utility>

#include "store/redis/options_validation.hpp"

namespace ratelimit::redis {

namespace {

constexpr int kMaxRedirects = 5;

bool starts_with(std::string_view s, std::string_view prefix) {
  return s.substr(0, prefix.size()) == prefix;
}

// "MOVED 3999 127.0.0.1:6381" / "ASK 3999 127.0.0.1:6381" -> the endpoint.
RedisEndpoint redirect_target(std::string_view err) {
  const auto space = err.rfind(' ');
  const std::string_view addr = err.substr(space + 1);
  const auto colon = addr.rfind(':');
  if (space == std::string_view::npos || colon == std::string_view::npos) {
    throw StoreUnavailable(StoreUnavailable::Kind::reply,
                           "redis: malformed redirection '" + std::string(err) + "'");
  }
  return {std::string(addr.substr(0, colon)), std::stoi(std::string(addr.substr(colon + 1)))};
}

// Error replies that mean "this node cannot serve now" (a failover, a restart
// loading its data, a cluster reconfiguring): the topology looks again.
bool is_node_unavailable(std::string_view err) {
  return starts_with(err, "READONLY") || starts_with(err, "LOADING") ||
         starts_with(err, "MASTERDOWN") || starts_with(err, "CLUSTERDOWN") ||
         starts_with(err, "TRYAGAIN");
}

ConnectSettings connect_settings(const RedisStoreOptions& options) {
  ConnectSettings s;
  s.username = options.username;
  s.password = options.password;
  s.database = options.database;
  s.connect_timeout_ms = options.connect_timeout_ms;
  s.command_timeout_ms = options.command_timeout_ms;
  return s;
}

}  // namespace

RedisStoreOptions validated(RedisStoreOptions options) {
  if (const std::string problem = validate_options(options); !problem.empty()) {
    throw InvalidRedisUrl("invalid Redis store options: " + problem);
  }
  return options;
}

std::string Script::sha() const {
  std::lock_guard lock(mu_);
  return sha_;
}

void Script::set_sha(std::string sha) {
  std::lock_guard lock(mu_);
  sha_ = std::move(sha);
}

Router::Router(const RedisStoreOptions& options)
    : settings_(connect_settings(options)),
      topology_(make_topology(options, settings_, counters_)) {}

template <class Fn>
auto Router::guarded(NodePool& pool, Fn&& fn) -> decltype(fn()) {
  try {
    return fn();
  } catch (const StoreUnavailable&) {
    topology_->on_failure(pool);
    throw;
  }
}

void Router::load_script(Script& script, NodePool& pool) {
  Reply r = pool.connection().run(Command{{"SCRIPT", "LOAD", std::string(script.text())}});
  Counters::bump(counters_.script_loads);
  if (r->type != REDIS_REPLY_STRING) {
    Counters::bump(counters_.errors);
    throw StoreUnavailable(StoreUnavailable::Kind::reply,
                           "redis " + describe(pool.endpoint()) +
                               ": SCRIPT LOAD failed: " + std::string(error_text(*r)));
  }
  script.set_sha(std::string(r->str, r->len));
}

Reply Router::run(Command cmd, int slot, std::string_view what) {
  return execute(nullptr, cmd, slot, what);
}

Reply Router::run_script(Script& script, Command& cmd, int slot, std::string_view what) {
  return execute(&script, cmd, slot, what);
}

Reply Router::execute(Script* script, Command& cmd, int slot, std::string_view what) {
  std::shared_ptr<NodePool> pool = topology_->pool_for(slot);
  if (script != nullptr) {
    if (script->sha().empty()) guarded(*pool, [&] { load_script(*script, *pool); });
    cmd.args[1] = script->sha();
  }
  std::shared_ptr<NodePool> ask;  // set for the attempts that follow an ASK
  for (int attempt = 0; attempt <= kMaxRedirects; ++attempt) {
    Reply r;
    if (ask) {
      const Command asking{{"ASKING"}};
      const std::array<const Command*, 2> both{&asking, &cmd};
      auto replies = guarded(*ask, [&] { return ask->connection().run(both); });
      r = std::move(replies[1]);
    } else {
      r = guarded(*pool, [&] { return pool->connection().run(cmd); });
    }
    const std::string_view err = error_text(*r);
    if (err.empty()) {
      if (script != nullptr) Counters::bump(counters_.scripts_run);
      return r;
    }
    if (script != nullptr && starts_with(err, "NOSCRIPT")) {
      // After SCRIPT FLUSH, a restart, or on a node that never ran it (an
      // ASK target): load it where it was missing and try that node again.
      NodePool& missing = ask ? *ask : *pool;
      guarded(missing, [&] { load_script(*script, missing); });
      cmd.args[1] = script->sha();
      continue;
    }
    ask.reset();
    if (starts_with(err, "MOVED")) {
      Counters::bump(counters_.redirects);
      pool = topology_->on_moved(slot, redirect_target(err));
      continue;
    }
    if (starts_with(err, "ASK")) {
      Counters::bump(counters_.redirects);
      ask = topology_->pool_at(redirect_target(err));
      continue;
    }
    Counters::bump(counters_.errors);
    if (is_node_unavailable(err)) {
      topology_->on_failure(*pool);
      // A demoted master answers READONLY: the next attempt asks for the new one.
      if (starts_with(err, "READONLY") && attempt == 0) {
        pool = topology_->pool_for(slot);
        continue;
      }
      throw StoreUnavailable(StoreUnavailable::Kind::reply,
                             "redis " + describe(pool->endpoint()) + ": " + std::string(err));
    }
    throw StoreUnavailable(StoreUnavailable::Kind::reply, "redis " + describe(pool->endpoint()) +
                                                              ": " + std::string(what) +
                                                              " failed: " + std::string(err));
  }
  throw StoreUnavailable(StoreUnavailable::Kind::reply,
                         "redis: more than " + std::to_string(kMaxRedirects) +
                             " redirections for one " + std::string(what));
}

}  // namespace ratelimit::redis
