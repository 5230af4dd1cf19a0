// The policy engine on a real Redis: two engines ("instances") share limiter
// state, tier assignments and lists; API keys never reach Redis raw.
#include <gtest/gtest.h>

#include <memory>
#include <thread>
#include <vector>

#include "ratelimit/policy/config_loader.hpp"
#include "ratelimit/policy/engine.hpp"
#include "ratelimit/redis_attribute_store.hpp"
#include "ratelimit/redis_store.hpp"
#include "support/redis_harness.hpp"

namespace ratelimit::policy {
namespace {

constexpr const char* kConfig = R"(
api_keys: {salt: test-salt}
default_tier: free
tiers:
  free: {limits: [{name: per_minute, rate: 10/min, burst: 10}]}
  pro:  {limits: [{name: per_minute, rate: 1000/min, burst: 1000}]}
limits:
  - {name: per_key, scope: api_key, counts: requests, rate: 100/min}
endpoints:
  - match: POST /ocr/process
    cost: 5
)";

class RedisPolicyTest : public ::testing::Test {
 protected:
  void SetUp() override {
    server_ = testing::RedisServer::start();
    RedisStoreOptions options = parse_redis_url(server_->url());
    options.time_mode = RedisTimeMode::client;  // the manual clock decides
    config_ = load_config(kConfig);
    config_.store.url = server_->url();
    config_.store.refresh_interval = kMicrosPerSecond;
    for (int i = 0; i < 2; ++i) {
      instances_.push_back(std::make_unique<Instance>(options, clock_, config_));
    }
  }

  struct Instance {
    Instance(const RedisStoreOptions& options, const Clock& clock, const PolicyConfig& config)
        : store(options), attributes(options), engine(store, attributes, clock, config) {}
    RedisStore store;
    RedisAttributeStore attributes;
    PolicyEngine engine;
  };

  PolicyEngine& engine(int i) { return instances_[static_cast<std::size_t>(i)]->engine; }

  ManualClock clock_{1'800'000'000 * kMicrosPerSecond};
  std::unique_ptr<testing::RedisServer> server_;
  PolicyConfig config_;
  std::vector<std::unique_ptr<Instance>> instances_;
};

TEST_F(RedisPolicyTest, InstancesShareOneLimit) {
  int admitted = 0;
  for (int i = 0; i < 30; ++i) admitted += engine(i % 2).decide({.user = "u"}).allowed ? 1 : 0;
  EXPECT_EQ(admitted, 10);
}

TEST_F(RedisPolicyTest, ConcurrentRequestsThroughBothInstancesAreExact) {
  std::vector<std::thread> threads;
  std::atomic<int> admitted{0};
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 20; ++i)
        admitted += engine(t % 2).decide({.user = "shared"}).allowed ? 1 : 0;
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(admitted.load(), 10);
}

TEST_F(RedisPolicyTest, TierAssignmentsReachTheOtherInstanceWithinTheRefreshInterval) {
  EXPECT_EQ(engine(1).decide({.user = "vip"}).tier, "free");
  engine(0).assign_tier(IdType::user, "vip", "pro", std::nullopt, "ops");
  EXPECT_EQ(engine(0).decide({.user = "vip"}).tier, "pro");
  clock_.advance(kMicrosPerSecond);
  EXPECT_EQ(engine(1).decide({.user = "vip"}).tier, "pro");
  EXPECT_EQ(engine(1).directory().tier_of(IdType::user, "vip")->added_by, "ops");
}

TEST_F(RedisPolicyTest, ListsAndAuditAreShared) {
  ListEntry entry;
  entry.type = IdType::ip;
  entry.range = parse_cidr("203.0.113.0/24");
  entry.reason = "botnet";
  engine(0).directory().add(ListKind::denylist, entry, std::nullopt, "ops");
  clock_.advance(kMicrosPerSecond);
  const auto d = engine(1).decide({.user = "x", .ip = "203.0.113.77"});
  EXPECT_TRUE(d.denylisted);
  EXPECT_EQ(d.reason, "botnet");
  const auto audit = engine(1).directory().audit();
  ASSERT_EQ(audit.size(), 1U);
  EXPECT_EQ(audit[0].subject, "ip:203.0.113.0/24");
}

TEST_F(RedisPolicyTest, NoRawApiKeyInRedis) {
  const std::string raw = "sk_live_DoNotLeakMe123";
  engine(0).assign_tier(IdType::api_key, raw, "pro", std::nullopt, "ops");
  EXPECT_TRUE(engine(0).decide({.api_key = raw, .method = "POST", .path = "/ocr/process"}).allowed);
  const std::string keys = testing::redis_command(server_->port(), {"KEYS", "*"});
  EXPECT_FALSE(keys.empty());
  EXPECT_EQ(keys.find(raw), std::string::npos) << keys;
  const std::string dump = testing::redis_command(server_->port(), {"HGETALL", "rl:{attrs}"});
  EXPECT_FALSE(dump.empty());
  EXPECT_EQ(dump.find(raw), std::string::npos) << dump;
  EXPECT_EQ(dump.find("sk_live"), std::string::npos) << dump;
}

TEST_F(RedisPolicyTest, RuntimeRecordsSurviveAnUnreachableStoreAsTheLastSnapshot) {
  engine(0).assign_tier(IdType::user, "vip", "pro", std::nullopt, "ops");
  EXPECT_EQ(engine(0).decide({.user = "vip"}).tier, "pro");
  server_.reset();  // Redis gone
  clock_.advance(2 * kMicrosPerSecond);
  // The directory keeps its last snapshot; the limiter store itself fails
  // (no GuardedStore here), which is the caller's failure policy.
  EXPECT_THROW((void)engine(0).decide({.user = "vip"}), StoreUnavailable);
  EXPECT_GE(engine(0).directory().refresh_failures(), 1U);
  EXPECT_EQ(engine(0).directory().snapshot()->tiers[0].count("vip"), 1U);
}

}  // namespace
}  // namespace ratelimit::policy
