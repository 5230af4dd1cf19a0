#include "ratelimit/memory_store.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "store/memory/store_impl.hpp"
#include "support/check_cost_cases.hpp"
#include "support/reference_store.hpp"

namespace ratelimit {
namespace {

constexpr Micros kT0 = 1'700'000'000'000'000;

const LimitSpec kPerSecond(Algorithm::token_bucket, 5, kMicrosPerSecond);
const LimitSpec kPerMinute(Algorithm::sliding_window, 8, kMicrosPerMinute);
const LimitSpec kPerHour(Algorithm::sliding_log, 100, kMicrosPerHour);

TEST(MemoryStore, SingleKeyTokenBucket) {
  MemoryStore store;
  const Check c{&kPerSecond, "user:1"};
  for (int i = 0; i < 5; ++i) EXPECT_TRUE(store.decide_one(c, 1, kT0).allowed);
  const Decision d = store.decide_one(c, 1, kT0);
  EXPECT_FALSE(d.allowed);
  EXPECT_EQ(d.retry_after, 200'000);
  EXPECT_EQ(store.stats().keys, 1u);
}

TEST(MemoryStore, MultiCheckIsAllOrNothingAcrossShards) {
  MemoryStore store({.shards = 64});
  // Distinct keys almost surely land in different shards.
  const std::vector<Check> checks{{&kPerSecond, "s:user:1"}, {&kPerMinute, "m:user:1"}, {&kPerHour, "h:user:1"}};
  std::vector<Decision> each(3);
  for (int i = 0; i < 5; ++i) ASSERT_TRUE(store.decide(checks, 1, kT0 + i, each).allowed);
  // The per-second bucket is empty: the decision is denied and nobody is charged.
  const Decision denied = store.decide(checks, 1, kT0 + 10, each);
  EXPECT_FALSE(denied.allowed);
  EXPECT_EQ(denied.check_index, 0u);
  EXPECT_FALSE(each[0].allowed);
  EXPECT_TRUE(each[1].allowed);
  EXPECT_TRUE(each[2].allowed);
  const Decision peek = store.peek(checks, kT0 + 10, each);
  EXPECT_EQ(each[1].remaining, 3);
  EXPECT_EQ(each[2].remaining, 95);
  EXPECT_EQ(peek.check_index, 0u);
  // A second later the per-second bucket refilled; the per-minute window has room for 3.
  EXPECT_TRUE(store.decide(checks, 3, kT0 + kMicrosPerSecond, each).allowed);
  const Decision full = store.decide(checks, 1, kT0 + kMicrosPerSecond, each);
  EXPECT_FALSE(full.allowed);
  EXPECT_EQ(full.check_index, 1u);  // the per-minute window limits now
}

TEST(MemoryStore, RejectsBadInputWithClearErrors) {
  MemoryStore store;
  const Check ok{&kPerSecond, "k"};
  auto message = [&](auto&& f) -> std::string {
    try {
      f();
    } catch (const InvalidRequest& e) {
      return e.what();
    }
    return "no error";
  };
  EXPECT_EQ(message([&] { (void)store.decide({}, 1, kT0); }), "a decision needs at least one check");
  EXPECT_NE(message([&] { (void)store.decide_one(ok, -1, kT0); }).find("cost must be 0"), std::string::npos);
  EXPECT_NE(message([&] { (void)store.decide_one({&kPerSecond, ""}, 1, kT0); }).find("empty key"), std::string::npos);
  EXPECT_NE(message([&] { (void)store.decide_one({&kPerSecond, std::string(513, 'x')}, 1, kT0); }).find("513 bytes"),
            std::string::npos);
  EXPECT_NE(message([&] { (void)store.decide_one({nullptr, "k"}, 1, kT0); }).find("no limit spec"), std::string::npos);
  EXPECT_NE(message([&] { (void)store.decide_one(ok, 1, -5); }).find("outside"), std::string::npos);
  const std::vector<Check> dup{{&kPerSecond, "k"}, {&kPerMinute, "k"}};
  EXPECT_NE(message([&] { (void)store.decide(dup, 1, kT0); }).find("same key 'k'"), std::string::npos);
  const std::vector<Check> many(33, ok);
  EXPECT_NE(message([&] { (void)store.decide(many, 1, kT0); }).find("at most 32"), std::string::npos);
  EXPECT_EQ(store.stats().keys, 0u);  // nothing was created by rejected requests
}

TEST(MemoryStore, ResetMakesANewKey) {
  MemoryStore store;
  const Check c{&kPerSecond, "a-key-longer-than-eighteen-bytes"};
  EXPECT_TRUE(store.decide_one(c, 5, kT0).allowed);
  EXPECT_FALSE(store.decide_one(c, 1, kT0).allowed);
  store.reset(std::span<const Check>(&c, 1));
  EXPECT_EQ(store.stats().keys, 0u);
  EXPECT_EQ(store.decide_one(c, 1, kT0).remaining, 4);
}

TEST(MemoryStore, PeekAndDenialOfAbsentKeyCreateNothing) {
  MemoryStore store;
  const Check c{&kPerSecond, "ghost"};
  EXPECT_EQ(store.decide_one(c, 0, kT0).remaining, 5);
  EXPECT_EQ(store.decide_one(c, 6, kT0).retry_after, kInfinite);
  EXPECT_EQ(store.stats().keys, 0u);
}

TEST(MemoryStore, AlgorithmChangeStartsAFreshState) {
  MemoryStore store;
  const LimitSpec window(Algorithm::fixed_window, 5, kMicrosPerSecond);
  EXPECT_TRUE(store.decide_one({&kPerSecond, "k"}, 5, kT0).allowed);
  const Decision d = store.decide_one({&window, "k"}, 1, kT0);
  EXPECT_TRUE(d.allowed);
  EXPECT_EQ(d.remaining, 4);
  EXPECT_EQ(store.stats().keys, 1u);
}

TEST(MemoryStore, ExpiredKeysAreDroppedBySweepAndMemoryFollowsActiveKeys) {
  MemoryStore store({.shards = 4});
  std::vector<std::string> keys;
  for (int i = 0; i < 20'000; ++i) keys.push_back("user:" + std::to_string(i));
  for (const auto& k : keys) ASSERT_TRUE(store.decide_one({&kPerSecond, k}, 1, kT0).allowed);
  EXPECT_EQ(store.stats().keys, 20'000u);
  const std::size_t big = store.memory_bytes();
  EXPECT_EQ(store.sweep(kT0 + 199'999), 0u);  // 1 token refills in 200 ms
  EXPECT_EQ(store.stats().keys, 20'000u);
  EXPECT_EQ(store.sweep(kT0 + 200'000), 20'000u);
  EXPECT_EQ(store.stats().keys, 0u);
  EXPECT_EQ(store.stats().expired_dropped, 20'000u);
  EXPECT_LT(store.memory_bytes() * 20, big);  // tables shrank back
  // Dropped keys behave exactly like new ones.
  EXPECT_EQ(store.decide_one({&kPerSecond, keys[7]}, 1, kT0 + 200'000).remaining, 4);
}

TEST(MemoryStore, ExpiredKeysAreDroppedLazilyWhenTablesGrow) {
  MemoryStore store({.shards = 1});
  for (int i = 0; i < 1000; ++i) ASSERT_TRUE(store.decide_one({&kPerSecond, "old:" + std::to_string(i)}, 1, kT0).allowed);
  const Micros later = kT0 + kMicrosPerSecond;
  for (int i = 0; i < 1000; ++i) ASSERT_TRUE(store.decide_one({&kPerSecond, "new:" + std::to_string(i)}, 1, later).allowed);
  EXPECT_EQ(store.stats().keys + store.stats().expired_dropped, 2000u);
  EXPECT_GE(store.stats().expired_dropped, 1000u);  // every rebuild after `later` drops the old keys
}

// Keys revisited after their states expired are dropped and inserted again
// (an expired state equals an absent key). Rebuilds must stay amortized: a
// shard used to size each rebuilt table for its few live keys, shrink to a
// handful of slots, and rebuild again a dozen inserts later (thousands of
// rebuilds here, each an mmap/munmap).
TEST(MemoryStore, RevisitedExpiringKeysDoNotRebuildTablesOverAndOver) {
  const LimitSpec fast(Algorithm::token_bucket, 1'000'000, kMicrosPerSecond);  // live for 1 µs
  constexpr int kKeys = 2'000;
  constexpr int kRounds = 20;
  struct Case {
    const char* name;
    std::size_t checks;  // per decision; more than one takes the locked path
  };
  for (const Case c : {Case{"single", 1}, Case{"five checks", 5}}) {
    SCOPED_TRACE(c.name);
    MemoryStore store({.shards = 1});
    std::vector<std::string> keys;
    for (int i = 0; i < kKeys; ++i) keys.push_back("user:" + std::to_string(i));
    std::vector<Check> checks(c.checks, Check{&fast, ""});
    Micros now = kT0;
    const std::uint64_t before = memory::table_rebuilds_for_test();
    for (int round = 0; round < kRounds; ++round) {
      for (int i = 0; i + static_cast<int>(c.checks) <= kKeys; i += static_cast<int>(c.checks)) {
        for (std::size_t k = 0; k < c.checks; ++k)
          checks[k].key = keys[static_cast<std::size_t>(i) + k];
        ASSERT_TRUE(store.decide(checks, 1, ++now).allowed);
      }
    }
    // 40,000 key visits, most of them inserts. The table grows (doubling
    // while the shard is busy and its slots are mostly expired, up to
    // memory::kChurnCapacity), then a rebuild every thousand inserts or so.
    // Sized to fit, it was rebuilt every dozen inserts: 3,333 and 3,999 times.
    const std::uint64_t rebuilds = memory::table_rebuilds_for_test() - before;
    EXPECT_LE(rebuilds, static_cast<std::uint64_t>(kKeys * kRounds / 500));
    EXPECT_GE(store.stats().keys + store.stats().expired_dropped, static_cast<std::size_t>(kKeys));
    // Memory still follows live keys: once every state expired, a sweep shrinks the table.
    const std::size_t busy = store.memory_bytes();
    (void)store.sweep(now + 1);
    EXPECT_EQ(store.stats().keys, 0u);
    EXPECT_LT(store.memory_bytes() * 20, busy);
  }
}

// A table that grew during a burst shrinks on later rebuilds once inserts
// are slow (the shard is no longer busy), even without sweep().
TEST(MemoryStore, TableGrownInABurstShrinksWhenInsertsSlowDown) {
  const LimitSpec fast(Algorithm::token_bucket, 1'000'000, kMicrosPerSecond);  // live for 1 µs
  MemoryStore store({.shards = 1});
  Micros now = kT0;
  for (int i = 0; i < 50'000; ++i) {
    ASSERT_TRUE(store.decide_one({&fast, "burst:" + std::to_string(i % 10'000)}, 1, ++now).allowed);
  }
  const std::size_t busy = store.memory_bytes();
  // One new key per second: every rebuild is a quiet one and may halve the table.
  for (int i = 0; i < 50'000; ++i) {
    now += kMicrosPerSecond;
    ASSERT_TRUE(store.decide_one({&fast, "slow:" + std::to_string(i)}, 1, now).allowed);
  }
  EXPECT_LT(store.memory_bytes() * 8, busy);
}

TEST(MemoryStore, MaxKeysEvictsTheSoonestExpiring) {
  MemoryStore store({.shards = 1, .max_keys = 100});
  const LimitSpec slow(Algorithm::token_bucket, 10, kMicrosPerHour);
  for (int i = 0; i < 100; ++i) ASSERT_TRUE(store.decide_one({&slow, "k" + std::to_string(i)}, 1 + i % 5, kT0).allowed);
  EXPECT_EQ(store.stats().keys, 100u);
  for (int i = 0; i < 50; ++i) ASSERT_TRUE(store.decide_one({&slow, "new" + std::to_string(i)}, 1, kT0 + 1).allowed);
  const StoreStats s = store.stats();
  EXPECT_EQ(s.keys, 100u);
  EXPECT_EQ(s.overflow, 50u);
  EXPECT_EQ(s.evicted, 50u);
}

TEST(MemoryStore, MaxKeysRejectPolicyRefusesNewKeysOnly) {
  MemoryStore store({.shards = 1, .max_keys = 10, .overflow = OverflowPolicy::reject_new_keys});
  for (int i = 0; i < 10; ++i) ASSERT_TRUE(store.decide_one({&kPerSecond, "k" + std::to_string(i)}, 1, kT0).allowed);
  const Decision d = store.decide_one({&kPerSecond, "newcomer"}, 1, kT0 + 1);
  EXPECT_FALSE(d.allowed);
  EXPECT_EQ(d.retry_after, 200'000 - 1);  // when the soonest key expires
  EXPECT_TRUE(store.decide_one({&kPerSecond, "k3"}, 1, kT0 + 1).allowed);  // known keys go on
  EXPECT_EQ(store.stats().overflow, 1u);
  EXPECT_EQ(store.stats().evicted, 0u);
  // Once keys expire, a full sweep makes room.
  EXPECT_TRUE(store.decide_one({&kPerSecond, "newcomer"}, 1, kT0 + kMicrosPerSecond).allowed);
}

TEST(MemoryStore, SweeperThreadDropsExpiredKeys) {
  MemoryStore store;
  ManualClock clock(kT0);
  store.start_sweeper(clock, std::chrono::milliseconds(1));
  ASSERT_TRUE(store.decide_one({&kPerSecond, "k"}, 1, kT0).allowed);
  clock.advance(kMicrosPerSecond);
  // The sweeper runs on its own thread: wait for it, bounded by a generous
  // real-time deadline (a loaded CI machine may not schedule it for a while;
  // 10,000 yields were not always enough with ctest -j2 beside Redis tests).
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (store.stats().keys != 0 && std::chrono::steady_clock::now() < deadline) std::this_thread::yield();
  store.stop_sweeper();
  EXPECT_EQ(store.stats().keys, 0u);
}

// Small limits of every algorithm (shaping leaky bucket included), so
// random sequences hit both admissions and denials.
std::vector<LimitSpec> small_limits_of_every_algorithm() {
  return {LimitSpec(Algorithm::token_bucket, 5, 100'000, 7), LimitSpec(Algorithm::gcra, 3, 50'000),
          LimitSpec(Algorithm::leaky_bucket, 4, 80'000, 4, LeakyMode::shape),
          LimitSpec(Algorithm::fixed_window, 6, 70'000), LimitSpec(Algorithm::sliding_window, 9, 90'000),
          LimitSpec(Algorithm::sliding_log, 5, 60'000)};
}

// decide_one_now (the Limiter's path: prefetch, then read the clock) decides
// exactly as decide_one at the clock's instant, errors included.
TEST(MemoryStore, DecideOneNowMatchesDecideOne) {
  const std::vector<LimitSpec> specs = small_limits_of_every_algorithm();
  MemoryStore a;
  MemoryStore b;
  ManualClock clock(kT0);
  std::mt19937_64 rng(7);
  for (int step = 0; step < 5'000; ++step) {
    clock.advance(static_cast<Micros>(rng() % 30'000));
    const std::string key = "k" + std::to_string(rng() % 12);
    const Check c{&specs[rng() % specs.size()], key};
    const std::int64_t cost = static_cast<std::int64_t>(rng() % 4);
    ASSERT_EQ(a.decide_one_now(c, cost, clock), b.decide_one(c, cost, clock.now())) << "step " << step;
  }
  EXPECT_THROW((void)a.decide_one_now({&specs[0], ""}, 1, clock), InvalidRequest);
  EXPECT_THROW((void)a.decide_one_now({&specs[0], "k"}, -1, clock), InvalidRequest);
  EXPECT_THROW((void)a.decide_one_now({nullptr, "k"}, 1, clock), InvalidRequest);
  EXPECT_THROW((void)a.decide_one_now({&specs[0], std::string(Store::kMaxKeyLength + 1, 'x')}, 1, clock),
               InvalidRequest);
}

// Regression: multi-check decisions used to insert their new keys before
// deciding, and their own inserts' sweeps and rebuilds could drop those new
// (already expired) states, so the decision inserted them again, forever.
// Every store draws its own hash seed, so many stores cover many layouts.
TEST(MemoryStore, MultiCheckDecisionsOnNewKeysAlwaysFinish) {
  const std::vector<LimitSpec> specs{LimitSpec(Algorithm::fixed_window, 3, 50'000),
                                     LimitSpec(Algorithm::sliding_window, 3, 50'000),
                                     LimitSpec(Algorithm::sliding_log, 3, 50'000),
                                     LimitSpec(Algorithm::token_bucket, 3, 50'000)};
  for (const std::size_t max_keys : {std::size_t{0}, std::size_t{6}}) {
    for (const OverflowPolicy policy : {OverflowPolicy::evict_soonest_expiring, OverflowPolicy::reject_new_keys}) {
      for (int store_index = 0; store_index < 20; ++store_index) {
        MemoryStore store({.shards = 1, .max_keys = max_keys, .overflow = policy});
        std::mt19937_64 rng(static_cast<std::uint64_t>(store_index));
        Micros now = kT0;
        for (int step = 0; step < 2'000; ++step) {
          now += static_cast<Micros>(rng() % 30'000);
          const std::string a = "a" + std::to_string(rng() % 50);
          const std::string b = "b" + std::to_string(rng() % 50);
          const std::string c = "c" + std::to_string(rng() % 50);
          const std::vector<Check> checks{{&specs[rng() % specs.size()], a},
                                          {&specs[rng() % specs.size()], b},
                                          {&specs[rng() % specs.size()], c}};
          (void)store.decide(checks, 1 + static_cast<std::int64_t>(rng() % 3), now);
          if (max_keys > 0) {
            ASSERT_LE(store.stats().keys, max_keys) << "step " << step;
          }
        }
      }
    }
  }
}

// The lock-free store against the one-mutex oracle, over random operations
// on few keys (so states are revisited, rebuilt and reset often).
TEST(MemoryStore, AgreesWithReferenceStoreOnRandomOperations) {
  const std::vector<LimitSpec> specs = small_limits_of_every_algorithm();
  std::mt19937_64 rng(42);
  MemoryStore store({.shards = 2});
  testing::ReferenceStore ref;
  Micros now = kT0;
  std::vector<std::string> names;
  for (int i = 0; i < 40; ++i) names.push_back("key-" + std::to_string(i) + (i % 3 == 0 ? "-with-a-long-suffix" : ""));
  for (int step = 0; step < 20'000; ++step) {
    now += static_cast<Micros>(rng() % 20'000);
    const std::size_t n = 1 + rng() % 3;
    std::vector<Check> checks;
    std::vector<std::string> used;
    while (checks.size() < n) {
      const std::size_t k = rng() % names.size();
      if (std::find(used.begin(), used.end(), names[k]) != used.end()) continue;
      used.push_back(names[k]);
      checks.push_back({&specs[k % specs.size()], names[k]});
      // Sometimes a cost of its own (Check::cost), charged instead of the decision's.
      if (rng() % 4 == 0) checks.back().cost = static_cast<std::int64_t>(rng() % 5);
    }
    if (rng() % 50 == 0) {
      store.reset(checks);
      ref.reset(checks);
      continue;
    }
    if (rng() % 200 == 0) store.sweep(now);
    const std::int64_t cost = static_cast<std::int64_t>(rng() % 5);
    std::vector<Decision> a(n), b(n);
    const Decision da = store.decide(checks, cost, now, a);
    const Decision db = ref.decide(checks, cost, now, b);
    ASSERT_EQ(da, db) << "step " << step;
    ASSERT_EQ(a, b) << "step " << step;
  }
}

}  // namespace
}  // namespace ratelimit

namespace ratelimit {
namespace {

// A limit of a million units per µs: one unit is a deficit of 1e-6 µs, inside
// the rounding tolerance of reported durations. The state must still live
// (and count) until it is full again; a sweep must not drop it early.
TEST(MemoryStore, TinyChargesAtHugeRatesAreKept) {
  MemoryStore store;
  for (const Algorithm a : {Algorithm::token_bucket, Algorithm::gcra, Algorithm::leaky_bucket}) {
    const LimitSpec spec(a, 1'000'000, 1);
    const Micros t = 1'800'000'000'000'000;
    for (std::int64_t i = 1; i <= 3; ++i) {
      EXPECT_EQ(store.sweep(t), 0u) << to_string(a);
      const Decision d = store.decide_one(Check{&spec, "fast"}, 1, t);
      EXPECT_TRUE(d.allowed);
      EXPECT_EQ(d.remaining, 1'000'000 - i) << to_string(a);
    }
    store.reset(std::array{Check{&spec, "fast"}});
  }
}

}  // namespace
}  // namespace ratelimit

namespace ratelimit {
namespace {

// Check::cost: one decision charging a cost-unit budget and a per-request
// limit different amounts (tests/support/check_cost_cases.hpp), on one shard
// and spread over many, and on the reference store the property tests trust.
TEST(MemoryStore, EachCheckIsChargedItsOwnCost) {
  for (const std::size_t shards : {std::size_t{1}, std::size_t{64}}) {
    SCOPED_TRACE("shards " + std::to_string(shards));
    MemoryStore store({.shards = shards});
    testing::expect_per_check_costs(store, kT0, "");
  }
  testing::ReferenceStore reference;
  testing::expect_per_check_costs(reference, kT0, "");
}

TEST(MemoryStore, InvalidCheckCostsAreRejectedAndChangeNothing) {
  MemoryStore store;
  testing::expect_invalid_check_costs_rejected(store, kT0, "");
  EXPECT_EQ(store.stats().keys, 2u);
  const LimitSpec spec(Algorithm::gcra, 10, kMicrosPerSecond);
  const std::array many{Check{&spec, "m1"}, Check{&spec, "m2", -2}};
  std::array<Decision, 2> out;
  EXPECT_THROW(store.decide_many(many, 1, kT0, out), InvalidRequest);
  EXPECT_EQ(store.stats().keys, 2u);
}

TEST(MemoryStore, DecideManyChargesEachCheckItsOwnCost) {
  MemoryStore store;
  for (const Algorithm a : testing::kEveryAlgorithm) {
    const LimitSpec spec(a, 10, kMicrosPerSecond);
    const std::string name(to_string(a));
    const std::string k1 = name + ":1";
    const std::string k2 = name + ":2";
    const std::string k3 = name + ":3";
    const std::array checks{Check{&spec, k1, 2}, Check{&spec, k2}, Check{&spec, k1, 0},
                            Check{&spec, k3, 11}};
    std::array<Decision, 4> out;
    store.decide_many(checks, 5, kT0, out);
    EXPECT_EQ(out[0].remaining, 8) << name;
    EXPECT_EQ(out[1].remaining, 5) << name;
    EXPECT_TRUE(out[2].allowed) << name;
    EXPECT_EQ(out[2].remaining, 8) << name;
    EXPECT_EQ(out[3].retry_after, kInfinite) << name;
  }
}

// A check charged 0 is evaluated like a peek: an absent key stays absent,
// whichever path decides it.
TEST(MemoryStore, ChecksChargedNothingCreateNoKeys) {
  for (const Algorithm a : testing::kEveryAlgorithm) {
    MemoryStore store({.shards = 64});
    const LimitSpec spec(a, 10, kMicrosPerSecond);
    const std::array checks{Check{&spec, "charged"}, Check{&spec, "free", 0},
                            Check{&spec, "free-too", 0}};
    std::array<Decision, 3> each;
    EXPECT_TRUE(store.decide(checks, 4, kT0, each).allowed) << to_string(a);
    EXPECT_EQ(each[0].remaining, 6) << to_string(a);
    EXPECT_EQ(each[1].remaining, 10) << to_string(a);
    EXPECT_TRUE(store.decide_one(checks[1], 4, kT0).allowed) << to_string(a);
    EXPECT_EQ(store.stats().keys, 1u) << to_string(a);
  }
}

}  // namespace
}  // namespace ratelimit
