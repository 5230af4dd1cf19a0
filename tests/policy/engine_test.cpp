// PolicyEngine behaviour: tiers at run time, lists, shadow mode, reload,
// identifiers, scopes, bad input.
#include <algorithm>
#include <filesystem>
#include <fstream>

#include "policy_fixture.hpp"

namespace ratelimit::policy::testing {
namespace {

using EngineTest = PolicyFixture;

constexpr const char* kTiers = R"(
default_tier: free
tiers:
  free: {limits: [{name: per_second, rate: 2/s, burst: 2}]}
  pro:  {cost_multiplier: 0.5, limits: [{name: per_second, rate: 10/s, burst: 10}]}
)";

TEST_F(EngineTest, RuntimeTierAssignmentsWinAndExpire) {
  load_text(kTiers);
  EXPECT_EQ(decide({.user = "u"}).tier, "free");
  engine_->assign_tier(IdType::user, "u", "pro", 60 * kMicrosPerSecond, "alice");
  EXPECT_EQ(decide({.user = "u"}).tier, "pro");
  EXPECT_EQ(engine_->directory().tier_of(IdType::user, "u")->added_by, "alice");
  clock_.advance(60 * kMicrosPerSecond);
  EXPECT_EQ(decide({.user = "u"}).tier, "free") << "the grant expired";
  EXPECT_THROW(engine_->assign_tier(IdType::user, "u", "gold", std::nullopt, "alice"),
               InvalidRequest);
}

TEST_F(EngineTest, RequestMayNameItsTier) {
  load_text(kTiers);
  EXPECT_EQ(decide({.user = "u", .tier = "pro"}).tier, "pro");
  EXPECT_EQ(decide({.user = "u"}).tier, "free");
  EXPECT_THROW((void)decide({.user = "u", .tier = "gold"}), InvalidRequest);
}

TEST_F(EngineTest, TierMultiplierScalesCostRoundingUp) {
  load_text(kTiers);
  engine_->assign_tier(IdType::user, "p", "pro", std::nullopt, "ops");
  EXPECT_EQ(decide({.user = "p", .cost = 3}).cost, 2);  // 1.5 rounds up
  EXPECT_EQ(decide({.user = "p", .cost = 0}).cost, 0);
}

TEST_F(EngineTest, InstancesSharingAnAttributeStoreAgreeWithinTheRefreshInterval) {
  auto config = load_config(kTiers);
  config.store.refresh_interval = kMicrosPerSecond;
  start(config);
  PolicyEngine other(store_, *attributes_, clock_, config);
  EXPECT_EQ(other.decide({.user = "u"}).tier, "free");
  engine_->assign_tier(IdType::user, "u", "pro", std::nullopt, "ops");
  EXPECT_EQ(decide({.user = "u"}).tier, "pro") << "the writer sees its change at once";
  EXPECT_EQ(other.decide({.user = "u"}).tier, "free") << "the other instance until it refreshes";
  clock_.advance(kMicrosPerSecond);
  EXPECT_EQ(other.decide({.user = "u"}).tier, "pro");
}

TEST_F(EngineTest, RuntimeListsWithRangesExpiryAndAudit) {
  load_text(kTiers);
  Directory& d = engine_->directory();
  ListEntry range;
  range.type = IdType::ip;
  range.range = parse_cidr("2001:db8::/32");
  range.reason = "lab";
  d.add(ListKind::whitelist, range, std::nullopt, "ops");
  ListEntry bad;
  bad.type = IdType::user;
  bad.id = "mallory";
  bad.reason = "abuse";
  d.add(ListKind::denylist, bad, 10 * kMicrosPerSecond, "ops");

  EXPECT_TRUE(decide({.user = "x", .ip = "2001:db8:1::5"}).whitelisted);
  EXPECT_FALSE(decide({.user = "x", .ip = "2001:db9::5"}).whitelisted);
  const auto denied = decide({.user = "mallory", .ip = "2001:db8:1::5"});
  EXPECT_TRUE(denied.denylisted) << "the denylist wins over the whitelist";
  EXPECT_EQ(denied.reason, "abuse");
  EXPECT_EQ(denied.decision.retry_after, 10 * kMicrosPerSecond);
  clock_.advance(10 * kMicrosPerSecond);
  EXPECT_FALSE(decide({.user = "mallory"}).denylisted) << "expired";
  EXPECT_EQ(d.purge_expired(), 1U);

  const auto listed = d.entries(ListKind::whitelist);
  ASSERT_EQ(listed.size(), 1U);
  EXPECT_EQ(listed[0].added_by, "ops");
  EXPECT_EQ(listed[0].added_at, kStart);
  EXPECT_EQ(listed[0].reason, "lab");
  EXPECT_EQ(listed[0].id, "2001:db8::/32");
  EXPECT_TRUE(d.remove(ListKind::whitelist, IdType::ip, "2001:db8::/32", true, "ops"));
  EXPECT_FALSE(d.remove(ListKind::whitelist, IdType::ip, "2001:db8::/32", true, "ops"));
  EXPECT_FALSE(decide({.user = "x", .ip = "2001:db8:1::5"}).whitelisted);

  const auto audit = d.audit();
  ASSERT_EQ(audit.size(), 3U);
  EXPECT_EQ(audit[0].action, "whitelist.remove");
  EXPECT_EQ(audit[1].action, "denylist.add");
  EXPECT_EQ(audit[1].subject, "user:mallory");
  EXPECT_EQ(audit[2].actor, "ops");
}

TEST_F(EngineTest, ApiKeysNeverAppearRaw) {
  load_text(R"(
api_keys: {salt: s1}
limits: [{name: per_key, scope: api_key, rate: 1/s}]
)");
  const std::string raw = "sk_live_0123456789abcdef";
  for (const auto& key : engine_->keys_for({.api_key = raw})) {
    EXPECT_EQ(key.find(raw), std::string::npos) << key;
    EXPECT_NE(key.find("k=h:"), std::string::npos) << key;
  }
  EXPECT_THROW(engine_->assign_tier(IdType::api_key, raw, "x", std::nullopt, "ops"), InvalidRequest)
      << "no tiers are configured";
}

TEST_F(EngineTest, ApiKeyTierAssignmentIsStoredHashed) {
  load_text(kTiers);
  const std::string raw = "sk_live_secret";
  engine_->assign_tier(IdType::api_key, raw, "pro", std::nullopt, "ops");
  EXPECT_EQ(decide({.api_key = raw}).tier, "pro");
  for (const auto& record : attributes_->list("", clock_.now())) {
    EXPECT_EQ(record.key.find(raw), std::string::npos) << record.key;
    EXPECT_EQ(record.value.find(raw), std::string::npos) << record.value;
  }
}

TEST_F(EngineTest, ShadowLimitCountsButNeverDenies) {
  load_text(R"(
limits:
  - {name: enforced, scope: user, rate: 10/s, burst: 10}
  - {name: trial, scope: user, rate: 1/s, burst: 2, shadow: true}
)");
  const Request r{.user = "u"};
  EXPECT_FALSE(decide(r).shadow_denied);
  EXPECT_FALSE(decide(r).shadow_denied);
  const auto d = decide(r);
  EXPECT_TRUE(d.allowed);
  EXPECT_TRUE(d.shadow_denied);
  ASSERT_EQ(d.checks.size(), 2U);
  EXPECT_TRUE(d.checks[1].shadow);
  EXPECT_FALSE(d.checks[1].decision.allowed);
  EXPECT_EQ(d.checks[0].decision.remaining, 7) << "the enforced limit counted all three";
  EXPECT_EQ(admitted(r, 7), 7);
  EXPECT_EQ(decide(r).scope, "enforced");
}

TEST_F(EngineTest, GlobalShadowModeAdmitsEverything) {
  load_text(R"(
shadow: true
limits: [{name: tight, scope: user, rate: 1/s, burst: 1}]
)");
  EXPECT_FALSE(decide({.user = "u"}).shadow_denied);
  const auto d = decide({.user = "u"});
  EXPECT_TRUE(d.allowed);
  EXPECT_TRUE(d.shadow_denied);
  EXPECT_EQ(d.scope, "tight");
}

TEST_F(EngineTest, ReloadKeepsUsageOfUnchangedLimitsOnly) {
  load_text(R"(
limits:
  - {name: same, scope: user, rate: 10/min, burst: 10}
  - {name: changes, scope: user, rate: 20/min, burst: 20}
)");
  EXPECT_EQ(admitted({.user = "u"}, 4), 4);
  engine_->reload(load_config(R"(
limits:
  - {name: same, scope: user, rate: 10/min, burst: 10}
  - {name: changes, scope: user, rate: 30/min, burst: 30}
)"));
  const auto d = decide({.user = "u"});
  ASSERT_EQ(d.checks.size(), 2U);
  EXPECT_EQ(d.checks[0].decision.remaining, 5) << "usage kept";
  EXPECT_EQ(d.checks[1].decision.remaining, 29) << "a changed limit starts afresh";
  EXPECT_EQ(engine_->reloads(), 1U);
}

TEST_F(EngineTest, ReloadThatChangesTheStoreIsRejectedAndTheOldConfigStays) {
  load_text("limits: [{name: a, scope: user, rate: 1/s}]\n");
  auto next = load_config(
      "store: {url: 'redis://127.0.0.1:1'}\nlimits: [{name: b, scope: user, rate: 1/s}]\n");
  EXPECT_THROW(engine_->reload(next), ConfigError);
  EXPECT_EQ(decide({.user = "u"}).scope, "a");
  EXPECT_EQ(engine_->reloads(), 0U);
}

TEST_F(EngineTest, InvalidFileOnReloadChangesNothing) {
  const std::filesystem::path file =
      std::filesystem::temp_directory_path() / "ratelimit_reload_test.yaml";
  const auto write = [&](const char* text) { std::ofstream(file) << text; };
  write("limits: [{name: a, scope: user, rate: 1/s, burst: 2}]\n");
  start(load_config_file(file));
  EXPECT_TRUE(decide({.user = "u"}).allowed);
  write("limits: [{name: a, scope: user, rate: 1/s, burst: 2, brust: 3}]\n");
  try {
    engine_->reload_file(file);
    FAIL() << "expected ConfigError";
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find(":1:"), std::string::npos) << e.what();
  }
  EXPECT_EQ(engine_->reloads(), 0U);
  EXPECT_TRUE(decide({.user = "u"}).allowed) << "the old config, with its usage";
  EXPECT_FALSE(decide({.user = "u"}).allowed);
  write("limits: [{name: a, scope: user, rate: 1/s, burst: 5}]\n");
  engine_->reload_file(file);
  EXPECT_EQ(engine_->reloads(), 1U);
  EXPECT_TRUE(decide({.user = "u"}).allowed) << "a changed limit starts afresh";
  std::filesystem::remove(file);
}

TEST_F(EngineTest, ScopesAndCallerFallback) {
  load_text(R"(
caller: [api_key, user, ip]
limits:
  - {name: per_caller, scope: caller, rate: 5/s}
  - {name: per_user_endpoint, scope: [user, endpoint], rate: 5/s}
)");
  const auto keys =
      engine_->keys_for({.user = "bob", .ip = "192.0.2.1", .method = "GET", .path = "/items/42"});
  ASSERT_EQ(keys.size(), 2U);
  EXPECT_NE(keys[0].find("{u=bob}"), std::string::npos) << keys[0];
  EXPECT_NE(keys[1].find("{u=bob}|e=GET /items/{id}"), std::string::npos) << keys[1];
  // Without a user, the per-user limit does not apply; the caller is the ip.
  const auto anonymous = engine_->keys_for({.ip = "192.0.2.1"});
  ASSERT_EQ(anonymous.size(), 1U);
  EXPECT_NE(anonymous[0].find("{ip=192.0.2.1}"), std::string::npos);
  EXPECT_NE(engine_->keys_for({}).at(0).find("anon"), std::string::npos);
}

TEST_F(EngineTest, Ipv6AddressesCountPerPrefix) {
  load_text("limits: [{name: per_ip, scope: ip, rate: 1/s, burst: 1}]\n");
  EXPECT_TRUE(decide({.ip = "2001:db8:0:1::1"}).allowed);
  EXPECT_FALSE(decide({.ip = "2001:db8:0:1::2"}).allowed) << "same /64";
  EXPECT_TRUE(decide({.ip = "2001:db8:0:2::1"}).allowed);
  EXPECT_TRUE(decide({.ip = "::ffff:192.0.2.1"}).allowed);
  EXPECT_FALSE(decide({.ip = "192.0.2.1"}).allowed) << "an IPv4-mapped address is the IPv4 address";
}

TEST_F(EngineTest, BadAttributesAreRejectedBeforeAnythingIsCounted) {
  load_text("limits: [{name: per_user, scope: user, rate: 1/s, burst: 1}]\n");
  EXPECT_THROW((void)decide({.user = "u", .ip = "999.1.1.1"}), InvalidRequest);
  EXPECT_THROW((void)decide({.user = std::string(300, 'x')}), InvalidRequest);
  EXPECT_THROW((void)decide({.user = "u", .cost = -1}), InvalidRequest);
  EXPECT_THROW((void)decide({.user = "u", .method = "GE T"}), InvalidRequest);
  EXPECT_THROW((void)decide({.user = "u", .path = std::string(5000, 'a')}), InvalidRequest);
  EXPECT_TRUE(decide({.user = "u"}).allowed) << "nothing was counted";
}

TEST_F(EngineTest, LongIdentifiersAreHashedInKeys) {
  load_text("limits: [{name: per_user, scope: user, rate: 1/s}]\n");
  const std::string user(200, 'q');
  const auto keys = engine_->keys_for({.user = user});
  EXPECT_EQ(keys.at(0).find(user), std::string::npos);
  EXPECT_LE(keys.at(0).size(), 100U);
}

TEST_F(EngineTest, NoLimitsMeansAdmitted) {
  load_text("");
  const auto d = decide({.user = "u"});
  EXPECT_TRUE(d.allowed);
  EXPECT_TRUE(d.checks.empty());
}

}  // namespace
}  // namespace ratelimit::policy::testing
