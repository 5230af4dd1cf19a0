#pragma once
// Which Redis node serves a key: one server, the master Sentinels name, or a
// Cluster's slot owner (internal).

#include <memory>
#include <mutex>
#include <shared_mutex>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "store/redis/node_pool.hpp"

namespace ratelimit::redis {

/// Number of Redis Cluster hash slots.
inline constexpr int kSlots = 16384;
/// The Cluster hash slot of `key`: CRC16 (XMODEM) mod 16384 of the key, or of
/// its hash tag (the part between the first '{' and the next '}', if not empty).
[[nodiscard]] int key_slot(std::string_view key) noexcept;

class Topology {
 public:
  virtual ~Topology() = default;
  /// True when keys on different slots may live on different nodes.
  [[nodiscard]] virtual bool sharded() const noexcept { return false; }
  /// The pool serving `slot` (ignored unless sharded). Throws StoreUnavailable
  /// when no node can be found (e.g. no Sentinel answers).
  virtual std::shared_ptr<NodePool> pool_for(int slot) = 0;
  /// A command to `pool` failed (I/O, timeout, READONLY...): the next
  /// pool_for may look again (Sentinel asks for the master, Cluster reloads slots).
  virtual void on_failure(const NodePool& pool) = 0;
  /// Cluster `MOVED slot host:port`: records the new owner and returns its pool.
  virtual std::shared_ptr<NodePool> on_moved(int slot, const RedisEndpoint& at);
  /// Cluster `ASK`: the pool of that node, for this one command.
  virtual std::shared_ptr<NodePool> pool_at(const RedisEndpoint& at);
};

/// Builds the topology the options name.
[[nodiscard]] std::unique_ptr<Topology> make_topology(const RedisStoreOptions& options, const ConnectSettings& settings,
                                                      Counters& counters);

/// One server.
class StandaloneTopology final : public Topology {
 public:
  explicit StandaloneTopology(std::shared_ptr<NodePool> pool) : pool_(std::move(pool)) {}
  std::shared_ptr<NodePool> pool_for(int) override { return pool_; }
  void on_failure(const NodePool&) override {}

 private:
  std::shared_ptr<NodePool> pool_;
};

/// The master that Sentinels name; asked again after any failure, so a
/// failover is followed without a restart.
class SentinelTopology final : public Topology {
 public:
  SentinelTopology(const RedisStoreOptions& options, const ConnectSettings& settings, Counters& counters);
  std::shared_ptr<NodePool> pool_for(int slot) override;
  void on_failure(const NodePool& pool) override;

 private:
  RedisEndpoint discover();

  std::vector<RedisEndpoint> sentinels_;
  std::string master_name_;
  ConnectSettings sentinel_settings_;  // Sentinels: no database, and their own timeouts
  const ConnectSettings& settings_;
  Counters& counters_;
  int pool_size_;
  std::mutex mu_;
  std::shared_ptr<NodePool> master_;  // guarded by mu_; null: ask the Sentinels
  bool stale_ = true;                 // guarded by mu_
};

/// Redis Cluster: a slot -> node map loaded with CLUSTER SLOTS, updated by
/// MOVED and reloaded after failures.
class ClusterTopology final : public Topology {
 public:
  ClusterTopology(const RedisStoreOptions& options, const ConnectSettings& settings, Counters& counters);
  [[nodiscard]] bool sharded() const noexcept override { return true; }
  std::shared_ptr<NodePool> pool_for(int slot) override;
  void on_failure(const NodePool& pool) override;
  std::shared_ptr<NodePool> on_moved(int slot, const RedisEndpoint& at) override;
  std::shared_ptr<NodePool> pool_at(const RedisEndpoint& at) override;

 private:
  // Asks the known nodes (then the seeds) for CLUSTER SLOTS; throws
  // StoreUnavailable if none answers. Caller holds mu_ exclusively.
  void reload_locked();
  std::shared_ptr<NodePool> pool_at_locked(const RedisEndpoint& at);

  std::vector<RedisEndpoint> seeds_;
  const ConnectSettings& settings_;
  Counters& counters_;
  int pool_size_;
  std::shared_mutex mu_;
  std::vector<std::shared_ptr<NodePool>> owner_;  // by slot; guarded by mu_
  std::unordered_map<std::string, std::shared_ptr<NodePool>> nodes_;  // by "host:port"
  bool stale_ = true;
};

}  // namespace ratelimit::redis
