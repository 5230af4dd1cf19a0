// The example configs behave as the guides' tables say.
#include "policy_fixture.hpp"

namespace ratelimit::policy::testing {
namespace {

using ExamplesTest = PolicyFixture;

struct TierRow {
  const char* user;
  const char* tier;
  int burst;
  Micros refill_interval;  // µs per request
};

// tiers.yaml: Free 100 burst at 1/s, Basic 500 at 10/s, Pro 2000 at 50/s,
// Enterprise 10000 at 200/s.
TEST_F(ExamplesTest, TiersAdmitTheirBurstThenRefillAtTheirRate) {
  load_file(example_path("tiers.yaml"));
  const TierRow rows[] = {{"someone", "free", 100, kMicrosPerSecond},
                          {"b1", "basic", 500, kMicrosPerSecond / 10},
                          {"p1", "pro", 2000, kMicrosPerSecond / 50},
                          {"e1", "enterprise", 10000, kMicrosPerSecond / 200}};
  for (const auto& row : rows) {
    if (std::string(row.tier) != "free")
      engine_->assign_tier(IdType::user, row.user, row.tier, std::nullopt, "test");
    const Request r{.user = row.user};
    EXPECT_EQ(admitted(r, row.burst), row.burst) << row.tier;
    const auto denied = decide(r);
    EXPECT_FALSE(denied.allowed) << row.tier;
    EXPECT_EQ(denied.tier, row.tier);
    EXPECT_EQ(denied.scope, "requests");
    EXPECT_EQ(denied.decision.limit, row.burst);
    EXPECT_EQ(denied.decision.retry_after, row.refill_interval) << row.tier;
    clock_.advance(row.refill_interval - 1);
    EXPECT_FALSE(decide(r).allowed) << row.tier << ": one µs early";
    clock_.advance(1);
    EXPECT_TRUE(decide(r).allowed) << row.tier << ": on time";
    EXPECT_FALSE(decide(r).allowed) << row.tier << ": only one refilled";
  }
}

TEST_F(ExamplesTest, StaticTierAssignmentsApplyUntilTheyExpire) {
  load_file(example_path("tiers.yaml"));
  EXPECT_EQ(decide({.user = "acme-corp"}).tier, "enterprise");
  EXPECT_EQ(decide({.user = "trial-user"}).tier, "pro");
  clock_.set(1'893'456'000 * kMicrosPerSecond);  // 2030-01-01T00:00:00Z
  EXPECT_EQ(decide({.user = "trial-user"}).tier, "free");
}

// multi-bucket.yaml, free: 100 at 1.67/s and 1000 at 0.28/s.
TEST_F(ExamplesTest, FreeTierShortTermBucketStopsABurst) {
  load_file(example_path("multi-bucket.yaml"));
  const Request r{.user = "u"};
  EXPECT_EQ(admitted(r, 100), 100);
  const auto d = decide(r);
  EXPECT_FALSE(d.allowed);
  EXPECT_EQ(d.scope, "short_term");
  // 1.67/s is 167 per 100 s: one request every 100/167 s, rounded up to µs.
  EXPECT_EQ(d.decision.retry_after, 598'803);
  ASSERT_EQ(d.checks.size(), 2U);
  EXPECT_EQ(d.checks[1].scope, "long_term");
  EXPECT_TRUE(d.checks[1].decision.allowed);
}

TEST_F(ExamplesTest, FreeTierLongTermBucketStopsASteadyStream) {
  load_file(example_path("multi-bucket.yaml"));
  const Request r{.user = "u"};
  EXPECT_EQ(admitted(r, 100), 100);
  // Then one request each 600 ms (just under 1.67/s): the short-term bucket
  // keeps up, the long-term one (1000, refilling 0.28/s) drains at about
  // 1.39/s from 900 left: empty after about 647 s.
  Micros first_long_term_denial = 0;
  for (int i = 0; i < 2000 && first_long_term_denial == 0; ++i) {
    clock_.advance(600 * kMicrosPerMilli);
    const auto d = decide(r);
    if (!d.allowed) {
      EXPECT_EQ(d.scope, "long_term");
      first_long_term_denial = clock_.now() - kStart;
    }
  }
  EXPECT_GT(first_long_term_denial, 640 * kMicrosPerSecond);
  EXPECT_LT(first_long_term_denial, 660 * kMicrosPerSecond);
}

TEST_F(ExamplesTest, PremiumTierChecksEveryBucket) {
  load_file(example_path("multi-bucket.yaml"));
  const Request r{.user = "premium-user"};
  const auto first = decide(r);
  EXPECT_EQ(first.tier, "premium");
  EXPECT_EQ(first.checks.size(), 4U);
  EXPECT_EQ(admitted(r, 9), 9);
  const auto d = decide(r);
  EXPECT_FALSE(d.allowed);
  EXPECT_EQ(d.scope, "per_second");
  // At 10/s sustained, the burst bucket (50 at 5/s) runs dry: 40 tokens left
  // draining at 5/s, so within about 8 s it denies.
  std::string limiting;
  for (int i = 0; i < 200 && limiting.empty(); ++i) {
    clock_.advance(100 * kMicrosPerMilli);
    const auto next = decide(r);
    if (!next.allowed) limiting = next.scope;
  }
  EXPECT_EQ(limiting, "burst");
}

// endpoints.yaml: costs GET /users 1, POST /documents/upload 5, POST
// /ocr/process 10, POST /ocr/batch 50.
TEST_F(ExamplesTest, EndpointCosts) {
  load_file(example_path("endpoints.yaml"));
  EXPECT_EQ(decide({.user = "a", .method = "GET", .path = "/users"}).cost, 1);
  EXPECT_EQ(decide({.user = "a", .method = "GET", .path = "/users/12345"}).endpoint,
            "GET /users/{id}");
  EXPECT_EQ(decide({.user = "a", .method = "POST", .path = "/documents/upload"}).cost, 5);
  EXPECT_EQ(decide({.user = "a", .method = "POST", .path = "/ocr/process"}).cost, 10);
  EXPECT_EQ(decide({.user = "a", .method = "POST", .path = "/ocr/batch"}).cost, 50);
  EXPECT_EQ(decide({.user = "a", .method = "GET", .path = "/elsewhere"}).cost, 1);
  EXPECT_EQ(decide({.user = "a", .method = "POST", .path = "/ocr/batch", .cost = 2}).cost, 2);
}

struct EndpointRow {
  const char* path;
  const char* limit_name;
  int burst;
  Micros interval;
};

// Endpoint limits: /ocr/process 50 at 1/s, /ocr/batch 10 at 0.1/s,
// /documents/upload 100 at 2/s, each per caller and counted in requests.
TEST_F(ExamplesTest, EndpointLimitsCountRequestsPerCaller) {
  load_file(example_path("endpoints.yaml"));
  const EndpointRow rows[] = {{"/ocr/process", "ocr_process", 50, kMicrosPerSecond},
                              {"/ocr/batch", "ocr_batch", 10, 10 * kMicrosPerSecond},
                              {"/documents/upload", "upload", 100, kMicrosPerSecond / 2}};
  int n = 0;
  for (const auto& row : rows) {
    const std::string user = "caller-" + std::to_string(n);
    const std::string ip = "192.0.2." + std::to_string(++n);
    const Request r{.user = user, .ip = ip, .method = "POST", .path = row.path};
    EXPECT_EQ(admitted(r, row.burst), row.burst) << row.path;
    const auto d = decide(r);
    EXPECT_FALSE(d.allowed) << row.path;
    EXPECT_EQ(d.scope, row.limit_name);
    EXPECT_EQ(d.decision.retry_after, row.interval) << row.path;
    // Another caller is not affected.
    EXPECT_TRUE(
        decide({.user = "other-" + user, .ip = "198.51.100.1", .method = "POST", .path = row.path})
            .allowed);
  }
}

TEST_F(ExamplesTest, TierBudgetCountsCostUnits) {
  load_file(example_path("endpoints.yaml"));
  // budget: 1000 units a minute. Uploads cost 5: the endpoint limit (100
  // requests) is hit first at 500 units; then OCR at 10 units each spends the
  // other 500 in 50 requests, which is also the OCR limit: the 51st fails on
  // both, and the budget has 0 left.
  const Request upload{
      .user = "u", .ip = "192.0.2.10", .method = "POST", .path = "/documents/upload"};
  EXPECT_EQ(admitted(upload, 100), 100);
  const Request ocr{.user = "u", .ip = "192.0.2.10", .method = "POST", .path = "/ocr/process"};
  EXPECT_EQ(admitted(ocr, 50), 50);
  const auto d = decide({.user = "u", .ip = "192.0.2.10", .method = "GET", .path = "/users"});
  EXPECT_FALSE(d.allowed);
  EXPECT_EQ(d.scope, "budget");
  EXPECT_EQ(d.decision.remaining, 0);
}

TEST_F(ExamplesTest, PerIpLimitCountsRequestsFromOneAddress) {
  load_file(example_path("endpoints.yaml"));
  int ok = 0;
  for (int i = 0; i < 301; ++i) {
    ok += decide({.user = "user-" + std::to_string(i), .ip = "198.51.100.7", .path = "/users"})
                  .allowed
              ? 1
              : 0;
  }
  EXPECT_EQ(ok, 300);
  const auto d = decide({.user = "fresh", .ip = "198.51.100.7", .path = "/users"});
  EXPECT_EQ(d.scope, "per_ip");
  EXPECT_EQ(d.decision.retry_after, kMicrosPerSecond / 5);
}

TEST_F(ExamplesTest, GlobalLimitCoversEveryCaller) {
  load_file(example_path("endpoints.yaml"));
  int ok = 0;
  for (int i = 0; i < 10'001; ++i) {
    const std::string ip = "198.18." + std::to_string(i / 250) + "." + std::to_string(i % 250);
    ok += decide({.user = "g" + std::to_string(i), .ip = ip, .path = "/users"}).allowed ? 1 : 0;
  }
  EXPECT_EQ(ok, 10'000);
  EXPECT_EQ(decide({.user = "late", .ip = "198.19.0.1", .path = "/users"}).scope, "global");
}

TEST_F(ExamplesTest, WhitelistAndDenylist) {
  load_file(example_path("endpoints.yaml"));
  const auto internal = decide({.ip = "10.20.30.40", .method = "POST", .path = "/ocr/batch"});
  EXPECT_TRUE(internal.allowed);
  EXPECT_TRUE(internal.whitelisted);
  EXPECT_TRUE(internal.checks.empty()) << "whitelisted requests are not counted";
  EXPECT_TRUE(decide({.user = "health-checker", .ip = "192.0.2.99"}).whitelisted);
  const auto blocked = decide({.user = "x", .ip = "203.0.113.66"});
  EXPECT_FALSE(blocked.allowed);
  EXPECT_TRUE(blocked.denylisted);
  EXPECT_EQ(blocked.reason, "credential stuffing");
  EXPECT_TRUE(blocked.decision.never_admissible());
}

}  // namespace
}  // namespace ratelimit::policy::testing
