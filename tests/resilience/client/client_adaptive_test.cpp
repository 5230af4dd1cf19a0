#include <gtest/gtest.h>

#include <limits>
#include <memory>
#include <stdexcept>
#include <string>

#include "ratelimit/resilience/adaptive_client.hpp"

namespace ratelimit {
namespace {

constexpr Micros kSec = kMicrosPerSecond;
constexpr Micros kNow = 1'795'456'800 * kSec;  // Mon, 23 Nov 2026 18:00:00 GMT

struct ClientAdaptiveTest : ::testing::Test {
  std::shared_ptr<ManualClock> clock = std::make_shared<ManualClock>(kNow);
  std::shared_ptr<ManualSleeper> sleeper = std::make_shared<ManualSleeper>(*clock);

  std::unique_ptr<AdaptiveClient> make(AdaptiveClientOptions o) {
    return std::make_unique<AdaptiveClient>(o, clock, sleeper);
  }
};

TEST_F(ClientAdaptiveTest, A429HalvesTheRateDownToMinRate) {
  auto client = make({.initial_rate = 8, .min_rate = 1.5, .max_rate = 100});
  const double expected[] = {4, 2, 1.5, 1.5};
  for (const double rate : expected) {
    client->on_response(429, {});
    EXPECT_EQ(client->rate(), rate);
  }
  const AdaptiveClientStats s = client->stats();
  EXPECT_EQ(s.throttled, 4U);
  EXPECT_EQ(s.decreases, 3U);
  EXPECT_EQ(s.responses, 4U);
}

TEST_F(ClientAdaptiveTest, EveryNSuccessesAddOneStepUpToMaxRate) {
  auto client = make({.initial_rate = 1,
                      .min_rate = 1,
                      .max_rate = 2.5,
                      .increase_step = 1,
                      .successes_per_increase = 3});
  const double expected[] = {1, 1, 2, 2, 2, 2.5, 2.5, 2.5, 2.5};
  for (const double rate : expected) {
    client->on_response(200, {});
    EXPECT_EQ(client->rate(), rate);
  }
  EXPECT_EQ(client->stats().increases, 2U);
  EXPECT_EQ(client->stats().successes, 9U);
}

TEST_F(ClientAdaptiveTest, A429RestartsTheSuccessCountAndOtherStatusesAreNeutral) {
  auto client = make({.initial_rate = 4,
                      .min_rate = 1,
                      .max_rate = 10,
                      .increase_step = 1,
                      .successes_per_increase = 2});
  client->on_response(200, {});
  client->on_response(429, {});  // 2, and the one success is forgotten
  EXPECT_EQ(client->rate(), 2);
  for (const int status : {100, 404, 500, 503, 0, -1, 1000}) client->on_response(status, {});
  client->on_response(204, {});
  EXPECT_EQ(client->rate(), 2);
  client->on_response(301, {});  // 3xx counts as success
  EXPECT_EQ(client->rate(), 3);
}

TEST_F(ClientAdaptiveTest, DecreaseIntervalMergesABurstOf429s) {
  auto client =
      make({.initial_rate = 16, .min_rate = 1, .max_rate = 16, .decrease_interval = kSec});
  client->on_response(429, {});
  client->on_response(429, {});
  EXPECT_EQ(client->rate(), 8);
  clock->advance(kSec - 1);
  client->on_response(429, {});
  EXPECT_EQ(client->rate(), 8);
  clock->advance(1);
  client->on_response(429, {});
  EXPECT_EQ(client->rate(), 4);
}

TEST_F(ClientAdaptiveTest, RetryAfterPausesUntilItsInstant) {
  auto client = make({.initial_rate = 10, .min_rate = 1, .max_rate = 10, .burst = 5});
  client->on_response(429, {{"Retry-After", "5"}});
  EXPECT_EQ(client->paused_until(), kNow + 5 * kSec);
  EXPECT_EQ(client->time_to_available(), 5 * kSec);
  clock->advance(5 * kSec - 1);
  EXPECT_FALSE(client->try_acquire());
  clock->advance(1);
  EXPECT_TRUE(client->try_acquire());
  EXPECT_EQ(client->stats().pauses, 1U);
}

TEST_F(ClientAdaptiveTest, ABlockingAcquireWaitsOutRetryAfterExactly) {
  auto client = make({.initial_rate = 10, .min_rate = 1, .max_rate = 10, .burst = 5});
  client->on_response(503, {{"Retry-After", "Mon, 23 Nov 2026 18:00:30 GMT"}});
  EXPECT_FALSE(client->acquire(1, 30 * kSec - 1));
  EXPECT_EQ(clock->now(), kNow);
  EXPECT_TRUE(client->acquire(1, 30 * kSec));
  EXPECT_EQ(clock->now(), kNow + 30 * kSec);
}

TEST_F(ClientAdaptiveTest, RetryAfterOnOtherStatusesIsNotAPause) {
  auto client = make({.initial_rate = 10, .min_rate = 1, .max_rate = 10});
  client->on_response(301, {{"Retry-After", "5"}});  // about the redirect
  client->on_response(200, {{"Retry-After", "5"}});
  EXPECT_LE(client->paused_until(), kNow);
  EXPECT_TRUE(client->try_acquire());
}

TEST_F(ClientAdaptiveTest, RemainingZeroWithResetPausesOnAnyStatus) {
  auto client = make({.initial_rate = 10, .min_rate = 1, .max_rate = 10, .burst = 5});
  client->on_response(200, {{"RateLimit-Remaining", "0"}, {"RateLimit-Reset", "7"}});
  EXPECT_EQ(client->paused_until(), kNow + 7 * kSec);
  client->on_response(200, {{"X-RateLimit-Remaining", "0"}, {"X-RateLimit-Reset", "1795456812"}});
  EXPECT_EQ(client->paused_until(), kNow + 12 * kSec);
  client->on_response(200, {{"RateLimit", "\"default\";r=0;t=3"}});  // earlier: kept at +12
  EXPECT_EQ(client->paused_until(), kNow + 12 * kSec);
  EXPECT_EQ(client->stats().pauses, 2U);
  clock->advance(12 * kSec - 1);
  EXPECT_FALSE(client->try_acquire());
  clock->advance(1);
  EXPECT_TRUE(client->try_acquire());
}

TEST_F(ClientAdaptiveTest, BadOrAbsurdHintsAreCountedAndChangeNothing) {
  AdaptiveClientOptions o{.initial_rate = 10, .min_rate = 1, .max_rate = 10, .burst = 5};
  o.max_hint = 60 * kSec;
  auto client = make(o);
  client->on_response(503, {{"Retry-After", "-5"}});
  client->on_response(503, {{"Retry-After", "61"}});  // above max_hint
  client->on_response(503, {{"Retry-After", "5, 6"}});
  client->on_response(200, {{"RateLimit-Remaining", "0"}, {"RateLimit-Reset", "1e9"}});
  client->on_response(200, {{"X-RateLimit-Remaining", "0"}, {"X-RateLimit-Reset", "60"}});
  client->on_response(200, {{"RateLimit-Policy", "0;w=10"}});
  EXPECT_LE(client->paused_until(), kNow);
  EXPECT_EQ(client->rate(), 10);
  const AdaptiveClientStats s = client->stats();
  EXPECT_EQ(s.malformed_headers, 3U);
  EXPECT_EQ(s.out_of_range_headers, 3U);
  EXPECT_EQ(s.pauses, 0U);
  client->on_response(503, {{"Retry-After", "60"}});  // the cap itself is fine
  EXPECT_EQ(client->paused_until(), kNow + 60 * kSec);
}

TEST_F(ClientAdaptiveTest, PolicyCapsTheRate) {
  auto client = make({.initial_rate = 10,
                      .min_rate = 0.5,
                      .max_rate = 10,
                      .increase_step = 1,
                      .successes_per_increase = 1});
  client->on_response(200, {{"RateLimit-Policy", "120;w=60"}});  // 2/s
  EXPECT_EQ(client->rate(), 2);
  EXPECT_EQ(client->policy_rate(), 2);
  client->on_response(200, {});
  EXPECT_EQ(client->rate(), 2);                                // increases stop at the policy
  client->on_response(200, {{"RateLimit-Policy", "1;w=60"}});  // below min_rate: clamped
  EXPECT_EQ(client->rate(), 0.5);

  auto ignoring = make({.initial_rate = 10, .min_rate = 1, .max_rate = 10, .follow_policy = false});
  ignoring->on_response(200, {{"RateLimit-Policy", "120;w=60"}});
  EXPECT_EQ(ignoring->rate(), 10);
  EXPECT_EQ(ignoring->policy_rate(), 2);
}

TEST_F(ClientAdaptiveTest, BadOptionsThrowNamingTheField) {
  const double nan = std::numeric_limits<double>::quiet_NaN();
  struct Row {
    AdaptiveClientOptions options;
    const char* field;
  };
  const Row rows[] = {
      {{.initial_rate = 0}, "initial_rate"},
      {{.initial_rate = nan}, "initial_rate"},
      {{.min_rate = -1}, "min_rate"},
      {{.max_rate = 0}, "max_rate"},
      {{.initial_rate = 5, .min_rate = 10, .max_rate = 2}, "min_rate"},
      {{.initial_rate = 200}, "initial_rate"},
      {{.initial_rate = 0.5}, "initial_rate"},
      {{.burst = 0.5}, "burst"},
      {{.decrease_factor = 1}, "decrease_factor"},
      {{.decrease_factor = 0}, "decrease_factor"},
      {{.decrease_interval = -1}, "decrease_interval"},
      {{.increase_step = -1}, "increase_step"},
      {{.successes_per_increase = 0}, "successes_per_increase"},
      {{.max_hint = 0}, "max_hint"},
  };
  for (const Row& row : rows) {
    try {
      auto client = make(row.options);
      ADD_FAILURE() << row.field << ": accepted";
    } catch (const std::invalid_argument& e) {
      EXPECT_NE(std::string(e.what()).find(row.field), std::string::npos) << e.what();
    }
  }
}

}  // namespace
}  // namespace ratelimit
