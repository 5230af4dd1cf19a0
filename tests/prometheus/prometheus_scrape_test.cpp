// A real Prometheus server scrapes real ratelimitd processes:
// - the decision counters it stores are exactly the decisions the test made;
// - every expression of docs/grafana-dashboard.json names only metrics
//   ratelimitd exposes, evaluates in Prometheus and returns data;
// - every rule of docs/prometheus-alerts.yaml names only exposed metrics (or
//   Prometheus's own `up`) and evaluates without error.
// Two ratelimitd instances are scraped: "memory" (the exact counts) and
// "degraded" (a dead Redis with failure=closed, so the store breaker and
// fallback series exist and every dashboard panel has data).

#include <gtest/gtest.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <boost/json.hpp>
#include <chrono>
#include <fstream>
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>

#include "prometheus_server.hpp"
#include "promql_names.hpp"
#include "ratelimitd_process.hpp"

namespace ratelimit::testing {
namespace {

namespace json = boost::json;
using Clock = std::chrono::steady_clock;

const std::string kSource = RATELIMIT_SOURCE_DIR;

// Polls `done` every 200 ms until it holds or `limit` passes (real time:
// Prometheus scrapes on its own schedule). Returns whether it held.
bool eventually(const std::function<bool()>& done,
                std::chrono::seconds limit = std::chrono::seconds(90)) {
  const auto deadline = Clock::now() + limit;
  while (Clock::now() < deadline) {
    if (done()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
  return done();
}

// The metric names in a text exposition: sample names and # TYPE names
// (a family with no samples yet is still exposed).
std::set<std::string> exposed_names(const std::string& text) {
  std::set<std::string> names;
  std::istringstream lines(text);
  for (std::string line; std::getline(lines, line);) {
    if (line.rfind("# TYPE ", 0) == 0) {
      std::istringstream words(line.substr(7));
      std::string name;
      std::string type;
      words >> name >> type;
      names.insert(name);
      if (type == "histogram") {
        for (const char* suffix : {"_bucket", "_sum", "_count"}) names.insert(name + suffix);
      }
    } else if (!line.empty() && line[0] != '#') {
      names.insert(line.substr(0, line.find_first_of("{ ")));
    }
  }
  return names;
}

// Dashboard variables replaced by what Grafana would send for "All".
std::string substitute_variables(std::string expr) {
  const std::pair<std::string, std::string> vars[] = {
      {"$__rate_interval", "1m"}, {"$__range", "1h"}, {"$job", ".*"}, {"$instance", ".*"}};
  for (const auto& [name, value] : vars) {
    for (auto at = expr.find(name); at != std::string::npos; at = expr.find(name, at)) {
      expr.replace(at, name.size(), value);
      at += value.size();
    }
  }
  return expr;
}

// Every PromQL expression of a Grafana dashboard: targets' "expr" and query
// variables' queries.
void collect_expressions(const json::value& v, std::vector<std::string>& out) {
  if (const auto* o = v.if_object()) {
    if (const auto* e = o->if_contains("expr"); e != nullptr && e->is_string()) {
      out.emplace_back(e->get_string());
    }
    if (const auto* type = o->if_contains("type");
        type != nullptr && *type == "query" && o->contains("query")) {
      const json::value& q = o->at("query");
      out.emplace_back(q.is_string() ? q.get_string() : q.at("query").get_string());
    }
    for (const auto& [key, child] : *o) {
      if (key != "query") collect_expressions(child, out);
    }
  } else if (const auto* a = v.if_array()) {
    for (const auto& child : *a) collect_expressions(child, out);
  }
}

struct Traffic {
  int allowed = 0;
  int denied = 0;
};

class PrometheusScrape : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    try {
      start();
    } catch (const std::exception& e) {
      setup_error_ = e.what();  // each test fails with it (no crash on a missing server)
    }
  }
  void SetUp() override {
    if (!prometheus_) FAIL() << "setting up failed: " << setup_error_;
  }
  static void start() {
    memory_ = std::make_unique<RatelimitdProcess>(
        RATELIMITD_BINARY,
        std::vector<std::string>{"--config", kSource + "/examples/endpoints.yaml"});
    degraded_ = std::make_unique<RatelimitdProcess>(
        RATELIMITD_BINARY,
        std::vector<std::string>{
            "--store",
            "redis://127.0.0.1:1?timeout_ms=50&connect_timeout_ms=50&breaker_open_ms=600000"
            "&failure=closed",
            "--config", kSource + "/examples/endpoints.yaml"});
    // Known traffic, all of it before Prometheus starts: its counters must
    // end at exactly these values. 8 checks on a limit of 5 (5 admitted),
    // 4 on a limit of 10 (all admitted), 3 decisions by the policy.
    const std::string five = R"({"key": "a", "limit": 5, "window_ms": 600000})";
    const std::string ten =
        R"({"key": "b", "algorithm": "fixed_window", "limit": 10, "window_ms": 600000})";
    for (int i = 0; i < 12; ++i) {
      const auto r = memory_->request("POST", "/v1/check", i < 8 ? five : ten);
      if (r.status != 200) throw std::runtime_error("/v1/check: " + r.body);
      (json::parse(r.body).at("allowed").as_bool() ? checks_.allowed : checks_.denied)++;
    }
    const std::string ocr =
        R"({"user": "u1", "ip": "198.51.100.7", "method": "POST", "path": "/ocr/process"})";
    for (int i = 0; i < 3; ++i) {
      const auto r = memory_->request("POST", "/v1/decide", ocr);
      if (r.status != 200 || !json::parse(r.body).at("allowed").as_bool())
        throw std::runtime_error("/v1/decide was not admitted: " + r.body);
    }
    for (int i = 0; i < 4; ++i) {
      if (degraded_->request("POST", "/v1/check", five).status != 200 ||
          degraded_->request("POST", "/v1/decide", ocr).status != 200)
        throw std::runtime_error("the degraded instance did not decide");
    }
    prometheus_ = std::make_unique<PrometheusServer>(PrometheusOptions{
        .targets = {{"127.0.0.1:" + std::to_string(memory_->port()), "memory"},
                    {"127.0.0.1:" + std::to_string(degraded_->port()), "degraded"}},
        .rule_files = {kSource + "/docs/prometheus-alerts.yaml"}});
  }
  static void TearDownTestSuite() {
    prometheus_.reset();
    memory_.reset();
    degraded_.reset();
  }

  static std::set<std::string> exposed() {
    auto names = exposed_names(memory_->request("GET", "/metrics").body);
    names.merge(exposed_names(degraded_->request("GET", "/metrics").body));
    return names;
  }

  static inline std::unique_ptr<RatelimitdProcess> memory_;
  static inline std::unique_ptr<RatelimitdProcess> degraded_;
  static inline std::unique_ptr<PrometheusServer> prometheus_;
  static inline Traffic checks_;
  static inline std::string setup_error_;
};

TEST_F(PrometheusScrape, StoresExactlyTheDecisionsMade) {
  ASSERT_EQ(checks_.allowed, 9);
  ASSERT_EQ(checks_.denied, 3);
  // What Prometheus holds for the memory instance, "api/outcome/scope/tier" -> value.
  std::map<std::string, double> got;
  const std::map<std::string, double> want = {
      {"check/allowed//", 9}, {"check/denied//", 3}, {"decide/allowed/ocr_process/standard", 3}};
  const bool matched = eventually([&] {
    got.clear();
    for (const auto& s : prometheus_->query(R"(ratelimit_decisions_total{role="memory"})")) {
      const auto& m = s.at("metric").as_object();
      // Prometheus drops labels with empty values (scope and tier of /v1/check).
      const auto label = [&](const char* n) {
        const auto* v = m.if_contains(n);
        return v == nullptr ? std::string() : std::string(v->as_string());
      };
      got[label("api") + "/" + label("outcome") + "/" + label("scope") + "/" + label("tier")] =
          std::stod(std::string(s.at("value").as_array()[1].as_string()));
    }
    return got == want;
  });
  EXPECT_TRUE(matched) << "Prometheus has " << json::value_from(got) << prometheus_->log_tail();
  const auto count = prometheus_->query(
      R"(sum(ratelimit_decision_duration_seconds_count{role="memory",api="check"}))");
  ASSERT_EQ(count.size(), 1u);
  EXPECT_EQ(count[0].at("value").as_array()[1].as_string(), "12");
}

TEST_F(PrometheusScrape, EveryTargetIsUp) {
  std::string last;
  EXPECT_TRUE(eventually([&] {
    const auto up = prometheus_->query(R"(up{job="ratelimitd"})");
    last = json::serialize(up);
    if (up.size() != 2) return false;
    for (const auto& s : up) {
      if (s.at("value").as_array()[1].as_string() != "1") return false;
    }
    return true;
  })) << last;
}

TEST_F(PrometheusScrape, DashboardNamesExposedMetricsAndEveryPanelHasData) {
  std::ifstream file(kSource + "/docs/grafana-dashboard.json");
  ASSERT_TRUE(file) << "docs/grafana-dashboard.json";
  std::stringstream text;
  text << file.rdbuf();
  json::value dashboard;
  ASSERT_NO_THROW(dashboard = json::parse(text.str())) << "docs/grafana-dashboard.json is not JSON";
  EXPECT_GE(dashboard.at("schemaVersion").as_int64(), 36);
  bool has_datasource_variable = false;
  for (const auto& v : dashboard.at("templating").at("list").as_array()) {
    has_datasource_variable |= v.at("type") == "datasource" && v.at("query") == "prometheus";
  }
  EXPECT_TRUE(has_datasource_variable);

  std::vector<std::string> expressions;
  collect_expressions(dashboard, expressions);
  ASSERT_GE(expressions.size(), 10u);
  const std::set<std::string> exposed_metrics = exposed();
  std::set<std::string> used;
  for (const auto& expr : expressions) {
    const auto names = promql_metric_names(expr);
    EXPECT_FALSE(names.empty()) << expr;
    for (const auto& name : names) {
      EXPECT_TRUE(exposed_metrics.contains(name)) << name << " (in " << expr << ") is not exposed";
      used.insert(name);
    }
  }
  // And the other way round: every family ratelimitd exposes has a panel.
  for (const auto& name : exposed_metrics) {
    if (name.rfind("ratelimit_", 0) != 0 || name.ends_with("_sum") || name.ends_with("_count"))
      continue;
    const bool histogram_base = exposed_metrics.contains(name + "_bucket");
    EXPECT_TRUE(used.contains(name) || histogram_base) << name << " has no panel";
  }

  // Each panel query evaluates in the real Prometheus and, once two scrapes
  // are in, returns data (label_values queries are checked as series queries).
  // One deadline for them all, so a broken dashboard fails in bounded time.
  const auto deadline = Clock::now() + std::chrono::seconds(120);
  for (const auto& expr : expressions) {
    std::string promql = substitute_variables(expr);
    if (promql.rfind("label_values(", 0) == 0) {
      promql = promql.substr(13, promql.rfind(',') - 13);
    }
    std::string last;
    const bool has_data = eventually(
        [&] {
          try {
            const auto result = prometheus_->query(promql);
            last = json::serialize(result);
            return !result.empty();
          } catch (const std::exception& e) {
            last = e.what();
            return false;
          }
        },
        std::max(std::chrono::seconds(1),
                 std::chrono::duration_cast<std::chrono::seconds>(deadline - Clock::now())));
    EXPECT_TRUE(has_data) << promql << " -> " << last;
  }
}

TEST_F(PrometheusScrape, AlertRulesNameExposedMetricsAndEvaluate) {
  const YAML::Node rules = YAML::LoadFile(kSource + "/docs/prometheus-alerts.yaml");
  std::set<std::string> allowed = exposed();
  allowed.insert("up");  // Prometheus's own per-target series
  std::size_t count = 0;
  for (const auto& group : rules["groups"]) {
    for (const auto& rule : group["rules"]) {
      ++count;
      const auto expr = rule["expr"].as<std::string>();
      for (const auto& name : promql_metric_names(expr)) {
        EXPECT_TRUE(allowed.contains(name))
            << rule["alert"].as<std::string>() << " reads " << name << ", not exposed";
      }
    }
  }
  ASSERT_GE(count, 10u);
  // Prometheus evaluates them every second: wait until each has been
  // evaluated, then none may report an error.
  std::string last;
  const bool all_ok = eventually([&] {
    std::size_t ok = 0;
    const auto groups = prometheus_->api("rules").at("groups").as_array();
    last = json::serialize(groups);
    for (const auto& g : groups) {
      for (const auto& r : g.at("rules").as_array()) {
        if (r.at("health") == "ok") ++ok;
      }
    }
    return ok == count;
  });
  EXPECT_TRUE(all_ok) << last;
}

}  // namespace
}  // namespace ratelimit::testing
