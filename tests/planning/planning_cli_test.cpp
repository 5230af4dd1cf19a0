// The real `ratelimit` binary's capacity, tiers and sla commands: tables,
// --json, every kind of bad input (exit status 2 with a message naming it),
// and the paths through a real ratelimitd: capacity --from-metrics, the
// emitted tier config served by ratelimitd --config, sla --from-service.

#include <gtest/gtest.h>
#include <sys/wait.h>

#include <array>
#include <boost/json.hpp>
#include <cstdio>
#include <fstream>
#include <string>

#include "ratelimit/planning/capacity.hpp"
#include "ratelimit/planning/sla.hpp"
#include "cli_run.hpp"
#include "ratelimitd_process.hpp"

namespace ratelimit::testing {
namespace {
namespace json = boost::json;

const std::string kExamples = RATELIMIT_SOURCE_DIR "/examples/planning/";

CliRun run(const std::string& args) { return run_cli(RATELIMIT_CLI, args); }

bool has(const CliRun& r, const std::string& text) {
  return r.output.find(text) != std::string::npos;
}

json::object parse_object(const CliRun& r) {
  json::error_code ec;
  json::value v = json::parse(r.output, ec);
  if (ec || !v.is_object()) {
    ADD_FAILURE() << "not a JSON object: " << r.output;
    return {};
  }
  return v.as_object();
}

std::string write_temp(const std::string& name, const std::string& text) {
  const std::string path = ::testing::TempDir() + name;
  std::ofstream(path) << text;
  return path;
}

TEST(CapacityCli, TableAndJson) {
  const CliRun table = run("capacity " + kExamples + "capacity.yaml");
  EXPECT_EQ(table.status, 0) << table.output;
  // 8 cores * 1000 / 20 ms = 400 RPS, the bottleneck (marked *); 400 * 0.7 = 280.
  EXPECT_TRUE(has(table, "cpu *          8.00 cores   20.0000 CPU ms     400.00        70.0%"))
      << table.output;
  EXPECT_TRUE(has(table, "memory          16.00 GiB  4.0000 MiB held  27,306.67")) << table.output;
  EXPECT_TRUE(has(table, "theoretical max: 400.00 RPS (bottleneck: cpu)")) << table.output;
  EXPECT_TRUE(has(table, "safe max:        280.00 RPS (safety factor 0.70)")) << table.output;

  const CliRun j = run("capacity " + kExamples + "capacity.yaml --json");
  EXPECT_EQ(j.status, 0) << j.output;
  const auto o = parse_object(j);
  EXPECT_EQ(o.at("bottleneck").as_string(), "cpu");
  EXPECT_DOUBLE_EQ(o.at("theoretical_rps").to_number<double>(), 400.0);
  EXPECT_NEAR(o.at("safe_rps").to_number<double>(), 280.0, 1e-9);
  EXPECT_EQ(o.at("resources").as_array().size(), 4U);

  // Flags alone, and flags over the file: 4 cores / 10 ms = 400; * 0.5 = 200.
  const auto flags =
      parse_object(run("capacity --cpu-cores 4 --cpu-ms 10 --safety-factor 0.5 --json"));
  EXPECT_DOUBLE_EQ(flags.at("safe_rps").to_number<double>(), 200.0);
  // The file with 40 ms of CPU: 8000 / 40 = 200 RPS.
  const auto over = parse_object(run("capacity " + kExamples + "capacity.yaml --cpu-ms 40 --json"));
  EXPECT_DOUBLE_EQ(over.at("theoretical_rps").to_number<double>(), 200.0);
}

TEST(CapacityCli, BadInputExitsTwoNamingTheProblem) {
  CliRun r = run("capacity --cpu-cores 4 --cpu-ms 0");
  EXPECT_EQ(r.status, 2);
  EXPECT_TRUE(has(r, "ratelimit: per_request.cpu_ms must be above 0, not 0")) << r.output;
  r = run("capacity --cpu-cores -4 --cpu-ms 10");
  EXPECT_EQ(r.status, 2);
  EXPECT_TRUE(has(r, "resources.cpu_cores must be above 0, not -4")) << r.output;
  r = run("capacity --cpu-cores 4");
  EXPECT_EQ(r.status, 2);
  EXPECT_TRUE(has(r, "resources.cpu_cores is given but per_request.cpu_ms is missing")) << r.output;
  r = run("capacity --cpu-cores four --cpu-ms 1");
  EXPECT_EQ(r.status, 2);
  EXPECT_TRUE(has(r, "--cpu-cores")) << r.output;
  const std::string bad = write_temp("cli_capacity_bad.yaml",
                                     "resources: {cpu_cores: 8}\nper_request: {cpu_msec: 5}\n");
  r = run("capacity " + bad);
  EXPECT_EQ(r.status, 2);
  EXPECT_TRUE(has(r, bad + ":2:15: unknown key 'cpu_msec' in per_request (did you mean 'cpu_ms'?)"))
      << r.output;
  r = run("capacity /nonexistent.yaml");
  EXPECT_EQ(r.status, 2);
  EXPECT_TRUE(has(r, "/nonexistent.yaml: cannot read the file")) << r.output;
}

TEST(CapacityCli, FromMetricsOfARunningServer) {
  RatelimitdProcess server(RATELIMITD_BINARY, {});
  const std::string url = "http://127.0.0.1:" + std::to_string(server.port());
  // No decision yet: nothing to average.
  CliRun r = run("capacity --from-metrics " + url + " --cpu-cores 2");
  EXPECT_EQ(r.status, 2);
  EXPECT_TRUE(has(r, "has not made a decision yet")) << r.output;
  for (int i = 0; i < 20; ++i) {
    const auto reply =
        server.request("POST", "/v1/check", R"({"key": "cap", "limit": 100, "window_ms": 60000})");
    ASSERT_EQ(reply.status, 200U) << reply.body;
  }
  // The figure the command must derive, from the same page (decisions are
  // not counted by /metrics requests, so it does not move in between).
  const auto expected = planning::per_request_from_metrics(server.request("GET", "/metrics").body);
  r = run("capacity --from-metrics " + url + " --cpu-cores 2 --json");
  ASSERT_EQ(r.status, 0) << r.output;
  const auto o = parse_object(r);
  const auto& measured = o.at("measured").as_object();
  EXPECT_DOUBLE_EQ(measured.at("decisions").to_number<double>(), 20.0);
  EXPECT_DOUBLE_EQ(measured.at("cpu_ms").to_number<double>(), expected.cpu_ms);
  EXPECT_EQ(measured.at("cpu_source").as_string(), expected.cpu_source);
  // 2 cores = 2000 CPU-ms per second.
  EXPECT_NEAR(o.at("theoretical_rps").to_number<double>(), 2000.0 / expected.cpu_ms, 1e-6);

  // A server that is not there, and a page that is not ratelimitd's metrics.
  r = run("capacity --from-metrics http://127.0.0.1:1 --cpu-cores 2");
  EXPECT_EQ(r.status, 2);
  EXPECT_TRUE(has(r, "cannot fetch http://127.0.0.1:1/metrics")) << r.output;
}

TEST(TiersCli, TableJsonAndErrors) {
  CliRun r = run("tiers " + kExamples + "tiers.yaml");
  EXPECT_EQ(r.status, 0) << r.output;
  // free read: 100/h, 1.667/min, 0.0278/s, burst 10; compute: 10/h, burst 1.
  EXPECT_TRUE(has(r, "free        read            1.00      0.0278       1.667       100     10"))
      << r.output;
  EXPECT_TRUE(has(r, "free        compute         0.10      0.0028       0.167        10      1"))
      << r.output;
  // total: 722.22 avg, 2,166.67 peak, 3,250.00 recommended, 1,872,000,000 a month.
  EXPECT_TRUE(has(r, "total       1,610   722.22  2,166.67         3,250.00   1,872,000,000"))
      << r.output;

  r = run("tiers --tier free:100:10:1000 --tier pro:3600:60:100:0.5 --peak-factor 2 --json");
  EXPECT_EQ(r.status, 0) << r.output;
  const auto o = parse_object(r);
  // pro: 100 * 3600 * 0.5 / 3600 = 50 RPS; free 27.78; peak x2.
  EXPECT_NEAR(o.at("total").as_object().at("avg_rps").to_number<double>(), 50 + 100000.0 / 3600,
              1e-9);
  EXPECT_NEAR(o.at("total").as_object().at("peak_rps").to_number<double>(),
              2 * (50 + 100000.0 / 3600), 1e-9);
  EXPECT_EQ(o.at("limits").as_array().size(), 8U);

  r = run("tiers --tier free:100:0");
  EXPECT_EQ(r.status, 2);
  EXPECT_TRUE(has(r, "tier 'free': burst must be 1..2^40, not 0")) << r.output;
  r = run("tiers --tier free:100");
  EXPECT_EQ(r.status, 2);
  EXPECT_TRUE(has(r, "must be NAME:REQUESTS_PER_HOUR:BURST")) << r.output;
  r = run("tiers --tier free:-100:10");
  EXPECT_EQ(r.status, 2);
  EXPECT_TRUE(has(r, "requests_per_hour must be above 0 and at most 1e15, not -100")) << r.output;
  r = run("tiers --tier x:5:1e300");
  EXPECT_EQ(r.status, 2);
  EXPECT_TRUE(has(r, "burst must be 1..2^40")) << r.output;
  r = run("tiers");
  EXPECT_EQ(r.status, 2);
  EXPECT_TRUE(has(r, "no tiers")) << r.output;
  const std::string bad = write_temp(
      "cli_tiers_bad.yaml", "tiers:\n  free: {requests_per_hour: 100, burst: 10, userz: 5}\n");
  r = run("tiers " + bad);
  EXPECT_EQ(r.status, 2);
  EXPECT_TRUE(has(r, bad + ":2:45: unknown key 'userz' in tier 'free' (did you mean 'users'?)"))
      << r.output;
}

TEST(TiersCli, EmittedConfigServesDecisionsInRatelimitd) {
  const std::string config = ::testing::TempDir() + "cli_emitted_policy.yaml";
  CliRun r = run("tiers " + kExamples + "tiers.yaml --emit-config " + config);
  ASSERT_EQ(r.status, 0) << r.output;
  EXPECT_TRUE(has(r, "Policy config written to " + config)) << r.output;
  EXPECT_EQ(run("config check " + config).status, 0);

  RatelimitdProcess server(RATELIMITD_BINARY, {"--config", config});
  const std::string compute = R"({"user": "u1", "method": "POST", "path": "/compute/run"})";
  // free tier, compute costs 10 of the burst of 10: one, then denied.
  auto reply = server.request("POST", "/v1/decide", compute);
  ASSERT_EQ(reply.status, 200U) << reply.body;
  const auto first = json::parse(reply.body).as_object();
  EXPECT_TRUE(first.at("allowed").as_bool()) << reply.body;
  EXPECT_EQ(first.at("tier").as_string(), "free");
  EXPECT_EQ(first.at("cost").to_number<std::int64_t>(), 10);
  reply = server.request("POST", "/v1/decide", compute);
  EXPECT_FALSE(json::parse(reply.body).as_object().at("allowed").as_bool()) << reply.body;
  // A read by another user still has its own burst.
  reply = server.request("POST", "/v1/decide",
                         R"({"user": "u2", "method": "GET", "path": "/items/7"})");
  EXPECT_TRUE(json::parse(reply.body).as_object().at("allowed").as_bool()) << reply.body;

  // A burst too small for a compute request cannot be emitted.
  r = run("tiers --tier small:100:5 --emit-config " + ::testing::TempDir() + "never.yaml");
  EXPECT_EQ(r.status, 2);
  EXPECT_TRUE(has(r, "burst 5 is below the cost of a 'compute' request (10)")) << r.output;
}

TEST(SlaCli, TableJsonFlagsAndErrors) {
  const std::string sla = kExamples + "sla.yaml";
  CliRun r = run("sla " + sla + " --measured " + kExamples + "measured.json");
  EXPECT_EQ(r.status, 1) << r.output;  // breached
  EXPECT_TRUE(has(r, "premium     availability    >= 99.900%   99.500%  BREACHED  0.400 points"))
      << r.output;
  EXPECT_TRUE(has(r, "enterprise  response_time  <= 100.0 ms  120.0 ms  BREACHED       20.0 ms"))
      << r.output;
  EXPECT_TRUE(has(r, "total                            1,299.65")) << r.output;
  EXPECT_TRUE(has(r, "SLA breached.")) << r.output;

  r = run("sla " + sla + " --measured " + kExamples + "measured.json --json");
  EXPECT_EQ(r.status, 1);
  const auto o = parse_object(r);
  EXPECT_NEAR(o.at("total_credit").to_number<double>(), 1299.65, 1e-9);
  EXPECT_FALSE(o.at("met").as_bool());

  // Flags alone: everything met, no credit.
  r = run("sla " + sla + " --availability 99.99 --response-ms 50 --accuracy 99.95");
  EXPECT_EQ(r.status, 0) << r.output;
  EXPECT_TRUE(has(r, "All SLAs met.")) << r.output;
  // Flags for one tier win over the file.
  r = run("sla " + sla + " --measured " + kExamples +
          "measured.json --tier enterprise --response-ms 90 --json");
  const auto tiers = parse_object(r).at("tiers").as_array();
  EXPECT_TRUE(tiers[2].as_object().at("items").as_array()[1].as_object().at("met").as_bool())
      << r.output;

  r = run("sla " + sla + " --availability 99.99");
  EXPECT_EQ(r.status, 2);
  EXPECT_TRUE(has(r, "no measured response time for tier 'basic'")) << r.output;
  r = run("sla " + sla + " --availability 120 --response-ms 1 --accuracy 99");
  EXPECT_EQ(r.status, 2);
  EXPECT_TRUE(has(r, "measured availability must be a percentage 0..100, not 120")) << r.output;
  const std::string bad_json = write_temp("cli_measured_bad.json", R"({"availability": 99})");
  r = run("sla " + sla + " --measured " + bad_json);
  EXPECT_EQ(r.status, 2);
  EXPECT_TRUE(has(r, "unknown key 'availability'")) << r.output;
  const std::string bad =
      write_temp("cli_sla_bad.yaml",
                 "tiers:\n  pro: {availability: 99.9, credits: [{below: 99, credt: 10}]}\n");
  r = run("sla " + bad + " --availability 99");
  EXPECT_EQ(r.status, 2);
  EXPECT_TRUE(has(r, bad + ":2:51: unknown key 'credt'")) << r.output;
  r = run("sla " + sla + " --range 2h --availability 99");
  EXPECT_EQ(r.status, 2);
}

TEST(SlaCli, FromServiceStats) {
  RatelimitdProcess server(RATELIMITD_BINARY, {});
  const std::string url = "http://127.0.0.1:" + std::to_string(server.port());
  for (int i = 0; i < 5; ++i) {
    (void)server.request("POST", "/v1/check",
                         R"({"key": "sla", "limit": 100, "window_ms": 60000})");
  }
  const auto stats = server.request("GET", "/v1/stats?range=1h");
  const std::string args = "sla " + kExamples + "sla.yaml --from-service " + url +
                           " --availability 99.99 --accuracy 99.95 --json";
  const CliRun r = run(args);
  if (stats.status == 404) {
    // A server without the endpoint: a clear error, not a guess.
    EXPECT_EQ(r.status, 2);
    EXPECT_TRUE(has(r, "answered 404: this server has no /v1/stats endpoint")) << r.output;
    return;
  }
  ASSERT_EQ(stats.status, 200U) << stats.body;
  // The response time is the stats reply's p99 latency.
  const auto expected = planning::measured_from_stats_json(stats.body);
  ASSERT_NE(r.status, 2) << r.output;
  const auto o = parse_object(r);
  const auto& basic = o.at("tiers").as_array()[0].as_object();
  EXPECT_DOUBLE_EQ(basic.at("items").as_array()[1].as_object().at("measured").to_number<double>(),
                   *expected.all.response_ms);
}

}  // namespace
}  // namespace ratelimit::testing
