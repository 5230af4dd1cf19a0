#pragma once
// Runs commands and Lua scripts on the Redis node serving a hash slot,
// following NOSCRIPT, MOVED, ASK and a demoted master; shared by RedisStore
// and RedisAttributeStore (internal).

#include <memory>
#include <mutex>
#include <string>
#include <string_view>

#include "ratelimit/redis_store.hpp"
#include "store/redis/connection.hpp"
#include "store/redis/counters.hpp"
#include "store/redis/topology.hpp"

namespace ratelimit::redis {

/// `options` when they are usable; throws InvalidRedisUrl naming the problem.
[[nodiscard]] RedisStoreOptions validated(RedisStoreOptions options);

/// A Lua script run with EVALSHA: its text and, once loaded, its SHA1 (the
/// same on every node). Thread-safe.
class Script {
 public:
  /// `text` must outlive the Script (a literal or an embedded file).
  explicit Script(std::string_view text) noexcept : text_(text) {}

  [[nodiscard]] std::string_view text() const noexcept { return text_; }
  /// The SHA1 SCRIPT LOAD returned, or "" before the first load.
  [[nodiscard]] std::string sha() const;
  void set_sha(std::string sha);

 private:
  std::string_view text_;
  mutable std::mutex mu_;
  std::string sha_;  // guarded by mu_
};

/// One client's way to its Redis deployment: the connect settings, the
/// counters and the topology (standalone, Sentinel or Cluster) with its
/// connection pools. Thread-safe.
class Router {
 public:
  /// Prepares the topology for validated `options` (see `validated`);
  /// connects lazily.
  explicit Router(const RedisStoreOptions& options);
  Router(const Router&) = delete;
  Router& operator=(const Router&) = delete;

  /// Runs `cmd` on the master serving `slot` (ignored outside Cluster),
  /// following MOVED, ASK and a demoted master (READONLY, once). Returns the
  /// reply, which is never an error reply. Throws StoreUnavailable: I/O
  /// failures and timeouts (after telling the topology), error replies (the
  /// message names `what`, e.g. "DEL"), too many redirections.
  Reply run(Command cmd, int slot, std::string_view what);

  /// Like `run` for an EVALSHA of `script`: `cmd.args[1]` is filled with the
  /// script's SHA1. The script is loaded (SCRIPT LOAD) before its first use
  /// and again where a node answers NOSCRIPT (after SCRIPT FLUSH, a restart,
  /// or on an ASK target). Counts `scripts_run`.
  Reply run_script(Script& script, Command& cmd, int slot, std::string_view what);

  /// True when keys on different slots may live on different nodes (Cluster).
  [[nodiscard]] bool sharded() const noexcept { return topology_->sharded(); }
  [[nodiscard]] Counters& counters() noexcept { return counters_; }

 private:
  // The loop behind run and run_script (script == nullptr: a plain command).
  Reply execute(Script* script, Command& cmd, int slot, std::string_view what);
  void load_script(Script& script, NodePool& pool);
  // Runs `fn` against `pool`; a connection failure tells the topology first.
  template <class Fn>
  auto guarded(NodePool& pool, Fn&& fn) -> decltype(fn());

  ConnectSettings settings_;  // before topology_, which keeps a reference
  Counters counters_;         // likewise
  std::unique_ptr<Topology> topology_;
};

}  // namespace ratelimit::redis
