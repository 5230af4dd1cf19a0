// POST /v1/check, health endpoints and errors, against the real ratelimitd.

#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <memory>
#include <string>

#include "ratelimitd_process.hpp"

namespace ratelimit::testing {
namespace {

namespace json = boost::json;

class RatelimitdCheck : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    server_ = std::make_unique<RatelimitdProcess>(RATELIMITD_BINARY,
                                                  std::vector<std::string>{"--threads", "2"});
  }
  static void TearDownTestSuite() { server_.reset(); }

  static json::object post_check(const std::string& body, unsigned expected_status = 200) {
    const HttpResponse r = server_->request("POST", "/v1/check", body);
    EXPECT_EQ(r.status, expected_status) << r.body;
    return json::parse(r.body).as_object();
  }

  static std::unique_ptr<RatelimitdProcess> server_;
};
std::unique_ptr<RatelimitdProcess> RatelimitdCheck::server_;

TEST_F(RatelimitdCheck, AdmitsUpToTheLimitThenDeniesWithRetryAfter) {
  const std::string body =
      R"({"key": "t1:user", "algorithm": "fixed_window", "limit": 3, "window_ms": 86400000})";
  for (int i = 0; i < 3; ++i) {
    const auto r = post_check(body);
    EXPECT_TRUE(r.at("allowed").as_bool());
    EXPECT_EQ(r.at("remaining").as_int64(), 2 - i);
    EXPECT_EQ(r.at("limit").as_int64(), 3);
  }
  const auto denied = post_check(body);
  EXPECT_FALSE(denied.at("allowed").as_bool());
  EXPECT_EQ(denied.at("remaining").as_int64(), 0);
  EXPECT_GT(denied.at("retry_after_ms").as_int64(), 0);
  EXPECT_LE(denied.at("retry_after_ms").as_int64(), 86'400'000);
}

TEST_F(RatelimitdCheck, CostZeroPeeksAndCostAboveTheLimitCanNeverBeAdmitted) {
  const auto peek = post_check(R"({"key": "t2", "limit": 5, "window_ms": 60000, "cost": 0})");
  EXPECT_EQ(peek.at("remaining").as_int64(), 5);
  const auto never = post_check(R"({"key": "t2", "limit": 5, "window_ms": 60000, "cost": 6})");
  EXPECT_FALSE(never.at("allowed").as_bool());
  EXPECT_TRUE(never.at("retry_after_ms").is_null());
  EXPECT_EQ(never.at("reason").as_string(), "cost_exceeds_limit");
  EXPECT_EQ(post_check(R"({"key": "t2", "limit": 5, "window_ms": 60000, "cost": 0})")
                .at("remaining")
                .as_int64(),
            5);
}

TEST_F(RatelimitdCheck, AtomicBatchChargesAllOrNothing) {
  const std::string batch = R"({"atomic": true, "checks": [
      {"key": "t3:a", "limit": 10, "window_ms": 60000},
      {"key": "t3:b", "limit": 1, "window_ms": 60000}]})";
  const auto first = post_check(batch);
  EXPECT_TRUE(first.at("allowed").as_bool());
  const auto second = post_check(batch);
  EXPECT_FALSE(second.at("allowed").as_bool());
  EXPECT_EQ(second.at("results").as_array().size(), 2u);
  // t3:a was charged once only: the denied batch left it alone.
  EXPECT_EQ(post_check(R"({"key": "t3:a", "limit": 10, "window_ms": 60000, "cost": 0})")
                .at("remaining")
                .as_int64(),
            9);
}

TEST_F(RatelimitdCheck, NonAtomicBatchDecidesEachCheck) {
  const std::string batch = R"({"checks": [
      {"key": "t4:a", "limit": 10, "window_ms": 60000},
      {"key": "t4:b", "limit": 1, "window_ms": 60000}]})";
  (void)post_check(batch);
  const auto second = post_check(batch);
  EXPECT_FALSE(second.at("allowed").as_bool());
  EXPECT_EQ(post_check(R"({"key": "t4:a", "limit": 10, "window_ms": 60000, "cost": 0})")
                .at("remaining")
                .as_int64(),
            8);
}

struct BadInput {
  const char* body;
  const char* field;
};

TEST_F(RatelimitdCheck, BadInputIs400NamingTheFieldAndChangesNothing) {
  const BadInput cases[] = {
      {R"({"key": "t5", "limit": 5, "window_ms": 60000)", "body"},
      {R"([1, 2])", "body"},
      {R"({"key": "t5", "limit": 0, "window_ms": 60000})", "limit"},
      {R"({"key": "t5", "limit": "5", "window_ms": 60000})", "limit"},
      {R"({"key": "t5", "limit": 5.5, "window_ms": 60000})", "limit"},
      {R"({"key": "t5", "limit": 5, "window_ms": -1})", "window_ms"},
      {R"({"key": "t5", "limit": 5})", "window_ms"},
      {R"({"key": "t5", "limit": 5, "window_ms": 60000, "cost": -1})", "cost"},
      {R"({"key": "t5", "limit": 5, "window_ms": 60000, "algorithm": "leaky"})", "algorithm"},
      {R"({"key": "t5", "limit": 5, "window_ms": 60000, "brust": 5})", "brust"},
      {R"({"key": "", "limit": 5, "window_ms": 60000})", "key"},
      {R"({"limit": 5, "window_ms": 60000})", "key"},
      {R"({"checks": [{"key": "t5", "limit": 5, "window_ms": 60000}, {"key": "t5b", "limit": -2, "window_ms": 1}]})",
       "checks[1].limit"},
      {R"({"checks": []})", "checks"},
      {R"({"checks": [], "atomic": "yes"})", "checks"},
  };
  for (const auto& c : cases) {
    const HttpResponse r = server_->request("POST", "/v1/check", c.body);
    EXPECT_EQ(r.status, 400u) << c.body;
    EXPECT_EQ(r.header("content-type"), "application/problem+json") << c.body;
    const auto problem = json::parse(r.body).as_object();
    EXPECT_EQ(problem.at("status").as_int64(), 400);
    EXPECT_EQ(problem.at("field").as_string(), c.field) << r.body;
    EXPECT_FALSE(problem.at("detail").as_string().empty());
  }
  // Key t5 was never charged, not even by the batch whose first check was valid.
  EXPECT_EQ(post_check(R"({"key": "t5", "limit": 5, "window_ms": 60000, "cost": 0})")
                .at("remaining")
                .as_int64(),
            5);
  const std::string long_key(513, 'k');
  const HttpResponse r = server_->request(
      "POST", "/v1/check", R"({"key": ")" + long_key + R"(", "limit": 5, "window_ms": 1000})");
  EXPECT_EQ(r.status, 400u);
}

TEST_F(RatelimitdCheck, UnknownPathsMethodsAndOversizedBodies) {
  EXPECT_EQ(server_->request("GET", "/v2/check").status, 404u);
  const HttpResponse wrong_method = server_->request("GET", "/v1/check");
  EXPECT_EQ(wrong_method.status, 405u);
  EXPECT_EQ(wrong_method.header("allow"), "POST");
  const HttpResponse too_big = server_->request("POST", "/v1/check", std::string(65 * 1024, ' '));
  EXPECT_EQ(too_big.status, 413u);
  EXPECT_EQ(too_big.header("content-type"), "application/problem+json");
  EXPECT_EQ(server_->request("GET", "/healthz").status, 200u);
  const HttpResponse ready = server_->request("GET", "/readyz");
  EXPECT_EQ(ready.status, 200u);
  EXPECT_EQ(json::parse(ready.body).at("store").as_string(), "memory");
}

TEST(RatelimitdLifecycle, SigtermStopsCleanly) {
  RatelimitdProcess server(RATELIMITD_BINARY, {});
  EXPECT_EQ(server.request("GET", "/healthz").status, 200u);
  EXPECT_EQ(server.terminate(), 0) << server.output();
  EXPECT_NE(server.output().find("ratelimitd stopped"), std::string::npos);
}

TEST(RatelimitdLifecycle, BadFlagsAreRejectedWithAMessage) {
  EXPECT_THROW(RatelimitdProcess(RATELIMITD_BINARY, {"--store", "redis://"}), std::runtime_error);
  try {
    RatelimitdProcess server(RATELIMITD_BINARY, {"--threads", "0"});
    FAIL();
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("--threads"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace ratelimit::testing
