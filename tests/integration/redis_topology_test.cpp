// RedisStore over Sentinel (following a failover) and Cluster (hash-slot
// routing, multi-slot charges refunded on denial, MOVED and ASK during a
// slot migration), against real servers started by the harness.

#include <gtest/gtest.h>

#include <array>
#include <chrono>
#include <thread>

#include "ratelimit/redis_store.hpp"
#include "support/redis_harness.hpp"

namespace ratelimit {
namespace {

using testing::RedisCluster;
using testing::RedisSentinelGroup;

constexpr Micros kT0 = 1'800'000'000'000'000;

RedisStoreOptions client_time(const std::string& url) {
  RedisStoreOptions o = parse_redis_url(url);
  o.time_mode = RedisTimeMode::client;
  o.command_timeout_ms = 200;
  o.connect_timeout_ms = 200;
  return o;
}

TEST(RedisSentinel, DecisionsResumeOnThePromotedReplica) {
  auto group = RedisSentinelGroup::start();
  RedisStore store(client_time(group->sentinel_url()));
  const LimitSpec spec(Algorithm::fixed_window, 100, kMicrosPerHour);
  const Check before{&spec, "before"};
  for (int i = 0; i < 5; ++i) ASSERT_TRUE(store.decide_one(before, 1, kT0).allowed);
  EXPECT_EQ(group->master().command({"EXISTS", "rl:before"}), "1");

  const int old_master = group->master().port();
  group->master().kill();
  // Decisions fail while the Sentinels elect a new master, then resume
  // without a new store (the store asks the Sentinels again after failures).
  const Check after{&spec, "after"};
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  int failures = 0;
  bool resumed = false;
  while (!resumed && std::chrono::steady_clock::now() < deadline) {
    try {
      resumed = store.decide_one(after, 1, kT0).allowed;
    } catch (const StoreUnavailable&) {
      ++failures;
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
  }
  ASSERT_TRUE(resumed) << "no decision succeeded within 60 s of killing the master";
  EXPECT_GT(failures, 0);
  // Every Sentinel names the replica (they may take a moment to agree).
  EXPECT_EQ(group->wait_for_failover(old_master), group->replica().port());
  EXPECT_EQ(group->replica().command({"EXISTS", "rl:after"}), "1") << "the decision was not made on the new master";
  // The state written before the failover was replicated: it continues.
  EXPECT_EQ(store.decide_one(before, 1, kT0).remaining, 94);
  EXPECT_GE(store.redis_stats().master_changes, 1u);
}

class RedisClusterTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { cluster_ = RedisCluster::start(); }
  static void TearDownTestSuite() { cluster_.reset(); }
  static std::unique_ptr<RedisCluster> cluster_;
};
std::unique_ptr<RedisCluster> RedisClusterTest::cluster_;

TEST_F(RedisClusterTest, KeysLiveOnTheirSlotsOwner) {
  RedisStore store(client_time(cluster_->url()));
  const LimitSpec spec(Algorithm::gcra, 10, kMicrosPerSecond);
  for (int i = 0; i < 30; ++i) {
    const std::string key = "spread:" + std::to_string(i);
    ASSERT_TRUE(store.decide_one(Check{&spec, key}, 1, kT0).allowed);
    const int owner = cluster_->owner_port(RedisCluster::key_slot("rl:" + key));
    EXPECT_EQ(cluster_->node_on_port(owner).command({"EXISTS", "rl:" + key}), "1") << key;
  }
}

TEST_F(RedisClusterTest, OneEntitysChecksShareAHashTagAndStayAtomic) {
  RedisStore store(client_time(cluster_->url()));
  const LimitSpec per_second(Algorithm::token_bucket, 2, kMicrosPerSecond);
  const LimitSpec per_minute(Algorithm::fixed_window, 50, kMicrosPerMinute);
  const std::array checks{Check{&per_second, "{user:7}:s"}, Check{&per_minute, "{user:7}:m"}};
  std::array<Decision, 2> each;
  EXPECT_TRUE(store.decide(checks, 1, kT0, each).allowed);
  EXPECT_TRUE(store.decide(checks, 1, kT0, each).allowed);
  EXPECT_FALSE(store.decide(checks, 1, kT0, each).allowed);
  // The denied request charged nothing: the minute limit still has 48.
  EXPECT_EQ(store.decide_one(checks[1], 0, kT0).remaining, 48);
  EXPECT_EQ(store.redis_stats().refunds, 0u) << "one slot: one script, nothing to refund";
}

TEST_F(RedisClusterTest, ChecksOnSeveralSlotsAreRefundedWhenALaterSlotDenies) {
  RedisStore store(client_time(cluster_->url()));
  const LimitSpec global(Algorithm::sliding_window, 100, kMicrosPerMinute);
  const LimitSpec user(Algorithm::token_bucket, 3, kMicrosPerMinute);
  // Pick a user whose slot differs from the global key's.
  const std::string global_key = "global";
  std::string user_key = "{user:1}";
  for (int i = 1; RedisCluster::key_slot("rl:" + user_key) == RedisCluster::key_slot("rl:" + global_key); ++i) {
    user_key = "{user:" + std::to_string(i) + "}";
  }
  const std::array checks{Check{&global, global_key}, Check{&user, user_key}};
  std::array<Decision, 2> each;
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(store.decide(checks, 1, kT0, each).allowed);
  EXPECT_EQ(each[0].remaining, 97);
  const Decision denied = store.decide(checks, 1, kT0, each);
  EXPECT_FALSE(denied.allowed);
  EXPECT_EQ(denied.check_index, 1u);
  EXPECT_EQ(store.redis_stats().refunds, 1u);
  // The global charge of the denied request was refunded: still 97.
  EXPECT_EQ(each[0].remaining, 97);
  EXPECT_EQ(store.decide_one(Check{&global, global_key}, 0, kT0).remaining, 97);
}

// Check::cost across slots: when a later slot denies, each check already
// charged gets back its own cost (not the decision's), for every algorithm.
TEST_F(RedisClusterTest, ACrossSlotRefundReturnsEachChecksOwnCost) {
  RedisStore store(client_time(cluster_->url()));
  // Three hash tags on three slots: the budget, the per-IP limit, the denier.
  const auto slot_of_tag = [](const std::string& tag) {
    return RedisCluster::key_slot("rl:{" + tag + "}");
  };
  const std::string budget_tag = "cost-budget";
  std::string ip_tag = "cost-ip";
  for (int i = 0; slot_of_tag(ip_tag) == slot_of_tag(budget_tag); ++i)
    ip_tag = "cost-ip:" + std::to_string(i);
  std::string deny_tag = "cost-deny";
  for (int i = 0; slot_of_tag(deny_tag) == slot_of_tag(budget_tag) ||
                  slot_of_tag(deny_tag) == slot_of_tag(ip_tag);
       ++i) {
    deny_tag = "cost-deny:" + std::to_string(i);
  }
  const LimitSpec denier(Algorithm::fixed_window, 1, kMicrosPerHour);
  std::uint64_t refunds = 0;
  for (const Algorithm a :
       {Algorithm::token_bucket, Algorithm::gcra, Algorithm::leaky_bucket, Algorithm::fixed_window,
        Algorithm::sliding_window, Algorithm::sliding_log}) {
    SCOPED_TRACE(std::string(to_string(a)));
    const LimitSpec budget(a, 100, kMicrosPerMinute);
    const LimitSpec per_ip(a, 20, kMicrosPerMinute);
    const std::string name(to_string(a));
    const std::string budget_key = "{" + budget_tag + "}:" + name;
    const std::string ip_key = "{" + ip_tag + "}:" + name;
    const std::string deny_key = "{" + deny_tag + "}:" + name;
    // Earlier use: the budget has 80 left, the per-IP limit 15, the denier none.
    ASSERT_TRUE(store.decide_one(Check{&budget, budget_key}, 20, kT0).allowed);
    ASSERT_TRUE(store.decide_one(Check{&per_ip, ip_key}, 5, kT0).allowed);
    ASSERT_TRUE(store.decide_one(Check{&denier, deny_key}, 1, kT0).allowed);

    // Budget charged 10 (the decision's cost), per-IP 1, then the denier's
    // slot denies: both are refunded what they were charged.
    const std::array checks{Check{&budget, budget_key}, Check{&per_ip, ip_key, 1},
                            Check{&denier, deny_key, 1}};
    std::array<Decision, 3> each;
    const Decision denied = store.decide(checks, 10, kT0, each);
    EXPECT_FALSE(denied.allowed);
    EXPECT_EQ(denied.check_index, 2u);
    refunds += 2;
    EXPECT_EQ(store.redis_stats().refunds, refunds);
    EXPECT_EQ(each[0].remaining, 80);
    EXPECT_EQ(each[1].remaining, 15);
    EXPECT_EQ(store.decide_one(Check{&budget, budget_key}, 0, kT0).remaining, 80);
    EXPECT_EQ(store.decide_one(Check{&per_ip, ip_key}, 0, kT0).remaining, 15);
  }
}

TEST_F(RedisClusterTest, MovedAndAskDuringASlotMigration) {
  RedisStore store(client_time(cluster_->url()));
  const LimitSpec spec(Algorithm::fixed_window, 100, kMicrosPerHour);
  const Check moving{&spec, "{migrating}"};
  const int slot = RedisCluster::key_slot("rl:{migrating}");
  for (int i = 0; i < 10; ++i) ASSERT_TRUE(store.decide_one(moving, 1, kT0).allowed);
  const int source = cluster_->owner_port(slot);
  int target = 0;
  for (const int p : cluster_->ports()) {
    if (p != source) target = p;
  }

  // Half-way: the key is on the target, the slot still the source's: ASK.
  const auto migration = cluster_->begin_migration(slot, target);
  const auto redirects_before = store.redis_stats().redirects;
  EXPECT_EQ(store.decide_one(moving, 1, kT0).remaining, 89);
  EXPECT_GT(store.redis_stats().redirects, redirects_before);

  // Done: the source answers MOVED; the store learns the new owner.
  cluster_->finish_migration(migration);
  const auto moved_before = store.redis_stats().redirects;
  EXPECT_EQ(store.decide_one(moving, 1, kT0).remaining, 88);
  EXPECT_EQ(store.redis_stats().redirects, moved_before + 1);
  EXPECT_EQ(store.decide_one(moving, 1, kT0).remaining, 87);
  EXPECT_EQ(store.redis_stats().redirects, moved_before + 1) << "the new owner was not remembered";
  EXPECT_EQ(cluster_->node_on_port(target).command({"EXISTS", "rl:{migrating}"}), "1");
}

}  // namespace
}  // namespace ratelimit
