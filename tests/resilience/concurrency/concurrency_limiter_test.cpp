// ConcurrencyLimiter: leases, the live limit, statistics and the waiting
// acquire (on a ManualClock; "waiting" moves the clock, never sleeps).

#include "ratelimit/resilience/concurrency_limiter.hpp"

#include <gtest/gtest.h>

#include <functional>
#include <memory>
#include <stdexcept>
#include <type_traits>
#include <utility>
#include <vector>

#include "ratelimit/resilience/sleeper.hpp"

namespace ratelimit {
namespace {

using Lease = ConcurrencyLimiter::Lease;

static_assert(!std::is_copy_constructible_v<Lease>);
static_assert(std::is_nothrow_move_constructible_v<Lease>);
static_assert(std::is_nothrow_move_assignable_v<Lease>);

TEST(ConcurrencyLimiterTest, AtMostLimitLeasesAreOut) {
  ConcurrencyLimiter limiter(2);
  Lease a = limiter.try_acquire();
  Lease b = limiter.try_acquire();
  Lease c = limiter.try_acquire();
  EXPECT_TRUE(a);
  EXPECT_TRUE(b.held());
  EXPECT_FALSE(c);
  EXPECT_EQ(limiter.in_flight(), 2);
  EXPECT_EQ(limiter.stats(), (ConcurrencyLimiter::Stats{2, 1, 2}));
}

TEST(ConcurrencyLimiterTest, DestructionAndReleaseGiveTheSlotBack) {
  ConcurrencyLimiter limiter(1);
  {
    Lease a = limiter.try_acquire();
    ASSERT_TRUE(a);
    EXPECT_FALSE(limiter.try_acquire());
  }
  EXPECT_EQ(limiter.in_flight(), 0);
  Lease b = limiter.try_acquire();
  ASSERT_TRUE(b);
  b.release();
  EXPECT_FALSE(b);
  EXPECT_EQ(limiter.in_flight(), 0);
  b.release();  // twice: nothing more is given back
  EXPECT_EQ(limiter.in_flight(), 0);
  Lease empty = limiter.try_acquire();
  Lease refused = limiter.try_acquire();
  EXPECT_TRUE(empty);
  EXPECT_FALSE(refused);
  refused.release();  // an empty lease releases nothing
  EXPECT_EQ(limiter.in_flight(), 1);
}

TEST(ConcurrencyLimiterTest, MovingALeaseMovesItsSlot) {
  ConcurrencyLimiter limiter(2);
  Lease a = limiter.try_acquire();
  Lease moved(std::move(a));
  EXPECT_FALSE(a);  // NOLINT(bugprone-use-after-move): moved-from is empty by contract
  EXPECT_TRUE(moved);
  EXPECT_EQ(limiter.in_flight(), 1);
  Lease b = limiter.try_acquire();
  ASSERT_EQ(limiter.in_flight(), 2);
  moved = std::move(b);  // moved's own slot is given back first
  EXPECT_EQ(limiter.in_flight(), 1);
  EXPECT_TRUE(moved);
  std::vector<Lease> held;
  held.push_back(std::move(moved));
  held.push_back(limiter.try_acquire());
  EXPECT_EQ(limiter.in_flight(), 2);
  held.clear();
  EXPECT_EQ(limiter.in_flight(), 0);
}

TEST(ConcurrencyLimiterTest, LoweringTheLimitRevokesNothingAndRefusesUntilBelow) {
  ConcurrencyLimiter limiter(4);
  std::vector<Lease> held;
  for (int i = 0; i < 4; ++i) held.push_back(limiter.try_acquire());
  limiter.set_limit(2);
  EXPECT_EQ(limiter.limit(), 2);
  EXPECT_EQ(limiter.in_flight(), 4) << "leases out are kept";
  for (const Lease& l : held) EXPECT_TRUE(l);
  held.pop_back();  // 3 out
  EXPECT_FALSE(limiter.try_acquire());
  held.pop_back();  // 2 out: still at the limit
  EXPECT_FALSE(limiter.try_acquire());
  held.pop_back();  // 1 out: below
  EXPECT_TRUE(limiter.try_acquire());
  limiter.set_limit(3);  // raising admits at once
  Lease x = limiter.try_acquire();
  Lease y = limiter.try_acquire();
  EXPECT_TRUE(x);
  EXPECT_TRUE(y);
  EXPECT_FALSE(limiter.try_acquire());
  EXPECT_EQ(limiter.stats().peak_in_flight, 4);
}

TEST(ConcurrencyLimiterTest, StatsCountAcquiredRejectedAndPeak) {
  ConcurrencyLimiter limiter(3);
  for (int round = 0; round < 5; ++round) {
    Lease a = limiter.try_acquire();
    Lease b = limiter.try_acquire();
  }
  EXPECT_EQ(limiter.stats(), (ConcurrencyLimiter::Stats{10, 0, 2}));
  std::vector<Lease> held;
  for (int i = 0; i < 5; ++i) held.push_back(limiter.try_acquire());
  EXPECT_EQ(limiter.stats(), (ConcurrencyLimiter::Stats{13, 2, 3}));
}

TEST(ConcurrencyLimiterTest, BadLimitsThrowNamingTheValue) {
  for (const std::int64_t bad :
       {std::int64_t{0}, std::int64_t{-1}, ConcurrencyLimiter::kMaxLimit + 1}) {
    try {
      ConcurrencyLimiter limiter(bad);
      ADD_FAILURE() << "limit " << bad << " accepted";
    } catch (const std::invalid_argument& e) {
      EXPECT_NE(std::string(e.what()).find("limit must be in 1 .. "), std::string::npos)
          << e.what();
      EXPECT_NE(std::string(e.what()).find("got " + std::to_string(bad)), std::string::npos)
          << e.what();
    }
  }
  ConcurrencyLimiter limiter(1);
  EXPECT_THROW(limiter.set_limit(0), std::invalid_argument);
  EXPECT_EQ(limiter.limit(), 1) << "a refused set_limit changes nothing";
  EXPECT_NO_THROW(limiter.set_limit(ConcurrencyLimiter::kMaxLimit));
}

TEST(ConcurrencyLimiterTest, ClockAndSleeperComeTogether) {
  auto clock = std::make_shared<ManualClock>();
  auto sleeper = std::make_shared<ManualSleeper>(*clock);
  EXPECT_THROW(ConcurrencyLimiter(1, clock, nullptr), std::invalid_argument);
  EXPECT_THROW(ConcurrencyLimiter(1, nullptr, sleeper), std::invalid_argument);
  EXPECT_NO_THROW(ConcurrencyLimiter(1, clock, sleeper));
  EXPECT_NO_THROW(ConcurrencyLimiter(1));
}

// A ManualSleeper that runs a callback at every wake-up, so a test can
// release a lease "while" acquire waits.
class ScriptedSleeper final : public Sleeper {
 public:
  explicit ScriptedSleeper(ManualClock& clock) : inner_(clock) {}
  void sleep_until(Micros deadline) override {
    inner_.sleep_until(deadline);
    wakes.push_back(deadline);
    if (on_wake) on_wake(deadline);
  }
  std::function<void(Micros)> on_wake;
  std::vector<Micros> wakes;

 private:
  ManualSleeper inner_;
};

struct ConcurrencyLimiterWaitTest : ::testing::Test {
  std::shared_ptr<ManualClock> clock = std::make_shared<ManualClock>(1'000'000);
  std::shared_ptr<ScriptedSleeper> sleeper = std::make_shared<ScriptedSleeper>(*clock);
  ConcurrencyLimiter limiter{1, clock, sleeper};
};

TEST_F(ConcurrencyLimiterWaitTest, FreeSlotIsTakenWithoutWaiting) {
  Lease a = limiter.acquire(10'000);
  EXPECT_TRUE(a);
  EXPECT_TRUE(sleeper->wakes.empty());
  EXPECT_EQ(clock->now(), 1'000'000);
}

TEST_F(ConcurrencyLimiterWaitTest, GivesUpExactlyAtTheTimeout) {
  Lease held = limiter.try_acquire();
  Lease b = limiter.acquire(2'500, 1'000);
  EXPECT_FALSE(b);
  EXPECT_EQ(sleeper->wakes, (std::vector<Micros>{1'001'000, 1'002'000, 1'002'500}));
  EXPECT_EQ(clock->now(), 1'002'500);
  EXPECT_EQ(limiter.stats().rejected, 1u) << "one refusal, not one per look";
  Lease c = limiter.acquire(0);
  EXPECT_FALSE(c) << "timeout 0: one look";
  EXPECT_EQ(clock->now(), 1'002'500);
}

TEST_F(ConcurrencyLimiterWaitTest, TakesASlotFreedWhileWaiting) {
  Lease held = limiter.try_acquire();
  sleeper->on_wake = [&](Micros at) {
    if (at >= 1'003'000) held.release();
  };
  Lease b = limiter.acquire(10'000, 1'000);
  EXPECT_TRUE(b);
  EXPECT_EQ(clock->now(), 1'003'000) << "seen at the first look after the release";
  EXPECT_EQ(sleeper->wakes.size(), 3u);
  EXPECT_EQ(limiter.stats(), (ConcurrencyLimiter::Stats{2, 0, 1}));
}

TEST_F(ConcurrencyLimiterWaitTest, BadWaitArgumentsThrow) {
  EXPECT_THROW((void)limiter.acquire(-1), std::invalid_argument);
  EXPECT_THROW((void)limiter.acquire(10, 0), std::invalid_argument);
  EXPECT_EQ(limiter.in_flight(), 0);
}

}  // namespace
}  // namespace ratelimit
