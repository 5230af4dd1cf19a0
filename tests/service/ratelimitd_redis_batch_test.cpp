// ratelimitd on a Redis store gathers the /v1/check requests that arrive in
// one turn of an event loop into one Store::decide_batch (one script run for
// many decisions). The real binary with one event loop, a real redis-server,
// 16 keep-alive clients at once: every request still gets its own answer
// (own keys count down exactly, one shared key admits exactly its limit),
// bad bodies get their 400 without disturbing the others, the metrics count
// every request once, and Redis ran fewer scripts than there were decisions.

#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <map>
#include <regex>
#include <string>
#include <vector>

#include "concurrent_load.hpp"
#include "ratelimitd_process.hpp"
#include "support/redis_harness.hpp"

namespace ratelimit::testing {
namespace {

namespace json = boost::json;

constexpr int kThreads = 16;
constexpr int kPerThread = 60;
constexpr int kSharedLimit = 100;

// Request i of thread t: every 10th is malformed, every other one asks for
// the shared key, the rest for the thread's own key (limit 1000, a year).
std::string body_of(int thread, int i) {
  if (i % 10 == 9) return R"({"key": "x", "limit": "ten", "window_ms": 1000})";
  if (i % 2 == 0) {
    return R"({"key": "shared", "algorithm": "sliding_window", "limit": )" + std::to_string(kSharedLimit) +
           R"(, "window_ms": 31536000000})";
  }
  return R"({"key": "own:)" + std::to_string(thread) +
         R"(", "algorithm": "token_bucket", "limit": 1000, "window_ms": 31536000000})";
}

long long evalsha_calls(const RedisServer& redis) {
  const std::string stats = redis.command({"INFO", "commandstats"});
  std::smatch m;
  if (!std::regex_search(stats, m, std::regex("cmdstat_evalsha:calls=([0-9]+)"))) return 0;
  return std::stoll(m[1]);
}

double metric(const std::string& scrape, const std::string& series) {
  for (std::size_t at = scrape.find(series); at != std::string::npos; at = scrape.find(series, at + 1)) {
    if (at > 0 && scrape[at - 1] != '\n') continue;
    const std::size_t value = at + series.size();
    if (value < scrape.size() && scrape[value] == ' ') return std::stod(scrape.substr(value + 1));
  }
  return -1;
}

TEST(RatelimitdRedisBatch, ConcurrentChecksShareScriptRunsAndEachGetsItsOwnAnswer) {
  const auto redis = RedisServer::start();
  RatelimitdProcess daemon(RATELIMITD_BINARY, {"--store", redis->url() + "?failure=none", "--threads", "1"});
  const LoadResult r = run_load(
      {.ports = {daemon.port()}, .threads = kThreads, .requests_per_thread = kPerThread, .body = body_of});
  ASSERT_TRUE(r.failures.empty()) << r.failures.front();
  ASSERT_EQ(r.replies.size(), static_cast<std::size_t>(kThreads * kPerThread));

  // Each thread's replies in the order it sent them.
  std::map<int, std::vector<const LoadReply*>> by_thread;
  for (const auto& reply : r.replies) by_thread[reply.thread].push_back(&reply);
  int shared_admitted = 0;
  int decisions = 0;
  for (const auto& [thread, replies] : by_thread) {
    ASSERT_EQ(replies.size(), static_cast<std::size_t>(kPerThread));
    long long own_remaining = 1000;
    for (int i = 0; i < kPerThread; ++i) {
      const LoadReply& reply = *replies[static_cast<std::size_t>(i)];
      if (i % 10 == 9) {
        EXPECT_EQ(reply.status, 400u) << reply.body;
        EXPECT_NE(reply.body.find("limit"), std::string::npos) << reply.body;
        continue;
      }
      ASSERT_EQ(reply.status, 200u) << reply.body;
      ++decisions;
      const json::object d = json::parse(reply.body).as_object();
      if (i % 2 == 0) {
        shared_admitted += d.at("allowed").as_bool() ? 1 : 0;
      } else {
        EXPECT_TRUE(d.at("allowed").as_bool());
        EXPECT_EQ(d.at("remaining").as_int64(), --own_remaining) << "thread " << thread << ", request " << i;
      }
    }
  }
  EXPECT_EQ(shared_admitted, kSharedLimit);  // 16 x 27 asked for it, concurrently
  EXPECT_LT(evalsha_calls(*redis), decisions) << "no two decisions shared a script run";

  const std::string scrape = daemon.request("GET", "/metrics").body;
  EXPECT_EQ(metric(scrape, R"(ratelimit_http_replies_total{code="200"})"), decisions) << scrape;
  EXPECT_EQ(metric(scrape, R"(ratelimit_http_replies_total{code="400"})"), kThreads * kPerThread / 10);
}

}  // namespace
}  // namespace ratelimit::testing
