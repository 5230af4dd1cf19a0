// Store::decide_batch on a real redis-server: a batch decides exactly what
// the same decisions sent one after another decide (checked against the
// in-memory store, which the conformance vectors tie to the same math), in
// one script run per max_batch decisions; a bad decision fails alone; a dead
// Redis fails the batch (a hung one times it out once), and GuardedStore counts the batch as one
// failure and falls back for each decision.

#include <gtest/gtest.h>

#include <array>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "ratelimit/guarded_store.hpp"
#include "ratelimit/memory_store.hpp"
#include "ratelimit/redis_store.hpp"
#include "support/redis_harness.hpp"

namespace ratelimit {
namespace {

using testing::RedisCluster;
using testing::RedisServer;

constexpr Micros kT0 = 1'800'000'000'000'000;  // an instant in 2027

RedisStoreOptions client_time(const std::string& url, int max_batch) {
  RedisStoreOptions o = parse_redis_url(url);
  o.time_mode = RedisTimeMode::client;
  o.max_batch = max_batch;
  return o;
}

// A seeded mix of decisions: every algorithm, one to three checks sharing
// keys across decisions, costs 0 (peek) to 4, some checks with their own cost.
struct Workload {
  explicit Workload(unsigned seed, std::size_t decisions) {
    specs = {LimitSpec(Algorithm::token_bucket, 5, kMicrosPerSecond),
             LimitSpec(Algorithm::gcra, 4, kMicrosPerSecond),
             LimitSpec(LimitParams{.algorithm = Algorithm::leaky_bucket,
                                   .limit = 3,
                                   .window = kMicrosPerSecond,
                                   .burst = 3,
                                   .mode = LeakyMode::shape}),
             LimitSpec(Algorithm::fixed_window, 6, kMicrosPerSecond),
             LimitSpec(Algorithm::sliding_window, 6, kMicrosPerSecond),
             LimitSpec(Algorithm::sliding_log, 5, kMicrosPerSecond)};
    std::mt19937 rng(seed);
    keys.reserve(decisions * 3);
    checks.resize(decisions);
    costs.resize(decisions);
    for (std::size_t d = 0; d < decisions; ++d) {
      const std::size_t n = 1 + rng() % 3;
      for (std::size_t c = 0; c < n; ++c) {
        // Key names the algorithm: one state per key and algorithm.
        const std::size_t algo = rng() % specs.size();
        keys.push_back("k" + std::to_string(algo) + ":" + std::to_string((rng() % 3) * 3 + c));
        const std::int64_t own = rng() % 4 == 0 ? static_cast<std::int64_t>(rng() % 3) : Check::kDecisionCost;
        checks[d].push_back(Check{&specs[algo], keys.back(), own});
      }
      costs[d] = static_cast<std::int64_t>(rng() % 5);
    }
  }
  std::vector<LimitSpec> specs;
  std::vector<std::string> keys;  // reserved: Check keys point into it
  std::vector<std::vector<Check>> checks;
  std::vector<std::int64_t> costs;
};

void expect_invalid(const BatchDecision& b) {
  ASSERT_TRUE(b.error);
  EXPECT_THROW(std::rethrow_exception(b.error), InvalidRequest);
}

void expect_same(const Decision& got, const Decision& want, const std::string& what) {
  EXPECT_EQ(got.allowed, want.allowed) << what;
  EXPECT_EQ(got.limit, want.limit) << what;
  EXPECT_EQ(got.remaining, want.remaining) << what;
  EXPECT_EQ(got.reset_after, want.reset_after) << what;
  EXPECT_EQ(got.retry_after, want.retry_after) << what;
  EXPECT_EQ(got.delay, want.delay) << what;
  EXPECT_FALSE(got.degraded) << what;
}

TEST(RedisBatch, DecidesWhatTheSameDecisionsOneAfterAnotherDecide) {
  const auto server = RedisServer::start();
  constexpr int kMaxBatch = 7;
  RedisStore redis(client_time(server->url(), kMaxBatch));
  MemoryStore memory;
  const Workload w(20261207, 60);
  const std::size_t n = w.checks.size();
  // Three batches at three instants: state carries over between them.
  for (const Micros at : {kT0, kT0 + 150'000, kT0 + 900'000}) {
    const auto runs_before = redis.redis_stats().scripts_run;
    std::vector<std::array<Decision, 3>> each(n);
    std::vector<BatchDecision> batch(n);
    for (std::size_t d = 0; d < n; ++d) {
      batch[d].checks = w.checks[d];
      batch[d].cost = w.costs[d];
      batch[d].now = at;
      batch[d].each = std::span<Decision>(each[d]).first(w.checks[d].size());
    }
    redis.decide_batch(batch);
    for (std::size_t d = 0; d < n; ++d) {
      const std::string what = "decision " + std::to_string(d) + " at +" + std::to_string(at - kT0) + " us";
      ASSERT_FALSE(batch[d].error) << what;
      std::array<Decision, 3> want_each;
      const Decision want = memory.decide(w.checks[d], w.costs[d], at,
                                          std::span<Decision>(want_each).first(w.checks[d].size()));
      expect_same(batch[d].result, want, what);
      for (std::size_t c = 0; c < w.checks[d].size(); ++c) {
        expect_same(each[d][c], want_each[c], what + ", check " + std::to_string(c));
      }
    }
    EXPECT_EQ(redis.redis_stats().scripts_run - runs_before, (n + kMaxBatch - 1) / kMaxBatch);
  }
}

TEST(RedisBatch, ABadDecisionFailsAloneBeforeAnythingIsSent) {
  const auto server = RedisServer::start();
  RedisStore redis(client_time(server->url(), 32));
  const LimitSpec spec(Algorithm::token_bucket, 2, kMicrosPerSecond);
  const std::array good{Check{&spec, "good"}};
  const std::array empty_key{Check{&spec, ""}};
  std::vector<BatchDecision> batch(4);
  batch[0].checks = good;
  batch[1].checks = empty_key;
  batch[2].checks = good;
  batch[2].cost = -1;
  batch[3].checks = good;
  for (auto& b : batch) b.now = kT0;
  redis.decide_batch(batch);
  EXPECT_FALSE(batch[0].error);
  EXPECT_FALSE(batch[3].error);
  expect_invalid(batch[1]);
  expect_invalid(batch[2]);
  EXPECT_TRUE(batch[0].result.allowed);
  EXPECT_EQ(batch[3].result.remaining, 0);  // both good decisions were charged, once each
  EXPECT_EQ(server->dbsize(), 1);
  EXPECT_EQ(redis.redis_stats().scripts_run, 1u);
}

TEST(RedisBatch, ADeadRedisFailsEveryDecisionOfTheBatch) {
  RedisStoreOptions o = client_time("redis://127.0.0.1:" + std::to_string(testing::free_loopback_port()), 32);
  RedisStore redis(o);
  const LimitSpec spec(Algorithm::gcra, 2, kMicrosPerSecond);
  const std::array check{Check{&spec, "k"}};
  std::vector<BatchDecision> batch(3);
  for (auto& b : batch) {
    b.checks = check;
    b.now = kT0;
  }
  redis.decide_batch(batch);
  for (const auto& b : batch) {
    ASSERT_TRUE(b.error);
    EXPECT_THROW(std::rethrow_exception(b.error), StoreUnavailable);
  }
}

TEST(RedisBatch, GuardedStoreCountsABatchAsOneCallAndFallsBackForEachDecision) {
  const auto server = RedisServer::start();
  RedisStoreOptions o = client_time(server->url(), 32);
  o.command_timeout_ms = 50;
  o.connect_timeout_ms = 50;
  ManualClock clock(kT0);
  GuardedStoreOptions g;
  g.failure_mode = FailureMode::fail_open;
  g.breaker_failures = 2;
  GuardedStore store(std::make_unique<RedisStore>(o), g, clock);
  EXPECT_TRUE(store.prefers_batches());
  const LimitSpec spec(Algorithm::token_bucket, 10, kMicrosPerSecond);
  const std::array check{Check{&spec, "k"}};
  const std::array bad{Check{&spec, ""}};
  const auto batch_of = [&](std::size_t n) {
    std::vector<BatchDecision> batch(n);
    for (auto& b : batch) {
      b.checks = check;
      b.now = kT0;
    }
    batch.back().checks = bad;  // bad input: an error in any state of the store
    return batch;
  };

  auto first = batch_of(4);
  store.decide_batch(first);
  EXPECT_FALSE(first[0].result.degraded);
  EXPECT_EQ(first[2].result.remaining, 7);

  server->kill();
  for (int round = 0; round < 2; ++round) {
    auto batch = batch_of(4);
    store.decide_batch(batch);
    for (std::size_t i = 0; i < 3; ++i) {
      ASSERT_FALSE(batch[i].error);
      EXPECT_TRUE(batch[i].result.allowed);
      EXPECT_TRUE(batch[i].result.degraded);
    }
    expect_invalid(batch[3]);
  }
  GuardedStoreStats s = store.guard_stats();
  EXPECT_EQ(s.errors + s.timeouts, 2u) << "one failure per batch";
  EXPECT_EQ(s.fallbacks, 6u);
  EXPECT_EQ(s.state, BreakerState::open);

  auto short_circuited = batch_of(5);
  store.decide_batch(short_circuited);
  s = store.guard_stats();
  EXPECT_EQ(s.short_circuited, 5u);
  EXPECT_TRUE(short_circuited[0].result.degraded);
  expect_invalid(short_circuited[4]);

  // Redis back, the breaker's wait over: the next batch probes and closes it.
  server->restart();
  clock.advance(g.breaker_open);
  auto probe = batch_of(2);
  store.decide_batch(probe);
  EXPECT_FALSE(probe[0].error);
  EXPECT_FALSE(probe[0].result.degraded);
  EXPECT_EQ(store.breaker_state(), BreakerState::closed);
}

TEST(RedisBatch, AHungRedisTimesTheBatchOutOnceAndTheGuardFallsBack) {
  const auto server = RedisServer::start();
  RedisStoreOptions o = client_time(server->url(), 32);
  o.command_timeout_ms = 50;
  o.connect_timeout_ms = 50;
  ManualClock clock(kT0);
  GuardedStoreOptions g;
  g.failure_mode = FailureMode::fail_closed;
  GuardedStore store(std::make_unique<RedisStore>(o), g, clock);
  const LimitSpec spec(Algorithm::sliding_window, 10, kMicrosPerSecond);
  const std::array check{Check{&spec, "k"}};
  std::vector<BatchDecision> warm(1);
  warm[0].checks = check;
  warm[0].now = kT0;
  store.decide_batch(warm);  // connected, script loaded
  ASSERT_FALSE(warm[0].error);

  server->pause();  // the socket accepts, nobody answers
  std::vector<BatchDecision> batch(6);
  for (auto& b : batch) {
    b.checks = check;
    b.now = kT0;
  }
  store.decide_batch(batch);
  server->resume();
  // One round trip for the batch: one timeout, not one per decision.
  const auto& redis = dynamic_cast<const RedisStore&>(store.primary());
  EXPECT_EQ(redis.redis_stats().timeouts, 1u) << "each decision waited for its own timeout";
  for (const auto& b : batch) {
    ASSERT_FALSE(b.error);
    EXPECT_FALSE(b.result.allowed);  // closed: denied while Redis does not answer
    EXPECT_TRUE(b.result.degraded);
  }
  const GuardedStoreStats s = store.guard_stats();
  EXPECT_EQ(s.timeouts, 1u);
  EXPECT_EQ(s.fallbacks, 6u);
}

TEST(RedisBatch, InClusterTheDecisionsGoOneAfterAnother) {
  const auto cluster = RedisCluster::start();
  RedisStoreOptions o = parse_redis_url(cluster->url());
  o.time_mode = RedisTimeMode::client;
  RedisStore redis(o);
  const LimitSpec spec(Algorithm::fixed_window, 1, kMicrosPerMinute);
  // Keys on different slots: merged, they would be a CROSSSLOT error.
  std::vector<std::string> keys;
  for (int i = 0; i < 8; ++i) keys.push_back("user:" + std::to_string(i));
  std::vector<std::array<Check, 1>> checks;
  for (const auto& k : keys) checks.push_back({Check{&spec, k}});
  std::vector<BatchDecision> batch(keys.size() * 2);
  for (std::size_t i = 0; i < batch.size(); ++i) {
    batch[i].checks = checks[i % keys.size()];
    batch[i].now = kT0;
  }
  redis.decide_batch(batch);
  for (std::size_t i = 0; i < batch.size(); ++i) {
    ASSERT_FALSE(batch[i].error) << i;
    EXPECT_EQ(batch[i].result.allowed, i < keys.size()) << i;  // each key admits its first request only
  }
}

}  // namespace
}  // namespace ratelimit
