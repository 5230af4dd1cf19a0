// ratelimitd with its Redis unreachable (nothing listens on 127.0.0.1:1):
// each failure mode answers as configured, nothing hangs, /readyz and
// /metrics report the degraded store. (Redis killed under load, with real
// servers, is tested at the store level in tests/integration.)

#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <string>

#include "ratelimitd_process.hpp"

namespace ratelimit::testing {
namespace {

namespace json = boost::json;

const std::string kDeadRedis =
    "redis://127.0.0.1:1?timeout_ms=50&connect_timeout_ms=50&breaker_open_ms=600000";
const std::string kCheck = R"({"key": "k", "limit": 1, "window_ms": 1000})";

TEST(RatelimitdStoreDown, FailOpenAdmitsDegradedAndReadyzSaysSo) {
  RatelimitdProcess server(RATELIMITD_BINARY, {"--store", kDeadRedis + "&failure=open"});
  EXPECT_EQ(json::parse(server.request("GET", "/readyz").body).at("status").as_string(), "ready");
  for (int i = 0; i < 5; ++i) {
    const auto d = json::parse(server.request("POST", "/v1/check", kCheck).body).as_object();
    EXPECT_TRUE(d.at("allowed").as_bool());
    EXPECT_TRUE(d.at("degraded").as_bool());
  }
  const auto ready = json::parse(server.request("GET", "/readyz").body).as_object();
  EXPECT_EQ(ready.at("status").as_string(), "degraded");
  EXPECT_EQ(ready.at("store_breaker").as_string(), "open");
  const std::string metrics = server.request("GET", "/metrics").body;
  EXPECT_NE(metrics.find("ratelimit_store_breaker_state{state=\"open\"} 1"), std::string::npos)
      << metrics;
  EXPECT_NE(metrics.find("\nratelimit_store_fallbacks_total 5"), std::string::npos) << metrics;
  EXPECT_NE(metrics.find("\nratelimit_store_failures_total 3"), std::string::npos) << metrics;
}

TEST(RatelimitdStoreDown, FailClosedDenies) {
  RatelimitdProcess server(RATELIMITD_BINARY, {"--store", kDeadRedis + "&failure=closed"});
  const auto d = json::parse(server.request("POST", "/v1/check", kCheck).body).as_object();
  EXPECT_FALSE(d.at("allowed").as_bool());
  EXPECT_TRUE(d.at("degraded").as_bool());
}

TEST(RatelimitdStoreDown, NoFailureModeAnswers503AndCountsIt) {
  RatelimitdProcess server(RATELIMITD_BINARY, {"--store", kDeadRedis + "&failure=none"});
  const HttpResponse r = server.request("POST", "/v1/check", kCheck);
  EXPECT_EQ(r.status, 503u);
  EXPECT_EQ(r.header("content-type"), "application/problem+json");
  EXPECT_NE(server.request("GET", "/metrics").body.find("\nratelimit_store_errors_total 1"),
            std::string::npos);
  EXPECT_EQ(json::parse(server.request("GET", "/readyz").body).at("store_breaker").as_string(),
            "none");
}

}  // namespace
}  // namespace ratelimit::testing
