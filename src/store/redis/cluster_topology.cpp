// Redis Cluster routing: the slot map from CLUSTER SLOTS, MOVED updates, ASK targets.

#include <string>

#include "store/redis/topology.hpp"

namespace ratelimit::redis {

ClusterTopology::ClusterTopology(const RedisStoreOptions& options, const ConnectSettings& settings, Counters& counters)
    : seeds_(options.endpoints), settings_(settings), counters_(counters), pool_size_(options.pool_size),
      owner_(kSlots) {}

std::shared_ptr<NodePool> ClusterTopology::pool_at_locked(const RedisEndpoint& at) {
  auto& pool = nodes_[describe(at)];
  if (!pool) pool = std::make_shared<NodePool>(at, settings_, counters_, pool_size_);
  return pool;
}

void ClusterTopology::reload_locked() {
  // Known nodes first (they reflect the latest map), then the configured seeds.
  std::vector<RedisEndpoint> candidates;
  for (const auto& [name, pool] : nodes_) candidates.push_back(pool->endpoint());
  candidates.insert(candidates.end(), seeds_.begin(), seeds_.end());
  std::string problems;
  for (const RedisEndpoint& at : candidates) {
    try {
      auto conn = Connection::open(at, settings_);
      Reply r = conn->run(Command{{"CLUSTER", "SLOTS"}});
      if (r->type != REDIS_REPLY_ARRAY) {
        problems += "; " + describe(at) + ": CLUSTER SLOTS failed: " + std::string(error_text(*r));
        continue;
      }
      std::vector<std::shared_ptr<NodePool>> owner(kSlots);
      for (std::size_t i = 0; i < r->elements; ++i) {
        const redisReply* range = r->element[i];
        // [first, last, [host, port, id...], replicas...]: the master comes first.
        if (range->type != REDIS_REPLY_ARRAY || range->elements < 3 || range->element[2]->type != REDIS_REPLY_ARRAY ||
            range->element[2]->elements < 2) {
          continue;
        }
        const redisReply* master = range->element[2];
        std::string host(master->element[0]->str, master->element[0]->len);
        if (host.empty()) host = at.host;  // a node that does not know its own address
        auto pool = pool_at_locked({host, static_cast<int>(master->element[1]->integer)});
        for (long long s = range->element[0]->integer; s <= range->element[1]->integer && s < kSlots; ++s) {
          owner[static_cast<std::size_t>(s)] = pool;
        }
      }
      owner_.swap(owner);
      stale_ = false;
      return;
    } catch (const StoreUnavailable& e) {
      problems += std::string("; ") + e.what();
    }
  }
  throw StoreUnavailable(StoreUnavailable::Kind::connection, "redis cluster: no node answered CLUSTER SLOTS" + problems);
}

std::shared_ptr<NodePool> ClusterTopology::pool_for(int slot) {
  {
    std::shared_lock lock(mu_);
    if (!stale_ && owner_[static_cast<std::size_t>(slot)]) return owner_[static_cast<std::size_t>(slot)];
  }
  std::unique_lock lock(mu_);
  if (stale_ || !owner_[static_cast<std::size_t>(slot)]) reload_locked();
  auto pool = owner_[static_cast<std::size_t>(slot)];
  if (!pool) {
    throw StoreUnavailable(StoreUnavailable::Kind::reply,
                           "redis cluster: slot " + std::to_string(slot) + " is not served by any node");
  }
  return pool;
}

void ClusterTopology::on_failure(const NodePool&) {
  std::unique_lock lock(mu_);
  stale_ = true;
}

std::shared_ptr<NodePool> ClusterTopology::on_moved(int slot, const RedisEndpoint& at) {
  std::unique_lock lock(mu_);
  auto pool = pool_at_locked(at);
  owner_[static_cast<std::size_t>(slot)] = pool;
  return pool;
}

std::shared_ptr<NodePool> ClusterTopology::pool_at(const RedisEndpoint& at) {
  std::unique_lock lock(mu_);
  return pool_at_locked(at);
}

}  // namespace ratelimit::redis
