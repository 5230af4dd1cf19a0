#pragma once
/// @file redis_store.hpp
/// The Redis store: limiter state shared by every instance, each decision one
/// atomic Lua script (lua/decide.lua) over all its checks.

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "ratelimit/store.hpp"

namespace ratelimit {

/// Where a decision's instant comes from.
enum class RedisTimeMode : std::uint8_t {
  /// The script reads Redis `TIME`: every instance shares one clock. The
  /// `now` passed to `decide` is ignored (it is still validated).
  server,
  /// The caller's `now` is used (tests, the conformance runner, replays).
  client,
};

/// How the store finds its Redis.
enum class RedisTopology : std::uint8_t {
  standalone,  ///< one server
  sentinel,    ///< the master named `master_name`, discovered through Sentinels
  cluster,     ///< Redis Cluster: keys routed by hash slot
};

struct RedisEndpoint {
  std::string host;
  int port = 6379;
  friend bool operator==(const RedisEndpoint&, const RedisEndpoint&) = default;
};

/// Everything the Redis store needs; `parse_redis_url` fills it from a URL.
struct RedisStoreOptions {
  RedisTopology topology = RedisTopology::standalone;
  /// The server (standalone), the Sentinels, or the cluster's seed nodes.
  std::vector<RedisEndpoint> endpoints{{"127.0.0.1", 6379}};
  /// Sentinel: the monitored master's name.
  std::string master_name;
  /// AUTH: ACL user (empty: the default user) and password (empty: no AUTH).
  std::string username;
  std::string password;
  /// SELECT (standalone and Sentinel; Cluster has only database 0).
  int database = 0;
  /// Prepended to every key. Must not contain '{' or '}' (hash tags belong to keys).
  std::string key_prefix = "rl:";
  int connect_timeout_ms = 250;
  int command_timeout_ms = 250;
  /// Connections per Redis node. Concurrent decisions on one connection are
  /// pipelined (sent together, answered in order).
  int pool_size = 4;
  /// Most concurrent single-slot decisions merged into one script call (one
  /// EVALSHA runs them one after another, each all-or-none). 1 disables merging.
  int max_batch = 32;
  RedisTimeMode time_mode = RedisTimeMode::server;
};

/// A malformed Redis URL or option; the message names the part that is wrong.
class InvalidRedisUrl : public std::invalid_argument {
 public:
  using std::invalid_argument::invalid_argument;
};

/// Parses
///   redis://[[user]:password@]host[:port][/db][?options]
///   redis+sentinel://[[user]:password@]host:port[,host:port...]/master_name[/db][?options]
///   redis+cluster://[[user]:password@]host:port[,host:port...][?options]
/// Options (query string): prefix, connect_timeout_ms, timeout_ms, pool,
/// batch (max_batch), time=server|client. Percent-escapes are decoded in user, password and prefix.
/// Throws InvalidRedisUrl. Options it does not know are returned in `unknown`
/// (the caller may own them, e.g. GuardedStore's failure options); pass
/// nullptr to reject them.
[[nodiscard]] RedisStoreOptions parse_redis_url(std::string_view url,
                                                std::vector<std::pair<std::string, std::string>>* unknown = nullptr);

/// Counters of the Redis client. Monotonic.
struct RedisStats {
  std::uint64_t scripts_run = 0;     ///< EVALSHA calls answered
  std::uint64_t errors = 0;          ///< connection failures and error replies
  std::uint64_t timeouts = 0;        ///< connects or commands past their timeout
  std::uint64_t reconnects = 0;      ///< connections (re)established
  std::uint64_t script_loads = 0;    ///< SCRIPT LOAD, incl. after NOSCRIPT
  std::uint64_t redirects = 0;       ///< Cluster MOVED and ASK replies followed
  std::uint64_t refunds = 0;         ///< Cluster: charges undone after another slot denied
  std::uint64_t master_changes = 0;  ///< Sentinel: a new master address discovered
};

/// Store backed by Redis. Every decision is one `EVALSHA` of the embedded
/// decision script, atomic over all checks of one hash slot (standalone and
/// Sentinel: all checks). In Cluster, checks on several slots are charged
/// slot by slot and refunded if a later slot denies: the system may briefly
/// under-admit, never over-admit (docs/redis.md).
///
/// Connection problems and timeouts throw StoreUnavailable; wrap the store in
/// a GuardedStore for a failure policy and a circuit breaker.
class RedisStore final : public Store {
 public:
  /// Validates the options (throws InvalidRedisUrl) and prepares the
  /// connection pools. Connects lazily: a Redis that is down now is not an error.
  explicit RedisStore(RedisStoreOptions options);
  ~RedisStore() override;
  RedisStore(const RedisStore&) = delete;
  RedisStore& operator=(const RedisStore&) = delete;

  Decision decide(std::span<const Check> checks, std::int64_t cost, Micros now,
                  std::span<Decision> each = {}) override;
  Decision decide_one_now(const Check& check, std::int64_t cost, const Clock& clock) override;
  /// Outside Cluster, up to `max_batch` decisions per script call (one
  /// round trip); in Cluster, one after another.
  void decide_batch(std::span<BatchDecision> batch) override;
  [[nodiscard]] bool prefers_batches() const noexcept override { return true; }
  void reset(std::span<const Check> checks) override;
  /// `keys` is not tracked (Redis holds the states; see DBSIZE/INFO there).
  [[nodiscard]] StoreStats stats() const override;

  [[nodiscard]] RedisStats redis_stats() const;
  [[nodiscard]] const RedisStoreOptions& options() const noexcept;
  /// The Redis key holding `key`'s state (prefix + key).
  [[nodiscard]] std::string redis_key(std::string_view key) const;

  struct Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace ratelimit
