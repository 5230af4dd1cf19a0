// The admin API against the real ratelimitd: bearer token, tiers, whitelist
// (identifiers and ranges), key reset, reload, audit log.

#include <gtest/gtest.h>
#include <signal.h>

#include <boost/json.hpp>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <thread>

#include "ratelimitd_process.hpp"

namespace ratelimit::testing {
namespace {

namespace json = boost::json;

const std::map<std::string, std::string> kAuth = {{"Authorization", "Bearer test-token-1"}};

class RatelimitdAdmin : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ =
        std::filesystem::temp_directory_path() /
        ("ratelimitd-admin-" + std::to_string(::testing::UnitTest::GetInstance()->random_seed()) +
         "-" + ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::create_directories(dir_);
    config_ = (dir_ / "policy.yaml").string();
    std::filesystem::copy_file(RATELIMIT_SOURCE_DIR "/examples/tiers.yaml", config_,
                               std::filesystem::copy_options::overwrite_existing);
    audit_ = (dir_ / "audit.jsonl").string();
    ::setenv("RATELIMITD_TEST_ADMIN_TOKEN", "test-token-1", 1);
    server_ = std::make_unique<RatelimitdProcess>(
        RATELIMITD_BINARY,
        std::vector<std::string>{"--config", config_, "--audit-log", audit_, "--admin-token-env",
                                 "RATELIMITD_TEST_ADMIN_TOKEN"});
  }
  void TearDown() override {
    server_.reset();
    std::filesystem::remove_all(dir_);
  }

  HttpResponse admin(const std::string& method, const std::string& target,
                     const std::string& body = "") {
    return server_->request(method, target, body, kAuth);
  }
  json::object decide(const std::string& body) {
    return json::parse(server_->request("POST", "/v1/decide", body).body).as_object();
  }
  std::string audit_text() const {
    std::ifstream in(audit_);
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
  }

  std::filesystem::path dir_;
  std::string config_;
  std::string audit_;
  std::unique_ptr<RatelimitdProcess> server_;
};

TEST_F(RatelimitdAdmin, TokenIsRequiredAndCheckedAndNothingChangesWithoutIt) {
  const std::string put = R"({"tier": "pro"})";
  const HttpResponse none = server_->request("PUT", "/v1/admin/tiers/user:bob", put);
  EXPECT_EQ(none.status, 401u);
  EXPECT_EQ(none.header("www-authenticate"), "Bearer");
  EXPECT_EQ(
      server_->request("PUT", "/v1/admin/tiers/user:bob", put, {{"Authorization", "Bearer wrong"}})
          .status,
      403u);
  EXPECT_EQ(
      server_
          ->request("PUT", "/v1/admin/tiers/user:bob", put, {{"Authorization", "Basic dGVzdA=="}})
          .status,
      401u);
  EXPECT_EQ(admin("GET", "/v1/admin/tiers/user:bob").status, 404u);
  EXPECT_EQ(audit_text(), "");
}

TEST_F(RatelimitdAdmin, TierAssignmentChangesDecisionsAndIsAudited) {
  EXPECT_EQ(decide(R"({"user": "bob"})").at("tier").as_string(), "free");
  const HttpResponse put =
      admin("PUT", "/v1/admin/tiers/user:bob", R"({"tier": "pro", "ttl_s": 3600})");
  ASSERT_EQ(put.status, 200u) << put.body;
  EXPECT_EQ(decide(R"({"user": "bob"})").at("tier").as_string(), "pro");
  const auto got = json::parse(admin("GET", "/v1/admin/tiers/user:bob").body).as_object();
  EXPECT_EQ(got.at("tier").as_string(), "pro");
  EXPECT_FALSE(got.at("expires_at_ms").is_null());
  const HttpResponse bad = admin("PUT", "/v1/admin/tiers/user:bob", R"({"tier": "gold"})");
  EXPECT_EQ(bad.status, 400u);
  EXPECT_NE(bad.body.find("enterprise"), std::string::npos) << "lists the tiers: " << bad.body;
  EXPECT_EQ(admin("DELETE", "/v1/admin/tiers/user:bob").status, 200u);
  EXPECT_EQ(decide(R"({"user": "bob"})").at("tier").as_string(), "free");
  EXPECT_EQ(admin("DELETE", "/v1/admin/tiers/user:bob").status, 404u);
  const std::string audit = audit_text();
  EXPECT_NE(audit.find(R"("action":"tier.assign","subject":"user:bob","detail":"pro")"),
            std::string::npos)
      << audit;
  EXPECT_NE(audit.find(R"("action":"tier.remove")"), std::string::npos) << audit;
}

TEST_F(RatelimitdAdmin, WhitelistIdentifiersAndRanges) {
  ASSERT_EQ(admin("POST", "/v1/admin/whitelist",
                  R"({"type": "user", "id": "carol", "reason": "partner"})")
                .status,
            200u);
  EXPECT_TRUE(decide(R"({"user": "carol"})").at("whitelisted").as_bool());
  const auto listed = json::parse(admin("GET", "/v1/admin/whitelist?type=user").body).as_object();
  ASSERT_EQ(listed.at("entries").as_array().size(), 1u);
  EXPECT_EQ(listed.at("entries").as_array()[0].at("reason").as_string(), "partner");
  EXPECT_EQ(admin("DELETE", "/v1/admin/whitelist/user/carol").status, 200u);
  EXPECT_FALSE(decide(R"({"user": "carol"})").at("whitelisted").as_bool());

  ASSERT_EQ(admin("POST", "/v1/admin/whitelist/ranges",
                  R"({"cidr": "2001:db8::/32", "description": "lab"})")
                .status,
            200u);
  EXPECT_TRUE(decide(R"({"ip": "2001:db8::7"})").at("whitelisted").as_bool());
  EXPECT_EQ(admin("POST", "/v1/admin/whitelist/ranges", R"({"cidr": "10.0.0.1/8"})").status, 400u);
  EXPECT_EQ(admin("DELETE", "/v1/admin/whitelist/ranges/2001%3Adb8%3A%3A%2F32").status, 200u);
  EXPECT_FALSE(decide(R"({"ip": "2001:db8::7"})").at("whitelisted").as_bool());
  EXPECT_EQ(admin("POST", "/v1/admin/whitelist", R"({"type": "device", "id": "x"})").status, 400u);
}

TEST_F(RatelimitdAdmin, ResetGivesAKeyItsFullLimitBack) {
  const std::string check = R"({"key": "reset-me", "limit": 1, "window_ms": 600000})";
  EXPECT_TRUE(
      json::parse(server_->request("POST", "/v1/check", check).body).at("allowed").as_bool());
  EXPECT_FALSE(
      json::parse(server_->request("POST", "/v1/check", check).body).at("allowed").as_bool());
  EXPECT_EQ(admin("DELETE", "/v1/admin/limits/reset-me").status, 200u);
  EXPECT_TRUE(
      json::parse(server_->request("POST", "/v1/check", check).body).at("allowed").as_bool());
}

TEST_F(RatelimitdAdmin, ReloadTakesAValidFileAndRejectsAnInvalidOne) {
  const auto ok = json::parse(admin("POST", "/v1/admin/reload").body).as_object();
  EXPECT_EQ(ok.at("reloads").as_int64(), 1);
  std::ofstream(config_, std::ios::app) << "\nbad: [\n";
  const HttpResponse bad = admin("POST", "/v1/admin/reload");
  EXPECT_EQ(bad.status, 400u);
  const auto problem = json::parse(bad.body).as_object();
  ASSERT_FALSE(problem.at("errors").as_array().empty());
  EXPECT_NE(std::string(problem.at("errors").as_array()[0].as_string()).find("policy.yaml:"),
            std::string::npos);
  EXPECT_EQ(decide(R"({"user": "bob"})").at("tier").as_string(), "free")
      << "the old config is in force";
  const std::string metrics = server_->request("GET", "/metrics").body;
  EXPECT_NE(metrics.find("\nratelimit_config_reloads_total 1\n"), std::string::npos) << metrics;
  EXPECT_NE(metrics.find("\nratelimit_config_reload_failures_total 1\n"), std::string::npos)
      << metrics;
  EXPECT_EQ(admin("GET", "/v1/admin/reload").status, 405u);
  EXPECT_EQ(admin("GET", "/v1/admin/nothing").status, 404u);
}

TEST_F(RatelimitdAdmin, SighupReloadsThePolicyFile) {
  // The reload happens on the signal thread: wait (in real time, bounded)
  // until the metrics show it. The signal is sent again every second: under
  // ThreadSanitizer a signal that lands on a thread idle in epoll_wait can
  // stay pending, and one reload (or more) is what this test is about.
  std::string metrics;
  bool reloaded = false;
  for (int i = 0; i < 1000 && !reloaded; ++i) {
    if (i % 100 == 0) server_->send_signal(SIGHUP);
    metrics = server_->request("GET", "/metrics").body;
    reloaded = metrics.find("\nratelimit_config_reloads_total ") != std::string::npos &&
               metrics.find("\nratelimit_config_reloads_total 0\n") == std::string::npos;
    if (!reloaded) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  EXPECT_TRUE(reloaded) << metrics;
  EXPECT_NE(server_->output().find("reloaded"), std::string::npos) << server_->output();
}

TEST(RatelimitdAdminDisabled, WithoutATokenEveryAdminCallIs403) {
  ::unsetenv("RATELIMITD_TEST_NO_TOKEN");
  RatelimitdProcess server(RATELIMITD_BINARY, {"--admin-token-env", "RATELIMITD_TEST_NO_TOKEN"});
  const HttpResponse r = server.request("POST", "/v1/admin/reload", "", kAuth);
  EXPECT_EQ(r.status, 403u);
  EXPECT_NE(r.body.find("disabled"), std::string::npos);
}

}  // namespace
}  // namespace ratelimit::testing
