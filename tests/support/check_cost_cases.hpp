#pragma once
// Per-check costs (Check::cost), as every Store must decide them: a tier
// budget that counts cost units and a per-IP limit that counts requests, in
// one atomic decision. Shared by the memory store and Redis store tests.

#include <gtest/gtest.h>

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "ratelimit/store.hpp"

namespace ratelimit::testing {

inline constexpr std::array kEveryAlgorithm{Algorithm::token_bucket,   Algorithm::gcra,
                                            Algorithm::leaky_bucket,   Algorithm::fixed_window,
                                            Algorithm::sliding_window, Algorithm::sliding_log};

/// One decision of the scenario, in order, all at one instant: the costs,
/// then what it must report and leave behind. Check 0 is the budget (100 per
/// minute), check 1 the per-IP limit (20 per minute).
struct CheckCostRow {
  std::int64_t cost;                  ///< the decision's
  std::array<std::int64_t, 2> check;  ///< Check::cost of each check
  bool allowed;                       ///< combined
  std::array<bool, 2> each_allowed;   ///< each check's own decision
  std::array<bool, 2> never;          ///< retry_after == kInfinite
  std::array<std::int64_t, 2> left;   ///< remaining of each, peeked afterwards
};

inline constexpr std::int64_t kOwn = Check::kDecisionCost;

inline const std::vector<CheckCostRow> kCheckCostRows{
    // cost  check costs      allowed  each allowed    never           left
    {10, {kOwn, 1}, true, {true, true}, {false, false}, {90, 19}},     // each its own: -10, -1
    {10, {kOwn, 20}, false, {true, false}, {false, false}, {90, 19}},  // per-IP denies: neither
    {95, {kOwn, 1}, false, {false, true}, {false, false}, {90, 19}},   // budget denies: neither
    {10, {kOwn, 21}, false, {true, false}, {false, true}, {90, 19}},   // 21 > 20: never
    {101, {kOwn, 1}, false, {false, true}, {true, false}, {90, 19}},   // 101 > 100: never
    {0, {50, 21}, true, {true, true}, {false, false}, {90, 19}},       // a peek charges nothing
    {10, {0, kOwn}, true, {true, true}, {false, false}, {90, 9}},      // budget charged 0
    {9, {5, kOwn}, true, {true, true}, {false, false}, {85, 0}},       // -5, -9
    {1, {kOwn, 0}, true, {true, true}, {false, false}, {84, 0}},       // a full limit charged 0
    {1, {kOwn, kOwn}, false, {true, false}, {false, false}, {84, 0}},  // now it denies
};

/// Runs kCheckCostRows against `store` for every algorithm at `now` (fresh
/// keys under `prefix`), then the single-check paths with a check cost.
inline void expect_per_check_costs(Store& store, Micros now, const std::string& prefix) {
  for (const Algorithm a : kEveryAlgorithm) {
    SCOPED_TRACE(std::string(to_string(a)));
    const LimitSpec budget(a, 100, kMicrosPerMinute);
    const LimitSpec per_ip(a, 20, kMicrosPerMinute);
    const std::string budget_key = prefix + "{t}:budget:" + std::string(to_string(a));
    const std::string ip_key = prefix + "{t}:ip:" + std::string(to_string(a));
    for (std::size_t row = 0; row < kCheckCostRows.size(); ++row) {
      const CheckCostRow& r = kCheckCostRows[row];
      SCOPED_TRACE("row " + std::to_string(row));
      const std::array checks{Check{&budget, budget_key, r.check[0]},
                              Check{&per_ip, ip_key, r.check[1]}};
      std::array<Decision, 2> each;
      const Decision d = store.decide(checks, r.cost, now, each);
      EXPECT_EQ(d.allowed, r.allowed);
      for (std::size_t i = 0; i < 2; ++i) {
        EXPECT_EQ(each[i].allowed, r.each_allowed[i]) << "check " << i;
        EXPECT_EQ(each[i].retry_after == kInfinite, r.never[i]) << "check " << i;
        if (!each[i].allowed) {
          EXPECT_GT(each[i].retry_after, 0) << "check " << i;
        }
        if (r.allowed) {
          EXPECT_EQ(each[i].remaining, r.left[i]) << "check " << i;
        }
      }
      if (!r.allowed) {
        const std::uint32_t denier = r.each_allowed[0] ? 1u : 0u;
        EXPECT_EQ(d.check_index, denier);
        EXPECT_EQ(d.retry_after == kInfinite, r.never[denier]);
      }
      std::array<Decision, 2> peeked;
      (void)store.peek(checks, now, peeked);
      EXPECT_EQ(peeked[0].remaining, r.left[0]);
      EXPECT_EQ(peeked[1].remaining, r.left[1]);
    }

    // One check (MemoryStore's lock-free path): its own cost, not the decision's.
    const std::string solo_key = prefix + "solo:" + std::string(to_string(a));
    const Check three{&per_ip, solo_key, 3};
    Decision one = store.decide_one(three, 1, now);
    EXPECT_TRUE(one.allowed);
    EXPECT_EQ(one.remaining, 17);
    EXPECT_EQ(store.decide_one(three, 0, now).remaining, 17);  // a peek charges nothing
    const ManualClock clock(now);
    EXPECT_EQ(store.decide_one_now(three, 5, clock).remaining, 14);
    const Check zero{&per_ip, three.key, 0};
    one = store.decide_one(zero, 5, now);
    EXPECT_TRUE(one.allowed);
    EXPECT_EQ(one.remaining, 14);
    const Check too_much{&per_ip, three.key, 21};
    one = store.decide_one(too_much, 1, now);
    EXPECT_FALSE(one.allowed);
    EXPECT_EQ(one.retry_after, kInfinite);
    EXPECT_EQ(store.decide_one(three, 0, now).remaining, 14);
  }
}

/// Check costs other than kDecisionCost or 0 .. kMaxLimit are InvalidRequest
/// naming the check and the value, and change nothing (peeked at `now`).
inline void expect_invalid_check_costs_rejected(Store& store, Micros now,
                                                const std::string& prefix) {
  const LimitSpec spec(Algorithm::fixed_window, 100, kMicrosPerMinute);
  const std::string a = prefix + "{bad}:a";
  const std::string b = prefix + "{bad}:b";
  const std::array charged{Check{&spec, a}, Check{&spec, b, 1}};
  ASSERT_TRUE(store.decide(charged, 10, now).allowed);
  for (const std::int64_t bad : {std::int64_t{-2}, std::int64_t{-1000}, LimitSpec::kMaxLimit + 1}) {
    SCOPED_TRACE("check cost " + std::to_string(bad));
    const std::array checks{Check{&spec, a}, Check{&spec, b, bad}};
    for (const std::int64_t cost : {std::int64_t{0}, std::int64_t{1}}) {
      try {
        (void)store.decide(checks, cost, now);
        ADD_FAILURE() << "no InvalidRequest for decision cost " << cost;
      } catch (const InvalidRequest& e) {
        const std::string what = e.what();
        EXPECT_NE(what.find("check 1"), std::string::npos) << what;
        EXPECT_NE(what.find(std::to_string(bad)), std::string::npos) << what;
      }
    }
    EXPECT_THROW((void)store.decide_one(checks[1], 1, now), InvalidRequest);
    const ManualClock clock(now);
    EXPECT_THROW((void)store.decide_one_now(checks[1], 1, clock), InvalidRequest);
  }
  // The bounds themselves are valid.
  const std::array bounds{Check{&spec, a, LimitSpec::kMaxLimit}, Check{&spec, b, 0}};
  std::array<Decision, 2> each;
  EXPECT_FALSE(store.decide(bounds, 1, now, each).allowed);
  EXPECT_EQ(each[0].retry_after, kInfinite);
  (void)store.peek(charged, now, each);
  EXPECT_EQ(each[0].remaining, 90);
  EXPECT_EQ(each[1].remaining, 99);
}

}  // namespace ratelimit::testing
