// `ratelimit sla`: compliance per item and credits, on the worked example
// (examples/planning/sla.yaml + measured.json, hand-computed in comments),
// the readers' errors, and the figures taken from a /v1/stats reply.

#include "ratelimit/planning/sla.hpp"

#include <gtest/gtest.h>

#include <fstream>
#include <sstream>
#include <string>

#include "ratelimit/planning/capacity.hpp"
#include "ratelimit/policy/config_loader.hpp"

namespace ratelimit::planning {
namespace {

const std::string kExamples = RATELIMIT_SOURCE_DIR "/examples/planning/";

std::string read(const std::string& path) {
  std::ifstream in(path);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

const SlaTierResult& tier(const SlaReport& r, const std::string& name) {
  for (const auto& t : r.tiers) {
    if (t.tier == name) return t;
  }
  throw std::runtime_error("no tier " + name);
}

const SlaItem& item(const SlaTierResult& t, const std::string& name) {
  for (const auto& i : t.items) {
    if (i.item == name) return i;
  }
  throw std::runtime_error("no item " + name);
}

TEST(Sla, WorkedExample) {
  const auto sla = load_sla_file(kExamples + "sla.yaml");
  const auto measured = parse_measured_json(read(kExamples + "measured.json"), "measured.json");
  const auto r = evaluate_sla(sla, measured);
  ASSERT_EQ(r.tiers.size(), 3U);
  // basic: 99.5 >= 99.0 and 150 <= 500: met; its own schedule starts below 99.0: no credit.
  const auto& basic = tier(r, "basic");
  EXPECT_TRUE(basic.met);
  EXPECT_EQ(basic.items.size(), 2U);
  EXPECT_DOUBLE_EQ(basic.credit, 0);
  // premium: 99.5 < 99.9, missed by 0.4 points; the default schedule: below
  // 99.9 -> 10%, not below 99.0 -> 10% of 499 = 49.90.
  const auto& premium = tier(r, "premium");
  EXPECT_FALSE(premium.met);
  EXPECT_FALSE(item(premium, "availability").met);
  EXPECT_NEAR(item(premium, "availability").shortfall, 0.4, 1e-9);
  EXPECT_TRUE(item(premium, "response_time").met);
  EXPECT_TRUE(item(premium, "accuracy").met);
  EXPECT_DOUBLE_EQ(premium.credit_percent, 10);
  EXPECT_NEAR(premium.credit, 49.9, 1e-9);
  // enterprise: per-tier response 120 (the file's tier figure wins over 150):
  // 120 > 100 missed by 20 ms; 99.8 < 99.9 missed by 0.1; 99.5 < 99.95 by
  // 0.45. Credits: below 99.95 (10) and below 99.9 (25), not below 99.0:
  // the largest, 25% of 4999 = 1249.75.
  const auto& enterprise = tier(r, "enterprise");
  EXPECT_NEAR(item(enterprise, "response_time").measured, 120, 1e-12);
  EXPECT_NEAR(item(enterprise, "response_time").shortfall, 20, 1e-12);
  EXPECT_NEAR(item(enterprise, "accuracy").shortfall, 0.1, 1e-9);
  EXPECT_NEAR(item(enterprise, "availability").shortfall, 0.45, 1e-9);
  EXPECT_DOUBLE_EQ(enterprise.credit_percent, 25);
  EXPECT_NEAR(enterprise.credit, 1249.75, 1e-9);
  // 49.90 + 1249.75.
  EXPECT_NEAR(r.total_credit, 1299.65, 1e-9);
  EXPECT_FALSE(r.met);
}

TEST(Sla, CreditSteps) {
  SlaDefinition sla;
  sla.tiers = {
      {"pro", 1000, 99.9, std::nullopt, std::nullopt, {{99.9, 10}, {99.0, 25}, {95.0, 50}}}};
  const auto credit_at = [&](double availability) {
    MeasuredSet m;
    m.all.availability_percent = availability;
    return evaluate_sla(sla, m).tiers[0].credit;
  };
  EXPECT_DOUBLE_EQ(credit_at(99.95), 0);   // met
  EXPECT_DOUBLE_EQ(credit_at(99.9), 0);    // exactly the target: met
  EXPECT_DOUBLE_EQ(credit_at(99.5), 100);  // < 99.9: 10%
  EXPECT_DOUBLE_EQ(credit_at(98.0), 250);  // < 99.0: 25%
  EXPECT_DOUBLE_EQ(credit_at(90.0), 500);  // < 95.0: 50%
}

TEST(Sla, MissingAndBadFigures) {
  SlaDefinition sla;
  sla.tiers = {{"pro", 0, 99.9, 200.0, std::nullopt, {}}};
  MeasuredSet m;
  m.all.availability_percent = 99.95;
  try {
    (void)evaluate_sla(sla, m);
    FAIL();
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find(
                  "no measured response time for tier 'pro' (give --response-ms MS"),
              std::string::npos)
        << e.what();
  }
  m.all.response_ms = 10;
  m.all.availability_percent = 101;
  EXPECT_THROW((void)evaluate_sla(sla, m), InputError);
  m.all.availability_percent = 99.95;
  m.by_tier["gold"].response_ms = 1;
  try {
    (void)evaluate_sla(sla, m);
    FAIL();
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("tier 'gold', which the SLA does not define"),
              std::string::npos);
  }
}

TEST(SlaMeasured, JsonFileErrorsNameTheField) {
  EXPECT_THROW((void)parse_measured_json("{", "m.json"), InputError);
  try {
    (void)parse_measured_json(R"({"availability": 99})", "m.json");
    FAIL();
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("m.json has an unknown key 'availability'"),
              std::string::npos);
  }
  try {
    (void)parse_measured_json(R"({"tiers": {"pro": {"response_ms": "fast"}}})", "m.json");
    FAIL();
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("m.json.tiers.pro.response_ms must be a number"),
              std::string::npos);
  }
  EXPECT_THROW((void)parse_measured_json(R"({"response_ms": -1})", "m.json"), InputError);
}

TEST(SlaMeasured, FlagsWinOverTheFile) {
  MeasuredSet flags;
  flags.all.response_ms = 50;
  flags.complete_from(
      parse_measured_json(R"({"response_ms": 150, "availability_percent": 99})", "m"));
  EXPECT_DOUBLE_EQ(*flags.all.response_ms, 50);
  EXPECT_DOUBLE_EQ(*flags.all.availability_percent, 99);
}

TEST(SlaMeasured, StatsReplyGivesTheP99Latency) {
  EXPECT_DOUBLE_EQ(
      *measured_from_stats_json(R"({"total": 5, "latency_p99_ms": 0.25})").all.response_ms, 0.25);
  EXPECT_DOUBLE_EQ(*measured_from_stats_json(R"({"latency": {"p99_us": 250}})").all.response_ms,
                   0.25);
  try {
    (void)measured_from_stats_json(R"({"total": 0})");
    FAIL();
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("no 99th-percentile latency"), std::string::npos);
  }
}

std::string write_temp(const std::string& name, const std::string& text) {
  const std::string path = ::testing::TempDir() + name;
  std::ofstream(path) << text;
  return path;
}

TEST(SlaFile, ErrorsArePositioned) {
  const std::string path = write_temp("sla_bad.yaml",
                                      "tiers:\n"
                                      "  pro:\n"
                                      "    availabilty: 99.9\n"
                                      "    monthly_fee: -10\n"
                                      "    credits:\n"
                                      "      - {below: 99.9}\n");
  try {
    (void)load_sla_file(path);
    FAIL();
  } catch (const policy::ConfigError& e) {
    const std::string errors = e.what();
    EXPECT_NE(
        errors.find(
            path +
            ":3:5: unknown key 'availabilty' in SLA tier 'pro' (did you mean 'availability'?)"),
        std::string::npos)
        << errors;
    EXPECT_NE(errors.find(path + ":4:18: 'monthly_fee' in SLA tier 'pro' is -10, outside 0..1e+15"),
              std::string::npos)
        << errors;
    EXPECT_NE(errors.find(path + ":6:9: a step of credits of SLA tier 'pro' needs 'credit'"),
              std::string::npos)
        << errors;
    EXPECT_NE(errors.find("SLA tier 'pro' has no target"), std::string::npos) << errors;
  }
}

TEST(SlaFile, DefaultCreditsApplyOnlyWithAnAvailabilityTarget) {
  const std::string path = write_temp("sla_defaults.yaml",
                                      "credits: [{below: 99.9, credit: 10}]\n"
                                      "tiers:\n"
                                      "  fast: {monthly_fee: 100, max_response_ms: 50}\n"
                                      "  up: {monthly_fee: 100, availability: 99.9}\n");
  const auto sla = load_sla_file(path);
  EXPECT_TRUE(sla.tiers[0].credits.empty());
  ASSERT_EQ(sla.tiers[1].credits.size(), 1U);
  MeasuredSet m;
  m.all.availability_percent = 99.0;
  m.all.response_ms = 60;
  const auto r = evaluate_sla(sla, m);
  // fast: 60 > 50 breached, but credits are on availability only: 0.
  EXPECT_FALSE(r.tiers[0].met);
  EXPECT_DOUBLE_EQ(r.tiers[0].credit, 0);
  // up: 99.0 < 99.9: 10% of 100.
  EXPECT_DOUBLE_EQ(r.tiers[1].credit, 10);
}

}  // namespace
}  // namespace ratelimit::planning
