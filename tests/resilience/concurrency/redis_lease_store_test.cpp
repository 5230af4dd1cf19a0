// RedisLeaseStore against a real redis-server: the LeaseStore contract,
// then what only Redis has: instances sharing leases, the stored layout
// (one sorted set per key, hash-tagged), the key's Redis TTL, scripts
// reloaded after SCRIPT FLUSH, and Redis down.

#include "ratelimit/redis_lease_store.hpp"

#include <gtest/gtest.h>

#include <memory>
#include <string>

#include "ratelimit/resilience/keyed_concurrency_limiter.hpp"
#include "resilience/concurrency/lease_store_contract.hpp"
#include "support/redis_harness.hpp"

namespace ratelimit::testing {
namespace {

constexpr int kTimeoutMs = 200;

RedisStoreOptions options_for(const std::string& url) {
  RedisStoreOptions o = parse_redis_url(url);
  o.command_timeout_ms = kTimeoutMs;
  o.connect_timeout_ms = kTimeoutMs;
  return o;
}

// One server for the whole suite, emptied before every test.
struct RedisLeaseStoreTraits {
  static void set_up_suite() { server = RedisServer::start(); }
  static void tear_down_suite() { server.reset(); }
  static std::unique_ptr<LeaseStore> make() {
    EXPECT_EQ(server->command({"FLUSHALL"}), "OK");
    return std::make_unique<RedisLeaseStore>(options_for(server->url()));
  }
  static std::unique_ptr<RedisServer> server;
};
std::unique_ptr<RedisServer> RedisLeaseStoreTraits::server;

INSTANTIATE_TYPED_TEST_SUITE_P(ConcurrencyRedis, LeaseStoreContract, RedisLeaseStoreTraits);

class ConcurrencyRedisLeaseStoreTest : public ::testing::Test {
 protected:
  void SetUp() override { server_ = RedisServer::start(); }
  std::unique_ptr<RedisServer> server_;
};

TEST_F(ConcurrencyRedisLeaseStoreTest, TwoInstancesShareOneLimit) {
  auto clock = std::make_shared<ManualClock>(kLeaseT0);
  auto a_store = std::make_shared<RedisLeaseStore>(options_for(server_->url()));
  auto b_store = std::make_shared<RedisLeaseStore>(options_for(server_->url()));
  KeyedConcurrencyLimiter a(a_store, 2, kLeaseTtl, clock);
  KeyedConcurrencyLimiter b(b_store, 2, kLeaseTtl, clock);
  KeyedConcurrencyLimiter::Lease l1 = a.try_acquire("upstream:db");
  KeyedConcurrencyLimiter::Lease l2 = b.try_acquire("upstream:db");
  EXPECT_TRUE(l1);
  EXPECT_TRUE(l2);
  EXPECT_FALSE(a.try_acquire("upstream:db"));
  EXPECT_FALSE(b.try_acquire("upstream:db"));
  EXPECT_EQ(a.in_flight("upstream:db"), 2);
  l2.release();
  EXPECT_TRUE(a.try_acquire("upstream:db")) << "b's release freed a slot for a";
}

TEST_F(ConcurrencyRedisLeaseStoreTest, LayoutIsOneSortedSetPerKeyScoredByExpiry) {
  RedisStoreOptions o = options_for(server_->url());
  o.key_prefix = "app:";
  RedisLeaseStore s(o);
  EXPECT_EQ(s.redis_key("user:1"), "app:lease:{user:1}");
  ASSERT_TRUE(s.acquire("user:1", 5, "lease-a", kLeaseT0, kLeaseTtl));
  ASSERT_TRUE(s.acquire("user:1", 5, "lease-b", kLeaseT0 + 7, kLeaseTtl));
  EXPECT_EQ(server_->command({"TYPE", "app:lease:{user:1}"}), "zset");
  EXPECT_EQ(server_->command({"ZRANGE", "app:lease:{user:1}", "0", "-1", "WITHSCORES"}),
            "lease-a\n" + std::to_string(kLeaseT0 + kLeaseTtl) + "\nlease-b\n" +
                std::to_string(kLeaseT0 + 7 + kLeaseTtl));
  EXPECT_EQ(RedisCluster::key_slot(s.redis_key("user:1")), RedisCluster::key_slot("user:1"))
      << "the hash tag is the key alone";
  s.release("user:1", "lease-a");
  s.release("user:1", "lease-b");
  EXPECT_EQ(server_->command({"EXISTS", "app:lease:{user:1}"}), "0")
      << "an empty set is no key at all";
}

TEST_F(ConcurrencyRedisLeaseStoreTest, KeyTtlCoversTheLatestExpiryPlusSlack) {
  RedisLeaseStore s(options_for(server_->url()));
  const std::string key = s.redis_key("k");
  ASSERT_TRUE(s.acquire("k", 5, "short", kLeaseT0, kMicrosPerSecond));
  ASSERT_TRUE(s.acquire("k", 5, "long", kLeaseT0, 30 * kMicrosPerSecond));
  // The latest lease ends 30 s after now: the key lives 30 s + 60 s slack
  // (less the few ms since). A later short lease does not shorten it.
  ASSERT_TRUE(s.acquire("k", 5, "short2", kLeaseT0, kMicrosPerSecond));
  const long long pttl = std::stoll(server_->command({"PTTL", key}));
  EXPECT_GT(pttl, 89'000);
  EXPECT_LE(pttl, 90'000);
  // Renewing for 200 s extends the key to match.
  ASSERT_TRUE(s.renew("k", "short", kLeaseT0 + 1, 200 * kMicrosPerSecond));
  const long long renewed = std::stoll(server_->command({"PTTL", key}));
  EXPECT_GT(renewed, 259'000);
  EXPECT_LE(renewed, 260'000);
}

TEST_F(ConcurrencyRedisLeaseStoreTest, ScriptsAreReloadedAfterScriptFlush) {
  RedisLeaseStore s(options_for(server_->url()));
  ASSERT_TRUE(s.acquire("k", 2, "a", kLeaseT0, kLeaseTtl));
  EXPECT_EQ(server_->command({"SCRIPT", "FLUSH"}), "OK");
  EXPECT_TRUE(s.acquire("k", 2, "b", kLeaseT0, kLeaseTtl));
  EXPECT_FALSE(s.acquire("k", 2, "c", kLeaseT0, kLeaseTtl));
  EXPECT_TRUE(s.renew("k", "a", kLeaseT0, kLeaseTtl));
  EXPECT_GE(s.redis_stats().script_loads, 2u);
}

TEST_F(ConcurrencyRedisLeaseStoreTest, RedisDownThrowsStoreUnavailableAndReleaseFailsQuietly) {
  auto clock = std::make_shared<ManualClock>(kLeaseT0);
  auto store = std::make_shared<RedisLeaseStore>(options_for(server_->url()));
  KeyedConcurrencyLimiter limiter(store, 1, kLeaseTtl, clock);
  {
    KeyedConcurrencyLimiter::Lease lease = limiter.try_acquire("k");
    ASSERT_TRUE(lease);
    server_->kill();
    EXPECT_THROW((void)limiter.try_acquire("k"), StoreUnavailable);
    EXPECT_THROW((void)limiter.in_flight("k"), StoreUnavailable);
  }  // the release fails: counted, nothing thrown
  EXPECT_EQ(limiter.stats().release_failures, 1u);
  server_->restart();  // data gone with the restart: nothing is held
  KeyedConcurrencyLimiter::Lease again = limiter.try_acquire("k");
  EXPECT_TRUE(again);
}

}  // namespace
}  // namespace ratelimit::testing
