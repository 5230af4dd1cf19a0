// Standalone and Sentinel topologies, the key slot function, and the factory.

#include "store/redis/topology.hpp"

#include <array>
#include <string>

namespace ratelimit::redis {

namespace {

// CRC16-CCITT (XMODEM: polynomial 0x1021, initial 0), the function Redis
// Cluster hashes keys with; table built at compile time.
constexpr std::array<std::uint16_t, 256> make_crc_table() {
  std::array<std::uint16_t, 256> t{};
  for (int i = 0; i < 256; ++i) {
    auto crc = static_cast<std::uint16_t>(i << 8);
    for (int b = 0; b < 8; ++b) {
      crc = static_cast<std::uint16_t>((crc & 0x8000) != 0 ? (crc << 1) ^ 0x1021 : crc << 1);
    }
    t[static_cast<std::size_t>(i)] = crc;
  }
  return t;
}
constexpr auto kCrcTable = make_crc_table();

std::uint16_t crc16(std::string_view s) noexcept {
  std::uint16_t crc = 0;
  for (const char c : s) {
    crc = static_cast<std::uint16_t>((crc << 8) ^ kCrcTable[((crc >> 8) ^ static_cast<unsigned char>(c)) & 0xFF]);
  }
  return crc;
}

}  // namespace

int key_slot(std::string_view key) noexcept {
  if (const auto open = key.find('{'); open != std::string_view::npos) {
    const auto close = key.find('}', open + 1);
    if (close != std::string_view::npos && close > open + 1) key = key.substr(open + 1, close - open - 1);
  }
  return crc16(key) % kSlots;
}

std::shared_ptr<NodePool> Topology::on_moved(int, const RedisEndpoint& at) {
  throw StoreUnavailable(StoreUnavailable::Kind::reply,
                         "redis: MOVED to " + describe(at) + " from a server that is not in cluster mode");
}

std::shared_ptr<NodePool> Topology::pool_at(const RedisEndpoint& at) {
  throw StoreUnavailable(StoreUnavailable::Kind::reply,
                         "redis: ASK to " + describe(at) + " from a server that is not in cluster mode");
}

std::unique_ptr<Topology> make_topology(const RedisStoreOptions& options, const ConnectSettings& settings,
                                        Counters& counters) {
  switch (options.topology) {
    case RedisTopology::sentinel:
      return std::make_unique<SentinelTopology>(options, settings, counters);
    case RedisTopology::cluster:
      return std::make_unique<ClusterTopology>(options, settings, counters);
    case RedisTopology::standalone:
      break;
  }
  return std::make_unique<StandaloneTopology>(
      std::make_shared<NodePool>(options.endpoints.front(), settings, counters, options.pool_size));
}

SentinelTopology::SentinelTopology(const RedisStoreOptions& options, const ConnectSettings& settings,
                                   Counters& counters)
    : sentinels_(options.endpoints),
      master_name_(options.master_name),
      settings_(settings),
      counters_(counters),
      pool_size_(options.pool_size) {
  // Sentinels have their own (usually no) password and no databases.
  sentinel_settings_.connect_timeout_ms = settings.connect_timeout_ms;
  sentinel_settings_.command_timeout_ms = settings.command_timeout_ms;
}

RedisEndpoint SentinelTopology::discover() {
  std::string problems;
  for (const RedisEndpoint& s : sentinels_) {
    try {
      auto conn = Connection::open(s, sentinel_settings_);
      Reply r = conn->run(Command{{"SENTINEL", "get-master-addr-by-name", master_name_}});
      if (r->type == REDIS_REPLY_ARRAY && r->elements == 2 && r->element[0]->type == REDIS_REPLY_STRING &&
          r->element[1]->type == REDIS_REPLY_STRING) {
        return RedisEndpoint{std::string(r->element[0]->str, r->element[0]->len),
                             std::stoi(std::string(r->element[1]->str, r->element[1]->len))};
      }
      problems += "; sentinel " + describe(s) + " does not know master '" + master_name_ + "'";
    } catch (const StoreUnavailable& e) {
      problems += std::string("; ") + e.what();
    }
  }
  throw StoreUnavailable(StoreUnavailable::Kind::connection,
                         "redis sentinel: no sentinel named the master '" + master_name_ + "'" + problems);
}

std::shared_ptr<NodePool> SentinelTopology::pool_for(int) {
  std::lock_guard lock(mu_);
  if (stale_ || !master_) {
    const RedisEndpoint at = discover();
    if (!master_ || !(master_->endpoint() == at)) {
      if (master_) Counters::bump(counters_.master_changes);
      master_ = std::make_shared<NodePool>(at, settings_, counters_, pool_size_);
    }
    stale_ = false;
  }
  return master_;
}

void SentinelTopology::on_failure(const NodePool& pool) {
  std::lock_guard lock(mu_);
  if (master_.get() == &pool) stale_ = true;
}

}  // namespace ratelimit::redis
