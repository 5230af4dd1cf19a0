// RedisAttributeStore against real redis-servers: the AttributeStore
// contract, then what only Redis has: instances sharing records and the
// generation, key prefixes, the stored layout, large hashes walked with
// HSCAN, scripts reloaded after SCRIPT FLUSH, Redis down and back, Cluster
// (slot owner, ASK and MOVED during a migration) and a Sentinel failover.

#include "ratelimit/redis_attribute_store.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <thread>

#include "ratelimit/store_factory.hpp"
#include "support/redis_harness.hpp"
#include "unit/attribute_store_contract.hpp"

namespace ratelimit::testing {
namespace {

using Record = AttributeStore::Record;
using Steady = std::chrono::steady_clock;

constexpr int kTimeoutMs = 100;

RedisStoreOptions options_for(const std::string& url) {
  RedisStoreOptions o = parse_redis_url(url);
  o.command_timeout_ms = kTimeoutMs;
  o.connect_timeout_ms = kTimeoutMs;
  return o;
}

// expires_at as stored: 8 bytes little-endian.
std::string le64(std::uint64_t v) {
  std::string out;
  for (int i = 0; i < 8; ++i) out += static_cast<char>(static_cast<unsigned char>(v >> (8 * i)));
  return out;
}

// One server for the whole suite, emptied before every test.
struct RedisAttributeStoreTraits {
  static void set_up_suite() { server = RedisServer::start(); }
  static void tear_down_suite() { server.reset(); }
  static std::unique_ptr<AttributeStore> make() {
    EXPECT_EQ(server->command({"FLUSHALL"}), "OK");
    return std::make_unique<RedisAttributeStore>(options_for(server->url()));
  }
  static std::unique_ptr<RedisServer> server;
};
std::unique_ptr<RedisServer> RedisAttributeStoreTraits::server;

INSTANTIATE_TYPED_TEST_SUITE_P(RedisAttributeStore, AttributeStoreContract,
                               RedisAttributeStoreTraits);

class RedisAttributeStoreTest : public ::testing::Test {
 protected:
  void SetUp() override { server_ = RedisServer::start(); }
  std::unique_ptr<RedisServer> server_;
};

TEST_F(RedisAttributeStoreTest, TwoInstancesShareRecordsAndGeneration) {
  RedisAttributeStore a(options_for(server_->url()));
  RedisAttributeStore b(options_for(server_->url()));
  EXPECT_EQ(a.generation(), 0u) << "nothing written yet";
  a.put({"tier:user:1", "gold", std::nullopt});
  const std::uint64_t g1 = b.generation();
  EXPECT_GT(g1, 0u);
  EXPECT_EQ(a.generation(), g1);
  EXPECT_EQ(b.get("tier:user:1", kAttrT0), (Record{"tier:user:1", "gold", std::nullopt}));
  b.put({"tier:user:2", "silver", kAttrT0 + 1});
  EXPECT_GT(a.generation(), g1);
  EXPECT_EQ(a.list("tier:", kAttrT0).size(), 2u);
  EXPECT_TRUE(a.erase("tier:user:2", kAttrT0));
  EXPECT_EQ(b.get("tier:user:2", kAttrT0), std::nullopt);
  EXPECT_EQ(a.generation(), b.generation());
}

TEST_F(RedisAttributeStoreTest, KeyPrefixIsolatesDeployments) {
  RedisStoreOptions oa = options_for(server_->url());
  oa.key_prefix = "blue:";
  RedisStoreOptions ob = options_for(server_->url());
  ob.key_prefix = "green:";
  RedisAttributeStore a(oa);
  RedisAttributeStore b(ob);
  a.put({"k", "blue", std::nullopt});
  EXPECT_EQ(b.get("k", kAttrT0), std::nullopt);
  EXPECT_EQ(b.generation(), 0u);
  EXPECT_TRUE(b.list("", kAttrT0).empty());
  b.put({"k", "green", std::nullopt});
  EXPECT_EQ(a.get("k", kAttrT0)->value, "blue");
  EXPECT_EQ(b.get("k", kAttrT0)->value, "green");
  EXPECT_EQ(a.purge_expired(kAttrT0), 0u);
  EXPECT_EQ(server_->command({"HLEN", "blue:{attrs}"}), "1");
  EXPECT_EQ(server_->command({"HLEN", "green:{attrs}"}), "1");
}

TEST_F(RedisAttributeStoreTest, LayoutIsOneHashAndOneCounter) {
  RedisAttributeStore store(options_for(server_->url()));
  EXPECT_EQ(store.hash_key(), "rl:{attrs}");
  EXPECT_EQ(store.generation_key(), "rl:{attrs}:gen");
  store.put({"forever", "v1", std::nullopt});
  store.put({"until", std::string("v\0 2", 4), kAttrT0});
  EXPECT_EQ(server_->command({"TYPE", "rl:{attrs}"}), "hash");
  EXPECT_EQ(server_->command({"HGET", "rl:{attrs}", "forever"}), std::string(8, '\xff') + "v1");
  EXPECT_EQ(server_->command({"HGET", "rl:{attrs}", "until"}),
            le64(static_cast<std::uint64_t>(kAttrT0)) + std::string("v\0 2", 4));
  EXPECT_EQ(server_->command({"GET", "rl:{attrs}:gen"}), std::to_string(store.generation()));
  EXPECT_EQ(server_->dbsize(), 2) << "no other keys";
  // Records have no Redis TTL: they expire by their own instant.
  EXPECT_EQ(server_->command({"TTL", "rl:{attrs}"}), "-1");
}

TEST_F(RedisAttributeStoreTest, MalformedFieldsCountAsExpired) {
  RedisAttributeStore store(options_for(server_->url()));
  store.put({"good", "v", std::nullopt});
  (void)server_->command({"HSET", "rl:{attrs}", "short", "1234567"});
  (void)server_->command({"HSET", "rl:{attrs}", "beyond", le64((1ULL << 53) + 1) + "v"});
  EXPECT_EQ(store.get("short", kAttrT0), std::nullopt);
  EXPECT_EQ(store.get("beyond", kAttrT0), std::nullopt);
  ASSERT_EQ(store.list("", kAttrT0).size(), 1u);
  EXPECT_FALSE(store.erase("short", kAttrT0));
  EXPECT_EQ(store.purge_expired(0), 1u) << "'beyond' is deleted by the purge";
  EXPECT_EQ(server_->command({"HKEYS", "rl:{attrs}"}), "good");
}

TEST_F(RedisAttributeStoreTest, LargeHashIsListedAndPurgedInSteps) {
  // Above 128 fields Redis stores a real hash table: HSCAN takes several
  // steps, and the purge several scripts.
  RedisAttributeStore store(options_for(server_->url()));
  constexpr int kRecords = 1000;
  for (int i = 0; i < kRecords; ++i) {
    const std::string n = std::to_string(i);
    const std::string key = "r:" + std::string(4 - n.size(), '0') + n;  // r:0000 .. r:0999
    store.put({key, n, i % 2 == 0 ? std::optional<Micros>(kAttrT0) : std::nullopt});
  }
  EXPECT_EQ(server_->command({"OBJECT", "ENCODING", "rl:{attrs}"}), "hashtable");
  const auto all = store.list("r:", kAttrT0 - 1);
  ASSERT_EQ(all.size(), static_cast<std::size_t>(kRecords));
  for (int i = 0; i < kRecords; ++i)
    EXPECT_EQ(all[static_cast<std::size_t>(i)].value, std::to_string(i));
  EXPECT_EQ(store.list("r:01", kAttrT0 - 1).size(), 100u);
  EXPECT_EQ(store.list("", kAttrT0).size(), static_cast<std::size_t>(kRecords / 2));
  const std::uint64_t g = store.generation();
  EXPECT_EQ(store.purge_expired(kAttrT0), static_cast<std::size_t>(kRecords / 2));
  EXPECT_GT(store.generation(), g);
  EXPECT_EQ(server_->command({"HLEN", "rl:{attrs}"}), std::to_string(kRecords / 2));
}

TEST_F(RedisAttributeStoreTest, ScriptsAreReloadedAfterScriptFlush) {
  RedisAttributeStore store(options_for(server_->url()));
  store.put({"a", "1", std::nullopt});
  const auto loads = store.redis_stats().script_loads;
  EXPECT_EQ(server_->command({"SCRIPT", "FLUSH"}), "OK");
  store.put({"b", "2", std::nullopt});
  EXPECT_TRUE(store.erase("a", kAttrT0));
  EXPECT_GT(store.redis_stats().script_loads, loads);
  EXPECT_EQ(store.list("", kAttrT0).size(), 1u);
}

TEST_F(RedisAttributeStoreTest, RedisDownFailsWithinTheTimeoutAndRecoversAfterARestart) {
  RedisAttributeStore store(options_for(server_->url()));
  store.put({"before", "v", std::nullopt});
  const std::uint64_t g_before = store.generation();
  server_->kill();
  auto fails_fast = [&](const char* what, auto&& op) {
    const auto start = Steady::now();
    try {
      op();
      ADD_FAILURE() << what << " succeeded with Redis down";
    } catch (const StoreUnavailable& e) {
      EXPECT_EQ(e.kind(), StoreUnavailable::Kind::connection) << what << ": " << e.what();
    }
    EXPECT_LE(Steady::now() - start, std::chrono::milliseconds(kTimeoutMs)) << what;
  };
  fails_fast("put", [&] { store.put({"during", "v", std::nullopt}); });
  fails_fast("get", [&] { (void)store.get("before", kAttrT0); });
  fails_fast("erase", [&] { (void)store.erase("before", kAttrT0); });
  fails_fast("list", [&] { (void)store.list("", kAttrT0); });
  fails_fast("purge_expired", [&] { (void)store.purge_expired(kAttrT0); });
  fails_fast("generation", [&] { (void)store.generation(); });

  server_->restart();  // empty: nothing was persisted
  EXPECT_EQ(store.get("before", kAttrT0), std::nullopt);
  EXPECT_EQ(store.generation(), 0u) << "the counter went with the data";
  store.put({"after", "v", std::nullopt});  // NOSCRIPT: loaded again
  EXPECT_EQ(store.get("after", kAttrT0)->value, "v");
  EXPECT_GT(store.generation(), g_before) << "restarted from TIME, past every earlier value";
}

TEST_F(RedisAttributeStoreTest, AStoppedRedisTimesOut) {
  RedisAttributeStore store(options_for(server_->url()));
  store.put({"k", "v", std::nullopt});
  server_->pause();  // SIGSTOP: connections hang, nothing answers
  for (int i = 0; i < 2; ++i) {
    const auto start = Steady::now();
    try {
      (void)store.get("k", kAttrT0);
      ADD_FAILURE() << "a stopped Redis answered";
    } catch (const StoreUnavailable& e) {
      EXPECT_EQ(e.kind(), StoreUnavailable::Kind::timeout) << e.what();
    }
    // The command timeout, plus a connect timeout when the socket was reopened.
    EXPECT_LE(Steady::now() - start, std::chrono::milliseconds(2 * kTimeoutMs + 50));
  }
  server_->resume();
  EXPECT_EQ(store.get("k", kAttrT0)->value, "v");
  EXPECT_GE(store.redis_stats().timeouts, 2u);
}

TEST_F(RedisAttributeStoreTest, OpenAttributeStoreTakesTheStoresUrl) {
  auto store = open_attribute_store(server_->url() +
                                    "?prefix=app:&timeout_ms=200&failure=local&local_share=0.5&"
                                    "breaker_failures=2&breaker_open_ms=10");
  store->put({"k", "v", std::nullopt});
  EXPECT_EQ(server_->command({"HLEN", "app:{attrs}"}), "1");
  EXPECT_EQ(store->get("k", kAttrT0)->value, "v");

  auto memory = open_attribute_store("memory");
  memory->put({"k", "m", std::nullopt});
  EXPECT_EQ(memory->get("k", kAttrT0)->value, "m");
  EXPECT_EQ(server_->command({"HGET", "app:{attrs}", "k"}), std::string(8, '\xff') + "v");

  EXPECT_THROW((void)open_attribute_store(server_->url() + "?bogus=1"), InvalidRedisUrl);
  EXPECT_THROW((void)open_attribute_store(server_->url() + "?prefix=a%7Bb"), InvalidRedisUrl);
  EXPECT_THROW((void)open_attribute_store("mem"), InvalidRedisUrl);
  RedisStoreOptions bad = options_for(server_->url());
  bad.key_prefix = "a{b}";
  EXPECT_THROW(RedisAttributeStore{bad}, InvalidRedisUrl);
}

TEST(RedisAttributeStoreDown, UnreachableServerIsStoreUnavailable) {
  RedisAttributeStore store(
      options_for("redis://127.0.0.1:" + std::to_string(free_loopback_port())));
  EXPECT_THROW((void)store.generation(), StoreUnavailable);
  EXPECT_THROW(store.put({"k", "v", std::nullopt}), StoreUnavailable);
  EXPECT_THROW(store.put({"", "v", std::nullopt}), InvalidRequest) << "input is checked first";
  EXPECT_GE(store.redis_stats().errors, 2u);
}

class RedisAttributeStoreCluster : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { cluster_ = RedisCluster::start(); }
  static void TearDownTestSuite() { cluster_.reset(); }
  static std::unique_ptr<RedisCluster> cluster_;
};
std::unique_ptr<RedisCluster> RedisAttributeStoreCluster::cluster_;

TEST_F(RedisAttributeStoreCluster, BothKeysLiveOnTheSlotsOwner) {
  RedisAttributeStore store(options_for(cluster_->url()));
  store.put({"tier:1", "gold", std::nullopt});
  store.put({"tier:2", "silver", kAttrT0});
  EXPECT_EQ(store.get("tier:1", kAttrT0)->value, "gold");
  EXPECT_EQ(store.list("tier:", kAttrT0 - 1).size(), 2u);
  EXPECT_EQ(store.purge_expired(kAttrT0), 1u);
  EXPECT_TRUE(store.erase("tier:1", kAttrT0));
  const int slot = RedisCluster::key_slot("rl:{attrs}");
  EXPECT_EQ(slot, RedisCluster::key_slot("rl:{attrs}:gen"));
  RedisServer& owner = cluster_->node_on_port(cluster_->owner_port(slot));
  EXPECT_EQ(owner.command({"EXISTS", "rl:{attrs}:gen"}), "1");
  EXPECT_EQ(owner.command({"GET", "rl:{attrs}:gen"}), std::to_string(store.generation()));
  // Another deployment on the same cluster: its own keys, the same slot.
  RedisStoreOptions other = options_for(cluster_->url());
  other.key_prefix = "other:";
  RedisAttributeStore second(other);
  second.put({"tier:1", "bronze", std::nullopt});
  EXPECT_EQ(owner.command({"HGET", "other:{attrs}", "tier:1"}), std::string(8, '\xff') + "bronze");
  EXPECT_EQ(store.get("tier:1", kAttrT0), std::nullopt);
}

TEST_F(RedisAttributeStoreCluster, FollowsASlotMigrationThroughAskAndMoved) {
  RedisStoreOptions o = options_for(cluster_->url());
  o.key_prefix = "mig:";
  RedisAttributeStore store(o);
  store.put({"a", "1", std::nullopt});
  store.put({"b", "2", kAttrT0});
  const int slot = RedisCluster::key_slot("mig:{attrs}");
  const int source = cluster_->owner_port(slot);
  int target = 0;
  for (const int p : cluster_->ports()) {
    if (p != source) target = p;
  }

  // Half-way: both keys moved, the slot still the source's: ASK (and the
  // scripts are not loaded on the target yet: NOSCRIPT there).
  const auto migration = cluster_->begin_migration(slot, target);
  const auto redirects = store.redis_stats().redirects;
  EXPECT_EQ(store.get("a", kAttrT0)->value, "1");
  store.put({"c", "3", std::nullopt});
  EXPECT_EQ(store.list("", kAttrT0 - 1).size(), 3u);
  EXPECT_EQ(store.purge_expired(kAttrT0), 1u);
  EXPECT_GT(store.redis_stats().redirects, redirects);

  // Done: MOVED once, then the new owner is remembered.
  cluster_->finish_migration(migration);
  const auto moved = store.redis_stats().redirects;
  EXPECT_TRUE(store.erase("a", kAttrT0));
  EXPECT_EQ(store.redis_stats().redirects, moved + 1);
  EXPECT_EQ(store.list("", kAttrT0).size(), 1u);
  const std::uint64_t g = store.generation();
  EXPECT_EQ(store.redis_stats().redirects, moved + 1) << "the new owner was not remembered";
  EXPECT_EQ(cluster_->node_on_port(target).command({"GET", "mig:{attrs}:gen"}), std::to_string(g));
}

TEST(RedisAttributeStoreSentinel, FollowsAFailover) {
  auto group = RedisSentinelGroup::start();
  RedisAttributeStore store(options_for(group->sentinel_url()));
  store.put({"before", "v", std::nullopt});
  const std::uint64_t g = store.generation();
  EXPECT_EQ(group->master().command({"WAIT", "1", "900"}), "1");  // replicated before the kill

  group->master().kill();
  const auto deadline = Steady::now() + std::chrono::seconds(60);
  int failures = 0;
  bool resumed = false;
  while (!resumed && Steady::now() < deadline) {
    try {
      store.put({"after", "v", std::nullopt});
      resumed = true;
    } catch (const StoreUnavailable&) {
      ++failures;
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
  }
  ASSERT_TRUE(resumed) << "no put succeeded within 60 s of killing the master";
  EXPECT_GT(failures, 0);
  EXPECT_EQ(group->replica().command({"HEXISTS", "rl:{attrs}", "after"}), "1")
      << "the put was not made on the new master";
  EXPECT_EQ(store.get("before", kAttrT0)->value, "v") << "replicated before the failover";
  EXPECT_GT(store.generation(), g);
  EXPECT_GE(store.redis_stats().master_changes, 1u);
}

}  // namespace
}  // namespace ratelimit::testing
