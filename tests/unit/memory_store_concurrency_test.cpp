// Many threads on the memory store: no lost update, no over-admission, and
// multi-check decisions stay all-or-nothing while tables rebuild and sweep.
// Runs under ThreadSanitizer in CI (label "concurrency").
#include <gtest/gtest.h>

#include <atomic>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "ratelimit/memory_store.hpp"

namespace ratelimit {
namespace {

constexpr Micros kT0 = 1'700'000'000'000'000;

unsigned thread_count() { return std::max(4u, std::thread::hardware_concurrency()); }

template <class F>
void run_threads(unsigned n, F&& body) {
  std::vector<std::thread> threads;
  std::atomic<bool> go{false};
  for (unsigned t = 0; t < n; ++t) {
    threads.emplace_back([&, t] {
      while (!go.load(std::memory_order_acquire)) std::this_thread::yield();
      body(t);
    });
  }
  go.store(true, std::memory_order_release);
  for (auto& th : threads) th.join();
}

// Sweeps `store` in a loop on its own thread (at `now()`) until destroyed.
class BackgroundSweeper {
 public:
  template <typename Now>
  BackgroundSweeper(MemoryStore& store, Now now)
      : thread_([this, &store, now] {
          while (!done_.load()) {
            store.sweep(now());
            std::this_thread::yield();
          }
        }) {}
  ~BackgroundSweeper() {
    done_ = true;
    thread_.join();
  }
  BackgroundSweeper(const BackgroundSweeper&) = delete;
  BackgroundSweeper& operator=(const BackgroundSweeper&) = delete;

 private:
  std::atomic<bool> done_{false};
  std::thread thread_;
};

class HotKey : public ::testing::TestWithParam<Algorithm> {};

// With time frozen, exactly `limit` units are admitted however many threads race.
TEST_P(HotKey, AdmitsExactlyTheLimit) {
  const LimitSpec spec(GetParam(), 1000, kMicrosPerMinute);
  MemoryStore store;
  std::atomic<std::int64_t> admitted{0};
  run_threads(thread_count(), [&](unsigned) {
    for (int i = 0; i < 1000; ++i) {
      if (store.decide_one({&spec, "hot"}, 1, kT0).allowed) admitted.fetch_add(1);
    }
  });
  EXPECT_EQ(admitted.load(), 1000);
  EXPECT_EQ(store.decide_one({&spec, "hot"}, 0, kT0).remaining, 0);
}

INSTANTIATE_TEST_SUITE_P(AllAlgorithms, HotKey,
                         ::testing::Values(Algorithm::token_bucket, Algorithm::gcra,
                                           Algorithm::leaky_bucket, Algorithm::fixed_window,
                                           Algorithm::sliding_window, Algorithm::sliding_log),
                         [](const auto& param_info) {
                           return std::string(to_string(param_info.param));
                         });

// Pairs (A,B), singles A and singles B race; every admission is visible in
// exactly the states it charged.
TEST(Concurrency, MultiCheckStaysAtomicAgainstSingles) {
  const LimitSpec a_spec(Algorithm::token_bucket, 500, kMicrosPerHour);
  const LimitSpec b_spec(Algorithm::fixed_window, 700, kMicrosPerHour);
  MemoryStore store;
  std::atomic<std::int64_t> pairs{0}, singles_a{0}, singles_b{0};
  run_threads(thread_count(), [&](unsigned t) {
    const std::vector<Check> ab{{&a_spec, "A"}, {&b_spec, "B"}};
    const std::vector<Check> ba{{&b_spec, "B"}, {&a_spec, "A"}};
    for (int i = 0; i < 600; ++i) {
      switch ((t + static_cast<unsigned>(i)) % 4) {
        case 0:
          pairs += store.decide(ab, 1, kT0).allowed ? 1 : 0;
          break;
        case 1:
          pairs += store.decide(ba, 1, kT0).allowed ? 1 : 0;
          break;
        case 2:
          singles_a += store.decide_one({&a_spec, "A"}, 1, kT0).allowed ? 1 : 0;
          break;
        default:
          singles_b += store.decide_one({&b_spec, "B"}, 1, kT0).allowed ? 1 : 0;
          break;
      }
    }
  });
  const std::int64_t used_a = 500 - store.decide_one({&a_spec, "A"}, 0, kT0).remaining;
  const std::int64_t used_b = 700 - store.decide_one({&b_spec, "B"}, 0, kT0).remaining;
  EXPECT_EQ(used_a, pairs + singles_a);
  EXPECT_EQ(used_b, pairs + singles_b);
  EXPECT_LE(used_a, 500);
  EXPECT_LE(used_b, 700);
}

// Keys keep arriving (tables grow and rebuild), a sweeper drops expired ones
// and resets race with decisions; a set of watched keys stays exact.
TEST(Concurrency, ExactWhileTablesRebuildAndSweep) {
  const LimitSpec watched(Algorithm::gcra, 50, kMicrosPerHour);
  const LimitSpec churn(Algorithm::token_bucket, 1, kMicrosPerSecond);
  MemoryStore store({.shards = 4});
  ManualClock clock(kT0);
  std::optional<BackgroundSweeper> sweeper(std::in_place, store, [&clock] { return clock.now(); });
  std::atomic<std::int64_t> admitted[8] = {};
  const unsigned n = thread_count();
  run_threads(n, [&](unsigned t) {
    for (int i = 0; i < 3000; ++i) {
      const std::string key = "w" + std::to_string(i % 8);
      if (store.decide_one({&watched, key}, 1, kT0).allowed) admitted[i % 8].fetch_add(1);
      const std::string fresh = "churn:" + std::to_string(t) + ":" + std::to_string(i);
      (void)store.decide_one({&churn, fresh}, 1, clock.now());
      if (i % 100 == 0) {
        const Check c{&churn, fresh};
        store.reset(std::span<const Check>(&c, 1));
        clock.advance(kMicrosPerSecond);  // churn keys expire; watched ones do not
      }
    }
  });
  sweeper.reset();  // stop sweeping before the counts are read
  for (int k = 0; k < 8; ++k) {
    EXPECT_EQ(admitted[k].load(), 50) << "w" << k;
    EXPECT_EQ(store.decide_one({&watched, "w" + std::to_string(k)}, 0, kT0).remaining, 0);
  }
}

// Multi-check decisions whose keys do not exist yet race to create them
// while other threads grow the same shards (rebuilds) and a sweeper runs:
// each entity admits exactly its tightest limit, and nothing hangs.
TEST(Concurrency, MultiCheckOnNewKeysIsExactWhileShardsGrow) {
  const LimitSpec per_a(Algorithm::token_bucket, 9, kMicrosPerHour);
  const LimitSpec per_b(Algorithm::fixed_window, 7, kMicrosPerHour);
  const LimitSpec per_c(Algorithm::sliding_log, 5, kMicrosPerHour);
  const LimitSpec churn(Algorithm::sliding_window, 1, kMicrosPerSecond);
  constexpr int kEntities = 64;
  MemoryStore store({.shards = 2});
  std::optional<BackgroundSweeper> sweeper(std::in_place, store, [] { return kT0; });
  std::atomic<std::int64_t> admitted[kEntities] = {};
  run_threads(thread_count(), [&](unsigned t) {
    for (int round = 0; round < 8; ++round) {
      for (int e = 0; e < kEntities; ++e) {
        const std::string id = std::to_string(e);
        const std::string ka = "a:" + id, kb = "b:" + id, kc = "c:" + id;
        const std::vector<Check> checks{{&per_a, ka}, {&per_b, kb}, {&per_c, kc}};
        if (store.decide(checks, 1, kT0).allowed) admitted[e].fetch_add(1);
        const std::string fresh =
            "churn:" + std::to_string(t) + ":" + std::to_string(round) + ":" + id;
        (void)store.decide_one({&churn, fresh}, 1, kT0);
      }
    }
  });
  sweeper.reset();  // stop sweeping before the counts are read
  for (int e = 0; e < kEntities; ++e) EXPECT_EQ(admitted[e].load(), 5) << "entity " << e;
}

// Keys revisited after their states expired are dropped and inserted again
// (single checks lock-free, five-check decisions locked), so shards rebuild
// over and over, doubling while busy and halving after quiet spells, while a
// sweeper compacts them. Every five-check decision also charges a watched
// key, which stays exact: all-or-none across rebuilds.
TEST(Concurrency, ExactWhileExpiringKeysChurnTables) {
  const LimitSpec watched(Algorithm::token_bucket, 50, kMicrosPerHour);
  const LimitSpec fast(Algorithm::token_bucket, 1'000'000, kMicrosPerSecond);  // live for 1 µs
  constexpr int kUsers = 500;
  MemoryStore store({.shards = 2});
  ManualClock clock(kT0);
  std::optional<BackgroundSweeper> sweeper(std::in_place, store, [&clock] { return clock.now(); });
  std::atomic<std::int64_t> admitted[8] = {};
  run_threads(thread_count(), [&](unsigned t) {
    std::vector<std::string> keys(4);
    for (int i = 0; i < 2000; ++i) {
      const int user = (i * 7 + static_cast<int>(t) * 131) % kUsers;
      const std::string id = std::to_string(user);
      const std::string w = "w" + std::to_string(i % 8);
      for (std::size_t k = 0; k < keys.size(); ++k)
        keys[k] = std::string(1, static_cast<char>('a' + k)) + ":" + id;
      const std::vector<Check> checks{
          {&watched, w}, {&fast, keys[0]}, {&fast, keys[1]}, {&fast, keys[2]}, {&fast, keys[3]}};
      if (store.decide(checks, 1, clock.now()).allowed) admitted[i % 8].fetch_add(1);
      (void)store.decide_one({&fast, "s:" + id}, 1, clock.now());
      clock.advance(1);
      if (i % 500 == 499) clock.advance(200 * kMicrosPerMilli);  // a quiet spell
    }
  });
  sweeper.reset();  // stop sweeping before the counts are read
  // At most a few seconds passed: the watched buckets (50 per hour) refilled less than one unit.
  for (int k = 0; k < 8; ++k) EXPECT_EQ(admitted[k].load(), 50) << "w" << k;
}

TEST(Concurrency, BatchDecisionsMatchSingles) {
  const LimitSpec spec(Algorithm::sliding_window, 3, kMicrosPerMinute);
  MemoryStore store;
  std::vector<std::string> keys;
  for (int i = 0; i < 256; ++i) keys.push_back("b" + std::to_string(i));
  std::atomic<std::int64_t> admitted{0};
  run_threads(thread_count(), [&](unsigned) {
    std::vector<Check> checks;
    for (const auto& k : keys) checks.push_back({&spec, k});
    std::vector<Decision> out(checks.size());
    for (int round = 0; round < 5; ++round) {
      store.decide_many(checks, 1, kT0, out);
      for (const auto& d : out) admitted += d.allowed ? 1 : 0;
    }
  });
  EXPECT_EQ(admitted.load(), 3 * 256);
}

// Check::cost under contention: pairs charge a cost-unit budget A the
// decision's 5 and a per-request limit B their own 1 (a third check, C,
// charged 0, must never be created); singles charge A their own 2 and B 1.
// Every admission is visible in exactly the units it charged.
TEST(Concurrency, PerCheckCostsStayExactAndAtomic) {
  for (const Algorithm a : {Algorithm::fixed_window, Algorithm::gcra, Algorithm::sliding_log}) {
    const LimitSpec budget(a, 2000, kMicrosPerHour);
    const LimitSpec per_request(Algorithm::token_bucket, 300, kMicrosPerHour);
    MemoryStore store({.shards = 64});
    std::atomic<std::int64_t> pairs{0}, singles_a{0}, singles_b{0};
    run_threads(thread_count(), [&](unsigned t) {
      const std::vector<Check> abc{{&budget, "A"}, {&per_request, "B", 1}, {&per_request, "C", 0}};
      const Check a2{&budget, "A", 2};
      const Check b1{&per_request, "B", 1};
      for (int i = 0; i < 400; ++i) {
        switch ((t + static_cast<unsigned>(i)) % 3) {
          case 0:
            pairs += store.decide(abc, 5, kT0).allowed ? 1 : 0;
            break;
          case 1:
            singles_a += store.decide_one(a2, 7, kT0).allowed ? 1 : 0;
            break;
          default:
            singles_b += store.decide_one(b1, 3, kT0).allowed ? 1 : 0;
            break;
        }
      }
    });
    const std::int64_t used_a = 2000 - store.decide_one({&budget, "A"}, 0, kT0).remaining;
    const std::int64_t used_b = 300 - store.decide_one({&per_request, "B"}, 0, kT0).remaining;
    EXPECT_EQ(used_a, 5 * pairs + 2 * singles_a) << to_string(a);
    EXPECT_EQ(used_b, pairs + singles_b) << to_string(a);
    EXPECT_LE(used_a, 2000) << to_string(a);
    EXPECT_LE(used_b, 300) << to_string(a);
    EXPECT_EQ(store.stats().keys, 2u) << "a check charged 0 created its key; " << to_string(a);
  }
}

}  // namespace
}  // namespace ratelimit
