// redis-server SIGKILLed under load, three ratelimitd instances on it, for
// each failure mode of the store URL (docs/redis.md):
// - no request hangs: each answers within a bound (the client gives up at
//   5 s, which counts as a failure), and the slowest is reported;
// - answers follow the mode: open admits (degraded), closed denies
//   (degraded), local decides in process with local_share of each limit;
// - /readyz says "degraded" while Redis is gone;
// - redis-server restarted on the same port: after the breaker's probe
//   (breaker_open_ms=300) decisions come from Redis again (degraded false)
//   and /readyz says "ready".
// Clients are bounded by a request count; the test ends them early once
// recovery is seen. Real-time waits are bounded polls, never fixed sleeps.

#include <gtest/gtest.h>

#include <atomic>
#include <boost/json.hpp>
#include <chrono>
#include <cstdio>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "concurrent_load.hpp"
#include "ratelimitd_process.hpp"
#include "support/redis_harness.hpp"

namespace ratelimit::testing {
namespace {

namespace json = boost::json;
using SteadyClock = std::chrono::steady_clock;

constexpr int kInstances = 3;
constexpr int kThreads = 6;           // 2 per instance
constexpr int kMaxPerThread = 20000;  // the bound; the test stops them sooner
constexpr int kKeyLimit = 30;         // each thread's own key
constexpr long long kYearMs = 365LL * 24 * 3600 * 1000;
// Generous for a loaded 2-core machine; the Redis timeouts are 200 ms.
constexpr auto kLatencyBound = std::chrono::milliseconds(2500);

// Polls `done` every 20 ms until it holds or `limit` passes.
bool eventually(const std::function<bool()>& done,
                std::chrono::seconds limit = std::chrono::seconds(60)) {
  const auto deadline = SteadyClock::now() + limit;
  while (SteadyClock::now() < deadline) {
    if (done()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return done();
}

// A decision made by the failure mode says "degraded": true (absent otherwise).
bool degraded(const json::object& decision) {
  const auto* d = decision.if_contains("degraded");
  return d != nullptr && d->as_bool();
}

std::string readyz_status(const RatelimitdProcess& p) {
  return std::string(json::parse(p.request("GET", "/readyz").body).at("status").as_string());
}

struct ModeCase {
  const char* failure;  // the URL's failure=
  const char* extra;    // more URL options
};

class RatelimitdRedisKilled : public ::testing::TestWithParam<ModeCase> {};

TEST_P(RatelimitdRedisKilled, AnswersByTheFailureModeAndRecovers) {
  const ModeCase& mode = GetParam();
  auto redis = RedisServer::start();
  const std::string url = redis->url() + "?failure=" + mode.failure + mode.extra +
                          "&timeout_ms=200&connect_timeout_ms=200"
                          "&breaker_failures=3&breaker_open_ms=300&prefix=killed:";
  std::vector<std::unique_ptr<RatelimitdProcess>> instances;
  std::vector<int> ports;
  for (int i = 0; i < kInstances; ++i) {
    instances.push_back(std::make_unique<RatelimitdProcess>(
        RATELIMITD_BINARY, std::vector<std::string>{"--store", url, "--threads", "2"}));
    ports.push_back(instances.back()->port());
  }
  for (const auto& p : instances) ASSERT_EQ(readyz_status(*p), "ready");

  std::atomic<bool> stop{false};
  std::atomic<long> done{0};
  // Each thread checks its own key: in local mode, the key's share of the
  // limit in its instance is exact.
  const auto body = [](int thread, int) {
    return json::serialize(json::object{
        {"key", "load:" + std::to_string(thread)}, {"limit", kKeyLimit}, {"window_ms", kYearMs}});
  };
  LoadResult load;
  std::thread clients([&] {
    load = run_load({.ports = ports,
                     .threads = kThreads,
                     .requests_per_thread = kMaxPerThread,
                     .body = body,
                     .stop = &stop,
                     .done = &done});
  });
  // The test's own probe while the load runs: instance i's next decision.
  const auto probe_degraded = [&](std::size_t i) {
    const auto r = instances[i]->request(
        "POST", "/v1/check", R"({"key": "probe", "limit": 1000000, "window_ms": 1000})");
    return r.status == 200 && degraded(json::parse(r.body).as_object());
  };
  const auto finish = [&] {
    stop = true;
    if (clients.joinable()) clients.join();
  };
  // Whatever ends this test (a failed ASSERT, an exception), the clients stop.
  struct JoinOnExit {
    const std::function<void()>& finish;
    ~JoinOnExit() { finish(); }
  };
  const std::function<void()> finish_fn = finish;
  const JoinOnExit join_on_exit{finish_fn};

  // Load on a healthy Redis first, then the kill.
  const bool warmed = eventually([&] { return done.load() >= 50L * kThreads; });
  ASSERT_TRUE(warmed) << "the clients made " << done.load() << " requests";
  const long before_kill = done.load();
  redis->kill();
  // Every instance notices: /readyz degraded while clients keep going.
  for (std::size_t i = 0; i < instances.size(); ++i) {
    EXPECT_TRUE(eventually([&] { return readyz_status(*instances[i]) == "degraded"; }))
        << "instance " << i;
  }
  const bool loaded_while_down = eventually([&] { return done.load() >= before_kill + 300; });
  redis->restart();
  // After breaker_open_ms a probe closes each breaker: decisions come from
  // Redis again and /readyz says ready.
  for (std::size_t i = 0; i < instances.size(); ++i) {
    EXPECT_TRUE(eventually([&] {
      return !probe_degraded(i) && readyz_status(*instances[i]) == "ready";
    })) << "instance "
        << i << " did not recover";
  }
  finish();
  EXPECT_TRUE(loaded_while_down) << "the clients made " << done.load() << " requests";

  // No request hung or failed; all were decisions.
  EXPECT_TRUE(load.failures.empty())
      << load.failures.size() << " requests failed, first: " << load.failures[0];
  std::map<int, int> degraded_admitted;  // thread -> degraded admissions
  std::map<int, int> degraded_seen;
  int by_failure_mode = 0;
  int from_redis = 0;
  for (const auto& r : load.replies) {
    if (r.status == 0) continue;  // a failure, reported above
    ASSERT_EQ(r.status, 200u) << r.body;
    const auto d = json::parse(r.body).as_object();
    if (!degraded(d)) {
      ++from_redis;
      continue;
    }
    ++by_failure_mode;
    const bool allowed = d.at("allowed").as_bool();
    const std::string failure = mode.failure;
    if (failure == "open") {
      EXPECT_TRUE(allowed) << r.body;
    } else if (failure == "closed") {
      EXPECT_FALSE(allowed) << r.body;
    }
    degraded_seen[r.thread]++;
    degraded_admitted[r.thread] += allowed ? 1 : 0;
  }
  EXPECT_LT(load.max_latency, kLatencyBound) << "slowest request";
  std::printf(
      "[ failure=%s ] %zu requests (%d by the failure mode, %d by Redis), slowest %.1f ms\n",
      mode.failure, load.replies.size(), by_failure_mode, from_redis,
      static_cast<double>(load.max_latency.count()) / 1000.0);
  EXPECT_GT(by_failure_mode, 0) << "no decision was made by the failure mode";
  EXPECT_GT(from_redis, 0);
  if (std::string(mode.failure) == "local") {
    // local_share=0.5 of 30: each thread's key admits 15 in its instance's
    // local store while Redis is gone (all of them once it made that many).
    for (const auto& [thread, seen] : degraded_seen) {
      EXPECT_EQ(degraded_admitted[thread], std::min(seen, kKeyLimit / 2)) << "thread " << thread;
    }
  }
}

INSTANTIATE_TEST_SUITE_P(FailureModes, RatelimitdRedisKilled,
                         ::testing::Values(ModeCase{"open", ""}, ModeCase{"closed", ""},
                                           ModeCase{"local", "&local_share=0.5"}),
                         [](const ::testing::TestParamInfo<ModeCase>& param) {
                           return std::string(param.param.failure);
                         });

}  // namespace
}  // namespace ratelimit::testing
