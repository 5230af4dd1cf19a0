// `ratelimit tiers`: limits per tier x endpoint type and the load estimate
// (known answers computed by hand in the comments), the YAML reader's errors,
// and the emitted policy config: loaded with load_config_file and decided by
// the policy engine on a manual clock.

#include "ratelimit/planning/tiers.hpp"

#include <gtest/gtest.h>

#include <fstream>
#include <string>

#include "ratelimit/memory_store.hpp"
#include "ratelimit/planning/capacity.hpp"
#include "ratelimit/policy/config_loader.hpp"
#include "ratelimit/policy/engine.hpp"

namespace ratelimit::planning {
namespace {

const std::string kExamples = RATELIMIT_SOURCE_DIR "/examples/planning/";

const TierLimit& limit(const TierPlan& p, const std::string& tier, const std::string& type) {
  for (const auto& l : p.limits) {
    if (l.tier == tier && l.endpoint_type == type) return l;
  }
  throw std::runtime_error("no limit " + tier + "/" + type);
}

TierPlanInput guide_tiers() {
  TierPlanInput in;
  in.tiers = {{"free", 100, 10, 1000, 1.0},
              {"basic", 1000, 50, 500, 1.0},
              {"premium", 10000, 200, 100, 1.0},
              {"enterprise", 100000, 1000, 10, 1.0}};
  return in;
}

TEST(Tiers, LimitsPerEndpointType) {
  const auto plan = plan_tiers(guide_tiers());
  ASSERT_EQ(plan.limits.size(), 16U);  // 4 tiers x 4 default types
  // free read: 100/h = 100/60 = 1.6667/min = 100/3600 = 0.02778/s, burst 10.
  const auto& read = limit(plan, "free", "read");
  EXPECT_DOUBLE_EQ(read.per_hour, 100);
  EXPECT_NEAR(read.per_minute, 1.666667, 1e-6);
  EXPECT_NEAR(read.per_second, 0.0277778, 1e-7);
  EXPECT_EQ(read.burst, 10);
  // free write x0.5: 50/h, burst 5; compute x0.1: 10/h, burst 1; admin x0.2: 20/h, burst 2.
  EXPECT_DOUBLE_EQ(limit(plan, "free", "write").per_hour, 50);
  EXPECT_EQ(limit(plan, "free", "write").burst, 5);
  EXPECT_NEAR(limit(plan, "free", "compute").per_hour, 10, 1e-9);
  EXPECT_EQ(limit(plan, "free", "compute").burst, 1);
  EXPECT_NEAR(limit(plan, "free", "admin").per_hour, 20, 1e-9);
  EXPECT_EQ(limit(plan, "free", "admin").burst, 2);
  // enterprise compute: 100000 * 0.1 = 10000/h = 166.67/min = 2.778/s, burst 100.
  const auto& ec = limit(plan, "enterprise", "compute");
  EXPECT_NEAR(ec.per_minute, 166.666667, 1e-5);
  EXPECT_NEAR(ec.per_second, 2.7777778, 1e-6);
  EXPECT_EQ(ec.burst, 100);
}

TEST(Tiers, ScaledBurstNeverBelowOne) {
  TierPlanInput in;
  in.tiers = {{"tiny", 10, 3, 0, 1.0}};
  const auto plan = plan_tiers(in);
  // 3 * 0.1 = 0.3 -> floor 0 -> 1; 3 * 0.5 = 1.5 -> 1; 3 * 0.2 = 0.6 -> 1.
  EXPECT_EQ(limit(plan, "tiny", "compute").burst, 1);
  EXPECT_EQ(limit(plan, "tiny", "write").burst, 1);
  EXPECT_EQ(limit(plan, "tiny", "admin").burst, 1);
  EXPECT_EQ(limit(plan, "tiny", "read").burst, 3);
}

TEST(Tiers, LoadEstimate) {
  const auto plan = plan_tiers(guide_tiers());
  // avg = users * requests_per_hour / 3600:
  //   free 1000*100/3600 = 27.78, basic 500*1000/3600 = 138.89,
  //   premium 100*10000/3600 = 277.78, enterprise 10*100000/3600 = 277.78.
  EXPECT_NEAR(plan.loads[0].avg_rps, 27.7778, 1e-4);
  EXPECT_NEAR(plan.loads[1].avg_rps, 138.8889, 1e-4);
  EXPECT_NEAR(plan.loads[3].avg_rps, 277.7778, 1e-4);
  // peak = avg * 3; recommended = peak * 1.5.
  EXPECT_NEAR(plan.loads[0].peak_rps, 83.3333, 1e-4);
  EXPECT_NEAR(plan.loads[0].recommended_rps, 125.0, 1e-9);
  // monthly = avg * 2,592,000 s = users * rph * 720: free 72,000,000.
  EXPECT_NEAR(plan.loads[0].monthly_requests, 72'000'000, 1e-3);
  // total avg 722.22, peak 2166.67, recommended 3250, monthly 1,872,000,000.
  EXPECT_NEAR(plan.total.avg_rps, 722.2222, 1e-4);
  EXPECT_NEAR(plan.total.peak_rps, 2166.6667, 1e-4);
  EXPECT_NEAR(plan.total.recommended_rps, 3250.0, 1e-9);
  EXPECT_NEAR(plan.total.monthly_requests, 1'872'000'000, 1e-2);
  EXPECT_DOUBLE_EQ(plan.total.users, 1610);
}

TEST(Tiers, UsageAndFactorsAreConfigurable) {
  TierPlanInput in;
  // 3600 users using 50% of 200/h: 3600 * 200 * 0.5 / 3600 = 100 RPS.
  in.tiers = {{"basic", 200, 20, 3600, 0.5}};
  in.peak_factor = 2;  // 200 peak
  in.headroom = 0.25;  // 250 recommended
  const auto plan = plan_tiers(in);
  EXPECT_DOUBLE_EQ(plan.total.avg_rps, 100);
  EXPECT_DOUBLE_EQ(plan.total.peak_rps, 200);
  EXPECT_DOUBLE_EQ(plan.total.recommended_rps, 250);
}

void expect_error(const TierPlanInput& in, const std::string& fragment) {
  try {
    (void)plan_tiers(in);
    ADD_FAILURE() << "no error; expected: " << fragment;
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find(fragment), std::string::npos) << e.what();
  }
}

TEST(Tiers, BadInputNamesTheField) {
  auto in = guide_tiers();
  in.tiers[1].requests_per_hour = -5;
  expect_error(in, "tier 'basic': requests_per_hour must be above 0 and at most 1e15, not -5");
  in = guide_tiers();
  in.tiers[1].requests_per_hour = 1e300;
  expect_error(in, "requests_per_hour must be above 0 and at most 1e15, not 1e+300");
  in = guide_tiers();
  in.tiers[0].burst = 0;
  expect_error(in, "tier 'free': burst must be 1..2^40, not 0");
  in = guide_tiers();
  in.tiers[0].users = -1;
  expect_error(in, "tier 'free': users must be 0..1e15, not -1");
  in = guide_tiers();
  in.peak_factor = 0.5;
  expect_error(in, "peak_factor must be at least 1");
  in = guide_tiers();
  in.endpoint_types[2].multiplier = 0;
  expect_error(in, "endpoint type 'compute': multiplier must be 0.000001..1000000, not 0");
  in = guide_tiers();
  in.tiers.push_back(in.tiers[0]);
  expect_error(in, "tier 'free' is given twice");
  in = guide_tiers();
  in.tiers[0].name = "free tier";
  expect_error(in, "a tier name is 1 to 64 letters");
  expect_error(TierPlanInput{}, "no tiers given");
}

TEST(TiersFile, TheExampleIsTheGuidesTiers) {
  const auto in = load_tier_plan_file(kExamples + "tiers.yaml");
  ASSERT_EQ(in.tiers.size(), 4U);
  EXPECT_EQ(in.tiers[0].name, "free");
  EXPECT_EQ(in.tiers[3].name, "enterprise");
  EXPECT_EQ(in.endpoint_types.size(), 4U);
  const auto plan = plan_tiers(in);
  EXPECT_NEAR(plan.total.recommended_rps, 3250.0, 1e-9);
  EXPECT_EQ(limit(plan, "free", "compute").burst, 1);
}

std::string write_temp(const std::string& name, const std::string& text) {
  const std::string path = ::testing::TempDir() + name;
  std::ofstream(path) << text;
  return path;
}

TEST(TiersFile, ErrorsArePositioned) {
  const std::string path = write_temp("tiers_bad.yaml",
                                      "tiers:\n"
                                      "  free: {requests_per_hour: 100, brust: 10}\n"
                                      "  pro: {requests_per_hour: -1, burst: 5}\n"
                                      "endpoint_types:\n"
                                      "  read: 0\n"
                                      "peak_factr: 2\n");
  try {
    (void)load_tier_plan_file(path);
    FAIL();
  } catch (const policy::ConfigError& e) {
    const std::string errors = e.what();
    EXPECT_NE(
        errors.find(path + ":2:34: unknown key 'brust' in tier 'free' (did you mean 'burst'?)"),
        std::string::npos)
        << errors;
    EXPECT_NE(errors.find(path + ":2:9: tier 'free' needs 'burst'"), std::string::npos) << errors;
    EXPECT_NE(errors.find(path + ":3:28: 'requests_per_hour' in tier 'pro' is -1"),
              std::string::npos)
        << errors;
    EXPECT_NE(errors.find(path + ":5:9: 'read' in endpoint_types is 0"), std::string::npos)
        << errors;
    EXPECT_NE(
        errors.find(
            path + ":6:1: unknown key 'peak_factr' in the tier plan (did you mean 'peak_factor'?)"),
        std::string::npos)
        << errors;
  }
}

TEST(TiersConfig, EmittedConfigLoadsAndEnforcesTheLimits) {
  const auto in = load_tier_plan_file(kExamples + "tiers.yaml");
  const std::string path = write_temp("emitted_policy.yaml", emit_policy_config(in, "tiers.yaml"));
  const auto config = policy::load_config_file(path);  // throws ConfigError if invalid
  ASSERT_EQ(config.tiers.size(), 4U);
  EXPECT_EQ(config.default_tier, "free");

  ManualClock clock(0);
  MemoryStore store;
  const auto attributes = make_memory_attribute_store();
  policy::PolicyEngine engine(store, *attributes, clock, config);
  // free: burst 10 read requests (cost 1 each), then denied.
  for (int i = 0; i < 10; ++i) {
    EXPECT_TRUE(engine.decide({.user = "u1", .method = "GET", .path = "/items/1"}).allowed) << i;
  }
  const auto eleventh = engine.decide({.user = "u1", .method = "GET", .path = "/items/1"});
  EXPECT_FALSE(eleventh.allowed);
  EXPECT_EQ(eleventh.tier, "free");
  // A compute request costs 1 / 0.1 = 10 units: one fits in the burst of 10.
  const policy::Request compute{.user = "u2", .method = "POST", .path = "/compute/run"};
  const auto first = engine.decide(compute);
  EXPECT_TRUE(first.allowed);
  EXPECT_EQ(first.cost, 10);
  EXPECT_FALSE(engine.decide(compute).allowed);
  // Writes cost 2 (x0.5): 5 fit; admin costs 5 (x0.2): 2 fit.
  int writes = 0, admin = 0;
  for (int i = 0; i < 20; ++i) {
    writes += engine.decide({.user = "u3", .method = "PUT", .path = "/items/1"}).allowed ? 1 : 0;
    admin +=
        engine.decide({.user = "u4", .method = "DELETE", .path = "/admin/users/7"}).allowed ? 1 : 0;
  }
  EXPECT_EQ(writes, 5);
  EXPECT_EQ(admin, 2);
  // Refill: 100 units/h = one read request per 36 s.
  clock.advance(36 * kMicrosPerSecond);
  EXPECT_TRUE(engine.decide({.user = "u1", .method = "GET", .path = "/items/1"}).allowed);
  EXPECT_FALSE(engine.decide({.user = "u1", .method = "GET", .path = "/items/1"}).allowed);
  // enterprise: 1000 read burst.
  int enterprise = 0;
  for (int i = 0; i < 1001; ++i) {
    enterprise +=
        engine.decide({.user = "big", .method = "GET", .path = "/x", .tier = "enterprise"}).allowed;
  }
  EXPECT_EQ(enterprise, 1000);
}

TEST(TiersConfig, EmitRefusesWhatThePolicyCannotExpress) {
  TierPlanInput in;
  in.tiers = {{"small", 100, 5, 0, 1.0}};
  try {
    // compute costs 10 > burst 5: such requests could never be admitted.
    (void)emit_policy_config(in);
    FAIL();
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find(
                  "tier 'small': burst 5 is below the cost of a 'compute' request (10)"),
              std::string::npos)
        << e.what();
  }
  in.tiers[0].burst = 10;
  in.endpoint_types.push_back({"export", 0.05, {}});
  EXPECT_THROW((void)emit_policy_config(in), InputError);  // no patterns
  in.endpoint_types.back() = {"bulk", 2.0, {"POST /bulk/**"}};
  EXPECT_THROW((void)emit_policy_config(in), InputError);  // multiplier above 1
  // A multiplier without an exact whole cost is rounded, and the config says so.
  in.endpoint_types.back() = {"search", 0.3, {"GET /search/**"}};
  const std::string text = emit_policy_config(in);
  EXPECT_NE(text.find("search: multiplier 0.3 -> cost 3 (costs are whole units: effective "
                      "multiplier 0.333333)"),
            std::string::npos)
      << text;
  EXPECT_NO_THROW((void)policy::load_config(text, "emitted"));
}

}  // namespace
}  // namespace ratelimit::planning
