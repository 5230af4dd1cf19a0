// POST /v1/decide with a policy file, against the real ratelimitd.

#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <memory>
#include <string>

#include "ratelimitd_process.hpp"

namespace ratelimit::testing {
namespace {

namespace json = boost::json;

const std::string kExamples = RATELIMIT_SOURCE_DIR "/examples";

json::object decide(RatelimitdProcess& server, const std::string& body, unsigned expected = 200) {
  const HttpResponse r = server.request("POST", "/v1/decide", body);
  EXPECT_EQ(r.status, expected) << r.body;
  return json::parse(r.body).as_object();
}

TEST(RatelimitdDecide, EndpointLimitDecidesWithHeadersUntilItDenies) {
  RatelimitdProcess server(RATELIMITD_BINARY, {"--config", kExamples + "/endpoints.yaml"});
  const std::string ocr =
      R"({"user": "u1", "ip": "203.0.113.7", "method": "POST", "path": "/ocr/process"})";
  const auto first = decide(server, ocr);
  EXPECT_TRUE(first.at("allowed").as_bool());
  EXPECT_EQ(first.at("tier").as_string(), "standard");
  EXPECT_EQ(first.at("cost").as_int64(), 10);
  EXPECT_EQ(first.at("endpoint").as_string(), "POST /ocr/process");
  EXPECT_EQ(first.at("checks").as_array().size(), 4u);  // global, per_ip, budget, ocr_process
  const auto& headers = first.at("headers").as_object();
  EXPECT_EQ(headers.at("RateLimit-Policy").as_string(), "1;w=1");  // 1/s with a burst of 50
  EXPECT_EQ(headers.at("RateLimit-Limit").as_string(), "50");
  EXPECT_FALSE(headers.contains("Retry-After"));

  json::object last;
  for (int i = 0; i < 60; ++i) {
    last = decide(server, ocr);
    if (!last.at("allowed").as_bool()) break;
  }
  ASSERT_FALSE(last.at("allowed").as_bool());
  // The budget (1000 units, 10 per call) and the endpoint (50) both allow
  // about 50 calls; whichever ran out names the scope.
  const std::string scope(last.at("scope").as_string());
  EXPECT_TRUE(scope == "ocr_process" || scope == "budget") << scope;
  const auto& denied_headers = last.at("headers").as_object();
  EXPECT_EQ(denied_headers.at("X-RateLimit-Scope").as_string(), scope);
  EXPECT_GE(std::stoi(std::string(denied_headers.at("Retry-After").as_string())), 1);
  EXPECT_GT(last.at("retry_after_ms").as_int64(), 0);
}

TEST(RatelimitdDecide, BadAttributesAre400) {
  RatelimitdProcess server(RATELIMITD_BINARY, {"--config", kExamples + "/endpoints.yaml"});
  EXPECT_EQ(decide(server, R"({"user": 5})", 400).at("field").as_string(), "user");
  EXPECT_EQ(decide(server, R"({"usr": "a"})", 400).at("field").as_string(), "usr");
  EXPECT_EQ(decide(server, R"({"cost": -1})", 400).at("field").as_string(), "cost");
  const auto bad_ip = decide(server, R"({"ip": "not-an-ip"})", 400);
  EXPECT_NE(std::string(bad_ip.at("detail").as_string()).find("not-an-ip"), std::string::npos);
}

TEST(RatelimitdDecide, WithoutAConfigNothingIsLimited) {
  RatelimitdProcess server(RATELIMITD_BINARY, {});
  const auto d = decide(server, R"({"user": "u1"})");
  EXPECT_TRUE(d.at("allowed").as_bool());
  EXPECT_TRUE(d.at("checks").as_array().empty());
  EXPECT_TRUE(d.at("headers").as_object().empty());
}

TEST(RatelimitdDecide, AnInvalidConfigStopsTheStartWithItsErrors) {
  try {
    RatelimitdProcess server(RATELIMITD_BINARY,
                             {"--config", RATELIMIT_SOURCE_DIR "/tests/policy/bad_config.yaml"});
    FAIL() << "started with a bad config";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("bad_config.yaml:6:31"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace ratelimit::testing
