// GET /metrics against the real ratelimitd: the counters move with traffic
// and carry no per-identifier labels.

#include <gtest/gtest.h>

#include <regex>
#include <string>

#include "ratelimitd_process.hpp"

namespace ratelimit::testing {
namespace {

// The value of the sample line `series` (exact text before the value), or -1.
double sample(const std::string& text, const std::string& series) {
  const auto at = text.find("\n" + series + " ");
  if (at == std::string::npos) return -1;
  return std::stod(text.substr(at + series.size() + 2));
}

TEST(RatelimitdMetrics, CountersFollowTheDecisions) {
  RatelimitdProcess server(RATELIMITD_BINARY,
                           {"--config", RATELIMIT_SOURCE_DIR "/examples/endpoints.yaml"});
  const std::string check = R"({"key": "secret-user-42", "limit": 1, "window_ms": 600000})";
  EXPECT_EQ(server.request("POST", "/v1/check", check).status, 200u);
  EXPECT_EQ(server.request("POST", "/v1/check", check).status, 200u);
  EXPECT_EQ(server.request("POST", "/v1/check", "{").status, 400u);
  const std::string ocr =
      R"({"user": "u1", "ip": "203.0.113.7", "method": "POST", "path": "/ocr/process"})";
  EXPECT_EQ(server.request("POST", "/v1/decide", ocr).status, 200u);

  const HttpResponse m = server.request("GET", "/metrics");
  ASSERT_EQ(m.status, 200u);
  EXPECT_EQ(m.header("content-type").rfind("text/plain; version=0.0.4", 0), 0u);
  const std::string& t = m.body;
  EXPECT_EQ(
      sample(t, R"(ratelimit_decisions_total{api="check",outcome="allowed",scope="",tier=""})"), 1);
  EXPECT_EQ(
      sample(t, R"(ratelimit_decisions_total{api="check",outcome="denied",scope="",tier=""})"), 1);
  EXPECT_EQ(
      sample(
          t,
          R"(ratelimit_decisions_total{api="decide",outcome="allowed",scope="ocr_process",tier="standard"})"),
      1);
  EXPECT_EQ(sample(t, R"(ratelimit_decision_duration_seconds_count{api="check"})"), 3);
  EXPECT_EQ(sample(t, R"(ratelimit_http_replies_total{code="400"})"), 1);
  EXPECT_EQ(sample(t, "ratelimit_store_errors_total"), 0);
  EXPECT_GE(sample(t, "ratelimit_active_keys"), 1);
  EXPECT_NE(t.find("# TYPE ratelimit_decision_duration_seconds histogram"), std::string::npos);
  // Bounded cardinality: no key, user, IP or path ever becomes a label.
  for (const char* id : {"secret-user-42", "u1", "203.0.113.7", "/ocr/process"}) {
    EXPECT_EQ(t.find(id), std::string::npos) << id;
  }
  EXPECT_EQ(server.request("POST", "/metrics").status, 405u);
}

}  // namespace
}  // namespace ratelimit::testing
