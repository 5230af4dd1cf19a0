// `ratelimit capacity`'s calculation: known answers computed by hand in the
// comments, the YAML reader's errors with positions, and the figures taken
// from a ratelimitd /metrics page.

#include "ratelimit/planning/capacity.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <fstream>
#include <string>

#include "ratelimit/planning/prometheus_text.hpp"
#include "ratelimit/policy/config_loader.hpp"

namespace ratelimit::planning {
namespace {

const std::string kExamples = RATELIMIT_SOURCE_DIR "/examples/planning/";

CapacityInput example_input() {
  CapacityInput in;
  in.resources = {8, 16, 1000, 5000};
  in.per_request = {20, 4, 150, 64, 2};
  return in;
}

const ResourceBound& bound(const CapacityReport& r, const std::string& name) {
  for (const auto& b : r.resources) {
    if (b.resource == name) return b;
  }
  throw std::runtime_error("no resource " + name);
}

TEST(Capacity, WorkedExampleEveryResource) {
  const auto r = compute_capacity(example_input());
  ASSERT_EQ(r.resources.size(), 4U);
  // cpu: 8 cores * 1000 CPU-ms/s / 20 ms = 400 RPS.
  EXPECT_DOUBLE_EQ(bound(r, "cpu").max_rps, 400.0);
  // memory: 16 GiB = 16384 MiB; 16384 / (4 MiB * 0.150 s) = 27306.666...
  EXPECT_NEAR(bound(r, "memory").max_rps, 27306.6667, 1e-3);
  // network: 1000 Mbit/s = 125,000,000 B/s; / (64 * 1024 B) = 1907.3486...
  EXPECT_NEAR(bound(r, "network").max_rps, 1907.3486, 1e-3);
  // disk: 5000 IOPS / 2 ops = 2500 RPS.
  EXPECT_DOUBLE_EQ(bound(r, "disk").max_rps, 2500.0);
  EXPECT_EQ(r.bottleneck, "cpu");
  EXPECT_DOUBLE_EQ(r.theoretical_rps, 400.0);
  // safe = 400 * 0.7 = 280; the CPU then runs at 70%, the disk at 280/2500.
  EXPECT_NEAR(r.safe_rps, 280.0, 1e-9);
  EXPECT_NEAR(bound(r, "cpu").utilization_at_safe, 0.7, 1e-12);
  EXPECT_NEAR(bound(r, "disk").utilization_at_safe, 0.112, 1e-12);
}

TEST(Capacity, TheSmallestBoundIsTheBottleneck) {
  auto in = example_input();
  // 100 ms of CPU: 8000 / 100 = 80 RPS; the network (1907) and the disk now
  // at 5000 / 100 ops = 50 RPS: the disk is the bottleneck.
  in.per_request.cpu_ms = 100;
  in.per_request.disk_ops = 100;
  const auto r = compute_capacity(in);
  EXPECT_EQ(r.bottleneck, "disk");
  EXPECT_DOUBLE_EQ(r.theoretical_rps, 50.0);
  EXPECT_DOUBLE_EQ(r.safe_rps, 35.0);  // 50 * 0.7
}

TEST(Capacity, SafetyFactorIsConfigurableAndOnlyResourcesGivenCount) {
  CapacityInput in;
  in.resources.cpu_cores = 4;
  in.per_request.cpu_ms = 10;  // 4000 / 10 = 400 RPS
  in.safety_factor = 0.5;      // 200 RPS
  const auto r = compute_capacity(in);
  ASSERT_EQ(r.resources.size(), 1U);
  EXPECT_DOUBLE_EQ(r.safe_rps, 200.0);
  // Memory alone: 2 GiB = 2048 MiB / (1 MiB * 0.5 s) = 4096 RPS.
  CapacityInput mem;
  mem.resources.memory_gib = 2;
  mem.per_request.memory_mib = 1;
  mem.per_request.latency_ms = 500;
  EXPECT_DOUBLE_EQ(compute_capacity(mem).theoretical_rps, 4096.0);
  EXPECT_EQ(compute_capacity(mem).bottleneck, "memory");
}

void expect_error(const CapacityInput& in, const std::string& fragment) {
  try {
    (void)compute_capacity(in);
    ADD_FAILURE() << "no error; expected: " << fragment;
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find(fragment), std::string::npos) << e.what();
  }
}

TEST(Capacity, BadInputNamesTheField) {
  auto in = example_input();
  in.per_request.cpu_ms = 0;
  expect_error(in, "per_request.cpu_ms must be above 0, not 0");
  in = example_input();
  in.resources.cpu_cores = -2;
  expect_error(in, "resources.cpu_cores must be above 0, not -2");
  in = example_input();
  in.per_request.disk_ops.reset();
  expect_error(in, "resources.disk_iops is given but per_request.disk_ops is missing");
  in = example_input();
  in.resources.network_mbps.reset();
  expect_error(in, "per_request.network_kib is given but resources.network_mbps is missing");
  in = example_input();
  in.per_request.latency_ms.reset();
  expect_error(in, "per_request.latency_ms is missing");
  in = example_input();
  in.safety_factor = 1.5;
  expect_error(in, "safety_factor must be above 0 and at most 1");
  in = example_input();
  in.per_request.cpu_ms = 1e300;
  expect_error(in, "per_request.cpu_ms must be at most 1e15, not 1e+300");
  expect_error(CapacityInput{}, "no resources given");
}

TEST(Capacity, TheExampleFileGivesTheWorkedExample) {
  const auto in = load_capacity_file(kExamples + "capacity.yaml");
  const auto r = compute_capacity(in);
  EXPECT_EQ(r.bottleneck, "cpu");
  EXPECT_DOUBLE_EQ(r.theoretical_rps, 400.0);
  EXPECT_NEAR(r.safe_rps, 280.0, 1e-9);
  EXPECT_NEAR(bound(r, "memory").max_rps, 27306.6667, 1e-3);
}

std::string write_temp(const std::string& name, const std::string& text) {
  const std::string path = ::testing::TempDir() + name;
  std::ofstream(path) << text;
  return path;
}

std::string load_errors(const std::string& path) {
  try {
    (void)load_capacity_file(path);
  } catch (const policy::ConfigError& e) {
    return e.what();
  }
  return "";
}

TEST(CapacityFile, ErrorsArePositioned) {
  const std::string path = write_temp("capacity_bad.yaml",
                                      "resources:\n"
                                      "  cpu_cores: 8\n"
                                      "  cpu_coers: 4\n"
                                      "per_request:\n"
                                      "  cpu_ms: -5\n"
                                      "safety_factor: 2\n");
  const std::string errors = load_errors(path);
  // Every problem, each at its line:column.
  EXPECT_NE(
      errors.find(path + ":3:3: unknown key 'cpu_coers' in resources (did you mean 'cpu_cores'?)"),
      std::string::npos)
      << errors;
  EXPECT_NE(errors.find(path + ":5:11: 'cpu_ms' in per_request is -5; it must be above 0"),
            std::string::npos)
      << errors;
  EXPECT_NE(errors.find(path + ":6:16: 'safety_factor' in the capacity profile is 2"),
            std::string::npos)
      << errors;
}

TEST(CapacityFile, MissingSectionsAndBadYaml) {
  EXPECT_NE(load_errors(write_temp("capacity_missing.yaml", "resources: {cpu_cores: 1}\n"))
                .find("the capacity profile needs 'per_request'"),
            std::string::npos);
  const std::string broken = load_errors(write_temp("capacity_broken.yaml", "resources: [1, 2\n"));
  EXPECT_NE(broken.find("not valid YAML"), std::string::npos) << broken;
  EXPECT_NE(load_errors("/nonexistent/capacity.yaml").find("cannot read the file"),
            std::string::npos);
}

// What ratelimitd's /metrics looks like (docs/service.md), trimmed.
constexpr const char* kMetrics = R"(# HELP ratelimit_decisions_total decisions made
# TYPE ratelimit_decisions_total counter
ratelimit_decisions_total{api="check",outcome="allowed",scope="",tier=""} 300
ratelimit_decisions_total{api="decide",outcome="denied",scope="per_user",tier="free"} 100
# TYPE ratelimit_decision_duration_seconds histogram
ratelimit_decision_duration_seconds_bucket{api="check",le="0.0001"} 390
ratelimit_decision_duration_seconds_bucket{api="check",le="+Inf"} 400
ratelimit_decision_duration_seconds_sum{api="check"} 0.02
ratelimit_decision_duration_seconds_count{api="check"} 400
)";

TEST(CapacityMetrics, LatencyGivesCpuWithoutProcessMetrics) {
  const auto m = per_request_from_metrics(kMetrics);
  // 0.02 s over 400 decisions = 0.05 ms each.
  EXPECT_NEAR(m.latency_ms, 0.05, 1e-12);
  EXPECT_NEAR(m.cpu_ms, 0.05, 1e-12);
  EXPECT_EQ(m.cpu_source, "ratelimit_decision_duration_seconds_sum / _count");
  EXPECT_DOUBLE_EQ(m.decisions, 400);
}

TEST(CapacityMetrics, ProcessCpuWhenExposed) {
  const std::string text = std::string(kMetrics) + "process_cpu_seconds_total 0.8\n";
  const auto m = per_request_from_metrics(text);
  // 0.8 CPU-s over 300 + 100 decisions = 2 ms each.
  EXPECT_NEAR(m.cpu_ms, 2.0, 1e-12);
  EXPECT_EQ(m.cpu_source, "process_cpu_seconds_total / ratelimit_decisions_total");
  EXPECT_NEAR(m.latency_ms, 0.05, 1e-12);
}

TEST(CapacityMetrics, MissingMetricIsNamed) {
  try {
    (void)per_request_from_metrics("ratelimit_decisions_total 5\n");
    FAIL();
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("no 'ratelimit_decision_duration_seconds_count'"),
              std::string::npos)
        << e.what();
  }
  try {
    (void)per_request_from_metrics(
        "ratelimit_decision_duration_seconds_count 0\nratelimit_decision_duration_seconds_sum 0\n");
    FAIL();
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("has not made a decision yet"), std::string::npos);
  }
  EXPECT_THROW((void)parse_prometheus_text("metric{a=\"b\" 1\n"), InputError);
  EXPECT_THROW((void)parse_prometheus_text("metric abc\n"), InputError);
}

TEST(PrometheusText, LabelsWithBracesAndTimestamps) {
  const auto samples = parse_prometheus_text(
      "a{path=\"/x}\",q=\"say \\\"hi\\\"\"} 2 1700000000\n"
      "a 3\n"
      "b +Inf\n");
  ASSERT_EQ(samples.size(), 3U);
  EXPECT_EQ(samples[0].labels, "path=\"/x}\",q=\"say \\\"hi\\\"\"");
  EXPECT_DOUBLE_EQ(*sum_of(samples, "a"), 5.0);
  EXPECT_TRUE(std::isinf(*sum_of(samples, "b")));
  EXPECT_FALSE(sum_of(samples, "c").has_value());
}

}  // namespace
}  // namespace ratelimit::planning
