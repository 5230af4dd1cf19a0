// Three real ratelimitd processes on one real redis-server: concurrent
// clients spread over the three (keep-alive connections, 4 threads per
// instance) hammer one key with three times its limit. Exactly `limit` are
// admitted, for every algorithm and for a /v1/decide policy shared by the
// three: each decision is one atomic script in Redis, whatever instance
// makes it. Windows are a year long, so nothing refills during the test.

#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "concurrent_load.hpp"
#include "ratelimitd_process.hpp"
#include "support/redis_harness.hpp"

namespace ratelimit::testing {
namespace {

namespace json = boost::json;

constexpr int kLimit = 300;
constexpr int kThreads = 12;                             // 4 per instance
constexpr int kPerThread = 3 * kLimit / kThreads;        // 3 x the limit in all
constexpr long long kYearMs = 365LL * 24 * 3600 * 1000;  // nothing refills meanwhile

class RatelimitdCluster : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    redis_ = RedisServer::start();
    policy_ = std::make_unique<TempDir>("ratelimitd-cluster");
    const std::string policy = policy_->path() + "/policy.yaml";
    std::ofstream(policy) << "version: 1\n"
                             "caller: [user]\n"
                             "limits:\n"
                             "  - {name: per_user, scope: user, algorithm: sliding_window,\n"
                             "     limit: "
                          << kLimit << ", window: 365d}\n";
    // failure=none: a store error is a 503 (counted as a failure here), not
    // a degraded admission that would hide a lost decision.
    const std::string url = redis_->url() + "?failure=none&prefix=cluster:";
    for (auto& instance : instances_) {
      instance = std::make_unique<RatelimitdProcess>(
          RATELIMITD_BINARY,
          std::vector<std::string>{"--store", url, "--config", policy, "--threads", "2"});
    }
  }
  static void TearDownTestSuite() {
    for (auto& instance : instances_) instance.reset();
    redis_.reset();
    policy_.reset();
  }

  static std::vector<int> ports() {
    std::vector<int> p;
    for (const auto& instance : instances_) p.push_back(instance->port());
    return p;
  }

  // Sends 3 x kLimit requests over the three instances; returns how many
  // were admitted (every reply must be a 200 decision).
  static int admitted(const std::string& target, const std::string& body) {
    const LoadResult r = run_load({.ports = ports(),
                                   .threads = kThreads,
                                   .requests_per_thread = kPerThread,
                                   .target = target,
                                   .body = [&](int, int) { return body; }});
    EXPECT_TRUE(r.failures.empty()) << r.failures.size() << " failed, first: " << r.failures[0];
    int allowed = 0;
    for (const auto& reply : r.replies) {
      if (reply.status != 200) {
        ADD_FAILURE() << "status " << reply.status << ": " << reply.body;
        continue;
      }
      allowed += json::parse(reply.body).at("allowed").as_bool() ? 1 : 0;
    }
    EXPECT_EQ(r.replies.size(), static_cast<std::size_t>(3 * kLimit));
    // Each instance served its share (thread i talks to instance i % 3).
    for (int instance = 0; instance < 3; ++instance) {
      long n = 0;
      for (const auto& reply : r.replies) n += reply.instance == instance ? 1 : 0;
      EXPECT_EQ(n, kLimit) << "instance " << instance;
    }
    return allowed;
  }

  static inline std::unique_ptr<RedisServer> redis_;
  static inline std::unique_ptr<TempDir> policy_;
  static inline std::unique_ptr<RatelimitdProcess> instances_[3];
};

struct AlgorithmCase {
  const char* name;
  const char* algorithm;
  const char* mode;  // leaky_bucket only
};

class RatelimitdClusterExact : public RatelimitdCluster,
                               public ::testing::WithParamInterface<AlgorithmCase> {};

TEST_P(RatelimitdClusterExact, AdmitsExactlyTheLimitAcrossInstances) {
  const AlgorithmCase& c = GetParam();
  json::object check{{"key", std::string("exact:") + c.name},
                     {"algorithm", c.algorithm},
                     {"limit", kLimit},
                     {"window_ms", kYearMs}};
  if (c.mode[0] != '\0') check["mode"] = c.mode;
  EXPECT_EQ(admitted("/v1/check", json::serialize(check)), kLimit);
}

INSTANTIATE_TEST_SUITE_P(Algorithms, RatelimitdClusterExact,
                         ::testing::Values(AlgorithmCase{"token_bucket", "token_bucket", ""},
                                           AlgorithmCase{"gcra", "gcra", ""},
                                           AlgorithmCase{"leaky_police", "leaky_bucket", "police"},
                                           AlgorithmCase{"leaky_shape", "leaky_bucket", "shape"},
                                           AlgorithmCase{"fixed_window", "fixed_window", ""},
                                           AlgorithmCase{"sliding_window", "sliding_window", ""},
                                           AlgorithmCase{"sliding_log", "sliding_log", ""}),
                         [](const ::testing::TestParamInfo<AlgorithmCase>& param) {
                           return param.param.name;
                         });

TEST_F(RatelimitdCluster, DecideWithASharedPolicyAdmitsExactlyTheLimit) {
  EXPECT_EQ(admitted("/v1/decide", R"({"user": "cluster-user"})"), kLimit);
  // The denials name the policy's scope.
  const auto denied =
      json::parse(instances_[1]->request("POST", "/v1/decide", R"({"user": "cluster-user"})").body)
          .as_object();
  EXPECT_FALSE(denied.at("allowed").as_bool());
  EXPECT_EQ(denied.at("scope").as_string(), "per_user");
}

}  // namespace
}  // namespace ratelimit::testing
