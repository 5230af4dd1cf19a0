// RedisStore against a real redis-server: shared state, all-or-none
// decisions, TTLs that follow the state, AUTH/ACL/SELECT, the key prefix,
// NOSCRIPT and restarts in the middle of a run.

#include <gtest/gtest.h>

#include <array>
#include <atomic>
#include <chrono>
#include <thread>

#include "ratelimit/redis_store.hpp"
#include "store/redis/decide_script.hpp"
#include "support/check_cost_cases.hpp"
#include "support/redis_harness.hpp"

namespace ratelimit {
namespace {

using testing::RedisServer;
using testing::RedisServerOptions;

constexpr Micros kT0 = 1'800'000'000'000'000;  // an instant in 2027

RedisStoreOptions client_time(const std::string& url) {
  RedisStoreOptions o = parse_redis_url(url);
  o.time_mode = RedisTimeMode::client;
  return o;
}

class RedisStoreTest : public ::testing::Test {
 protected:
  void SetUp() override { server_ = RedisServer::start(); }
  std::unique_ptr<RedisServer> server_;
};

TEST_F(RedisStoreTest, TwoStoresShareOneState) {
  RedisStore a(client_time(server_->url()));
  RedisStore b(client_time(server_->url()));
  const LimitSpec spec(Algorithm::token_bucket, 3, kMicrosPerSecond);
  const Check check{&spec, "user:1"};
  EXPECT_TRUE(a.decide_one(check, 1, kT0).allowed);
  EXPECT_TRUE(b.decide_one(check, 1, kT0).allowed);
  const Decision third = a.decide_one(check, 1, kT0);
  EXPECT_TRUE(third.allowed);
  EXPECT_EQ(third.remaining, 0);
  const Decision fourth = b.decide_one(check, 1, kT0);
  EXPECT_FALSE(fourth.allowed);
  EXPECT_EQ(fourth.retry_after, kMicrosPerSecond / 3 + 1);  // ceil(333333.3)
  EXPECT_EQ(fourth.limit, 3);
  EXPECT_FALSE(fourth.degraded);
}

TEST_F(RedisStoreTest, MultiCheckIsAllOrNone) {
  RedisStore store(client_time(server_->url()));
  const LimitSpec per_second(Algorithm::fixed_window, 2, kMicrosPerSecond);
  const LimitSpec per_minute(Algorithm::sliding_log, 100, kMicrosPerMinute);
  const std::array checks{Check{&per_second, "s:{u1}"}, Check{&per_minute, "m:{u1}"}};
  std::array<Decision, 2> each;
  EXPECT_TRUE(store.decide(checks, 1, kT0, each).allowed);
  EXPECT_TRUE(store.decide(checks, 1, kT0, each).allowed);
  const Decision denied = store.decide(checks, 1, kT0, each);
  EXPECT_FALSE(denied.allowed);
  EXPECT_EQ(denied.check_index, 0u);
  EXPECT_TRUE(each[1].allowed);
  // The minute limit was not charged by the denied request: 98 left, not 97.
  const Decision peek = store.peek(checks, kT0);
  std::array<Decision, 2> peeked;
  (void)store.peek(checks, kT0, peeked);
  EXPECT_EQ(peeked[1].remaining, 98);
  EXPECT_EQ(peek.remaining, 0);
}

TEST_F(RedisStoreTest, KeysExpireWhenTheLimiterIsFullAgain) {
  RedisStoreOptions o = client_time(server_->url());
  o.key_prefix = "app:";
  RedisStore store(o);
  const LimitSpec spec(Algorithm::token_bucket, 10, 10 * kMicrosPerSecond);  // 1 per second
  const Decision d = store.decide_one(Check{&spec, "k"}, 4, kT0);
  ASSERT_TRUE(d.allowed);
  EXPECT_EQ(d.reset_after, 4 * kMicrosPerSecond);
  EXPECT_EQ(server_->command({"EXISTS", "app:k"}), "1");
  // 4 s until full, plus the client-time slack (60 s: the caller's clock
  // need not run at Redis's pace; see lua/decide.lua).
  const long long pttl = std::stoll(server_->command({"PTTL", "app:k"}));
  EXPECT_LE(pttl, 64000);
  EXPECT_GT(pttl, 63000);  // generous: the server's clock ran while we asked
  // A peek and a denial write nothing.
  (void)store.peek(std::array{Check{&spec, "other"}}, kT0);
  EXPECT_FALSE(store.decide_one(Check{&spec, "other"}, 11, kT0).allowed);
  EXPECT_EQ(server_->dbsize(), 1);
  store.reset(std::array{Check{&spec, "k"}});
  EXPECT_EQ(server_->dbsize(), 0);
}

TEST_F(RedisStoreTest, DbsizeReturnsToZeroAfterAllLimitsReset) {
  // Server time: Redis expires the keys itself when each limiter is full again.
  RedisStore store(parse_redis_url(server_->url()));
  const std::vector<LimitSpec> specs{
      LimitSpec(Algorithm::token_bucket, 5, 50 * kMicrosPerMilli),
      LimitSpec(Algorithm::gcra, 5, 50 * kMicrosPerMilli),
      LimitSpec(Algorithm::leaky_bucket, 5, 50 * kMicrosPerMilli),
      LimitSpec(Algorithm::fixed_window, 5, 50 * kMicrosPerMilli),
      LimitSpec(Algorithm::sliding_window, 5, 50 * kMicrosPerMilli),
      LimitSpec(Algorithm::sliding_log, 5, 50 * kMicrosPerMilli),
  };
  for (std::size_t i = 0; i < specs.size(); ++i) {
    for (int k = 0; k < 20; ++k) {
      (void)store.decide_one(Check{&specs[i], "a" + std::to_string(i) + ":" + std::to_string(k)}, 2, 0);
    }
  }
  EXPECT_EQ(server_->dbsize(), 120);
  // Every state is back to full within 2 windows (sliding_window); poll Redis
  // with a deadline far above that.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while (server_->dbsize() != 0 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  EXPECT_EQ(server_->dbsize(), 0);
}

TEST(RedisStoreAuth, PasswordAclUserAndDatabase) {
  auto server = RedisServer::start(RedisServerOptions{
      .args = {"--requirepass", "topsecret", "--user", "limiter", "on", ">pw2", "~rl:*", "+@all"}});
  const LimitSpec spec(Algorithm::gcra, 5, kMicrosPerSecond);
  const std::string host = "127.0.0.1:" + std::to_string(server->port());

  RedisStore with_password(client_time("redis://:topsecret@" + host + "/2"));
  EXPECT_TRUE(with_password.decide_one(Check{&spec, "a"}, 1, kT0).allowed);

  RedisStore acl_user(client_time("redis://limiter:pw2@" + host));
  EXPECT_TRUE(acl_user.decide_one(Check{&spec, "a"}, 1, kT0).allowed);
  // Database 2 and database 0 hold separate states: both first requests left 4.
  EXPECT_EQ(with_password.decide_one(Check{&spec, "a"}, 0, kT0).remaining, 4);
  EXPECT_EQ(acl_user.decide_one(Check{&spec, "a"}, 0, kT0).remaining, 4);

  RedisStore wrong(client_time("redis://:nope@" + host));
  try {
    (void)wrong.decide_one(Check{&spec, "a"}, 1, kT0);
    ADD_FAILURE() << "a wrong password was accepted";
  } catch (const StoreUnavailable& e) {
    EXPECT_EQ(e.kind(), StoreUnavailable::Kind::reply);
    EXPECT_NE(std::string(e.what()).find("AUTH failed"), std::string::npos) << e.what();
  }
  // The ACL user may only touch rl:* keys.
  RedisStoreOptions other_prefix = client_time("redis://limiter:pw2@" + host);
  other_prefix.key_prefix = "elsewhere:";
  RedisStore denied_by_acl(other_prefix);
  EXPECT_THROW((void)denied_by_acl.decide_one(Check{&spec, "a"}, 1, kT0), StoreUnavailable);
}

TEST_F(RedisStoreTest, ScriptFlushAndRestartMidRun) {
  RedisStoreOptions o = client_time(server_->url());
  o.pool_size = 2;
  RedisStore store(o);
  const LimitSpec spec(Algorithm::fixed_window, 1'000'000, kMicrosPerHour);
  std::atomic<bool> stop{false};
  std::atomic<long long> ok{0};
  std::atomic<long long> failed{0};
  std::vector<std::thread> callers;
  for (int t = 0; t < 4; ++t) {
    callers.emplace_back([&, t] {
      const std::string key = "run:" + std::to_string(t);
      while (!stop.load()) {
        try {
          if (store.decide_one(Check{&spec, key}, 1, kT0).allowed) ok.fetch_add(1);
        } catch (const StoreUnavailable&) {
          failed.fetch_add(1);
        }
      }
    });
  }
  auto wait_for_progress = [&](long long beyond) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (ok.load() < beyond + 200 && std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    return ok.load() >= beyond + 200;
  };
  ASSERT_TRUE(wait_for_progress(0));
  EXPECT_EQ(server_->command({"SCRIPT", "FLUSH"}), "OK");
  EXPECT_TRUE(wait_for_progress(ok.load())) << "decisions stopped after SCRIPT FLUSH";
  EXPECT_EQ(failed.load(), 0) << "NOSCRIPT must be handled without an error";
  EXPECT_GE(store.redis_stats().script_loads, 2u);

  server_->kill();
  // While Redis is down every decision fails (GuardedStore decides what they become).
  server_->restart();
  const long long failed_while_down = failed.load();
  EXPECT_GT(failed_while_down, 0);
  EXPECT_TRUE(wait_for_progress(ok.load())) << "decisions did not resume after a restart";
  stop.store(true);
  for (auto& c : callers) c.join();
  // Once Redis is back, at most the decisions already in flight fail.
  EXPECT_LE(failed.load() - failed_while_down, 4);
  EXPECT_GE(store.redis_stats().reconnects, 4u);
}

TEST_F(RedisStoreTest, ConcurrentDecisionsAreMergedAndStayExact) {
  RedisStoreOptions o = client_time(server_->url());
  o.pool_size = 2;
  RedisStore store(o);
  const LimitSpec spec(Algorithm::sliding_window, 1000, kMicrosPerMinute);
  std::atomic<long long> admitted{0};
  std::vector<std::thread> callers;
  for (int t = 0; t < 16; ++t) {
    callers.emplace_back([&, t] {
      // Half the callers on the shared key, the others on keys of their own.
      const std::string own = "own:" + std::to_string(t);
      for (int i = 0; i < 200; ++i) {
        const bool shared = t % 2 == 0;
        const Decision d = store.decide_one(Check{&spec, shared ? "shared" : own}, 1, kT0);
        if (shared && d.allowed) admitted.fetch_add(1);
      }
    });
  }
  for (auto& c : callers) c.join();
  EXPECT_EQ(admitted.load(), 1000);  // 8 callers x 200 attempts on one key limited to 1000
  EXPECT_EQ(store.decide_one(Check{&spec, "own:1"}, 0, kT0).remaining, 800);
  // 3200 decisions took fewer script runs: concurrent ones were merged.
  EXPECT_LT(store.redis_stats().scripts_run, 3200u);
}

TEST_F(RedisStoreTest, ForeignOrCorruptValuesCountAsNewKeys) {
  RedisStore store(client_time(server_->url()));
  RedisStore reference(client_time(server_->url() + "?prefix=clean:"));
  const std::vector<LimitSpec> specs{
      LimitSpec(Algorithm::token_bucket, 5, kMicrosPerSecond), LimitSpec(Algorithm::gcra, 5, kMicrosPerSecond),
      LimitSpec(Algorithm::leaky_bucket, 5, kMicrosPerSecond, std::nullopt, LeakyMode::shape),
      LimitSpec(Algorithm::fixed_window, 5, kMicrosPerSecond), LimitSpec(Algorithm::sliding_window, 5, kMicrosPerSecond),
      LimitSpec(Algorithm::sliding_log, 5, kMicrosPerSecond)};
  // Values no decision wrote: text, truncated or oversized binary, another
  // algorithm's state, NaN bytes, and keys of other Redis types.
  const std::vector<std::vector<std::string>> plant{
      {"SET", "rl:k", "hello"},       {"SET", "rl:k", std::string("\x01\x02", 2)},
      {"SET", "rl:k", std::string(17, '\xff')}, {"SET", "rl:k", std::string(25, '\x05')},
      {"SET", "rl:k", std::string(33, '\x06')}, {"RPUSH", "rl:k", "a"},
      {"HSET", "rl:k", "f", "v"},     {"SADD", "rl:k", "m"}};
  for (const auto& cmd : plant) {
    for (const LimitSpec& spec : specs) {
      server_->command({"DEL", "rl:k"});
      server_->command(cmd);
      const Decision got = store.decide_one(Check{&spec, "k"}, 2, kT0);
      reference.reset(std::array{Check{&spec, "k"}});
      const Decision fresh = reference.decide_one(Check{&spec, "k"}, 2, kT0);
      EXPECT_EQ(got, fresh) << cmd[0] << " " << cmd[2] << " then " << describe(spec);
    }
  }
}

TEST_F(RedisStoreTest, TinyChargesAtHugeRatesAreKept) {
  // A million units per µs: one unit is a deficit of 1e-6 µs. The key must
  // still be written, or every request would meet a fresh bucket and nothing
  // would be limited. Its TTL is 1 ms of Redis's real time, so three
  // decisions at one instant are sent in one script run (op batch).
  for (const char* code : {"1", "2", "3"}) {
    // Three decisions, one limit: algorithm, limit, window, burst, mode.
    std::vector<std::string> cmd{"EVAL", std::string(redis::kDecideScript), "3", "rl:f", "rl:f", "rl:f", "", "3",
                                 "batch", "1", code, "1000000", "1", "1000000", "0"};
    for (int i = 0; i < 3; ++i) {
      // Decision: now, cost, one check; check: the limit's number, cost.
      const std::vector<std::string> decision{std::to_string(kT0), "1", "1", "1", "1"};
      cmd.insert(cmd.end(), decision.begin(), decision.end());
    }
    // Reply: now, then (allowed, remaining, reset, retry, delay) per decision.
    const std::string reply = server_->command(cmd);
    EXPECT_NE(reply.find("\n999999\n"), std::string::npos) << reply;
    EXPECT_NE(reply.find("\n999998\n"), std::string::npos) << reply;
    EXPECT_NE(reply.find("\n999997\n"), std::string::npos) << reply;
    server_->command({"DEL", "rl:f"});
  }
}

TEST_F(RedisStoreTest, ServerTimeModeIgnoresTheCallersInstant) {
  RedisStore store(parse_redis_url(server_->url()));
  const LimitSpec spec(Algorithm::fixed_window, 2, kMicrosPerHour);
  // Instants far apart would be different windows in client mode.
  EXPECT_TRUE(store.decide_one(Check{&spec, "k"}, 1, 0).allowed);
  EXPECT_TRUE(store.decide_one(Check{&spec, "k"}, 1, kT0).allowed);
  EXPECT_FALSE(store.decide_one(Check{&spec, "k"}, 1, 5 * kT0 / 4).allowed);
}

TEST_F(RedisStoreTest, BadInputIsRejectedBeforeRedis) {
  RedisStore store(client_time(server_->url()));
  const LimitSpec spec(Algorithm::token_bucket, 5, kMicrosPerSecond);
  EXPECT_THROW((void)store.decide_one(Check{&spec, ""}, 1, kT0), InvalidRequest);
  EXPECT_THROW((void)store.decide_one(Check{&spec, "k"}, -1, kT0), InvalidRequest);
  EXPECT_THROW((void)store.decide_one(Check{&spec, "k"}, 1, -5), InvalidRequest);
  EXPECT_EQ(server_->dbsize(), 0);
}

// Check::cost: one script charging a cost-unit budget and a per-request
// limit different amounts (tests/support/check_cost_cases.hpp).
TEST_F(RedisStoreTest, EachCheckIsChargedItsOwnCost) {
  RedisStore store(client_time(server_->url()));
  testing::expect_per_check_costs(store, kT0, "");
}

TEST_F(RedisStoreTest, InvalidCheckCostsAreRejectedBeforeRedis) {
  RedisStore store(client_time(server_->url()));
  testing::expect_invalid_check_costs_rejected(store, kT0, "");
  EXPECT_EQ(server_->dbsize(), 2);  // the two keys the valid decision charged
}

// Concurrent decisions merged into one script run (op batch) keep each
// check's own cost: 16 callers charge a shared budget 3 per request and
// their own per-caller limit 1 per request.
TEST_F(RedisStoreTest, MergedDecisionsChargeEachCheckItsOwnCost) {
  RedisStoreOptions o = client_time(server_->url());
  o.pool_size = 2;
  RedisStore store(o);
  const LimitSpec budget(Algorithm::fixed_window, 300, kMicrosPerMinute);
  const LimitSpec per_caller(Algorithm::sliding_log, 60, kMicrosPerMinute);
  std::atomic<long long> admitted{0};
  std::vector<std::thread> callers;
  std::vector<long long> admitted_by(16, 0);
  for (int t = 0; t < 16; ++t) {
    callers.emplace_back([&, t] {
      const std::string own = "{budget}:caller:" + std::to_string(t);
      const std::array checks{Check{&budget, "{budget}"}, Check{&per_caller, own, 1}};
      for (int i = 0; i < 40; ++i) {
        if (store.decide(checks, 3, kT0).allowed) {
          admitted.fetch_add(1);
          ++admitted_by[static_cast<std::size_t>(t)];
        }
      }
    });
  }
  for (auto& c : callers) c.join();
  EXPECT_EQ(admitted.load(), 100);  // 300 / 3
  for (int t = 0; t < 16; ++t) {
    const std::string own = "{budget}:caller:" + std::to_string(t);
    EXPECT_EQ(store.decide_one(Check{&per_caller, own}, 0, kT0).remaining,
              60 - admitted_by[static_cast<std::size_t>(t)])
        << own;
  }
  EXPECT_LT(store.redis_stats().scripts_run, 640u) << "no decisions were merged";
}

TEST(RedisStoreDown, UnreachableServerIsStoreUnavailable) {
  RedisStoreOptions o = client_time("redis://127.0.0.1:" + std::to_string(testing::free_loopback_port()));
  RedisStore store(o);
  const LimitSpec spec(Algorithm::token_bucket, 5, kMicrosPerSecond);
  try {
    (void)store.decide_one(Check{&spec, "k"}, 1, kT0);
    ADD_FAILURE() << "no server, yet a decision";
  } catch (const StoreUnavailable& e) {
    EXPECT_EQ(e.kind(), StoreUnavailable::Kind::connection);
    EXPECT_NE(std::string(e.what()).find("connect"), std::string::npos) << e.what();
  }
  EXPECT_GE(store.redis_stats().errors, 1u);
}

}  // namespace
}  // namespace ratelimit
