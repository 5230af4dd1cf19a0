#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <type_traits>
#include <utility>

#include "ratelimit/resilience/adaptive_client.hpp"
#include "ratelimit/resilience/client_limiter.hpp"
#include "ratelimit/resilience/rate_limited.hpp"

namespace ratelimit {
namespace {

constexpr Micros kStart = 1'000'000'000;

struct ClientRateLimitedTest : ::testing::Test {
  std::shared_ptr<ManualClock> clock = std::make_shared<ManualClock>(kStart);
  std::shared_ptr<ManualSleeper> sleeper = std::make_shared<ManualSleeper>(*clock);
  ClientLimiter limiter{10, 2, clock, sleeper};
};

TEST_F(ClientRateLimitedTest, ForwardsArgumentsAndReturnsTheResultAfterAcquiring) {
  int calls = 0;
  auto add = rate_limited(limiter, [&](int a, int b) {
    ++calls;
    return a + b;
  });
  EXPECT_EQ(add(1, 2), 3);
  EXPECT_EQ(add(3, 4), 7);
  EXPECT_EQ(clock->now(), kStart);  // the burst
  EXPECT_EQ(add(5, 6), 11);         // waited for one unit
  EXPECT_EQ(clock->now(), kStart + 100'000);
  EXPECT_EQ(calls, 3);
  EXPECT_EQ(limiter.stats().acquired, 3U);
}

TEST_F(ClientRateLimitedTest, ATimeoutThrowsRateLimitExceededAndDoesNotCall) {
  int calls = 0;
  auto f = rate_limited(limiter, [&] { ++calls; }, {.cost = 2, .timeout = 199'999});
  f();
  EXPECT_EQ(calls, 1);
  try {
    f();
    ADD_FAILURE() << "no exception";
  } catch (const RateLimitExceeded& e) {
    EXPECT_EQ(e.retry_after(), 200'000);  // two units at 10/s
    EXPECT_EQ(e.scope(), "client");
  }
  EXPECT_EQ(calls, 1);
  EXPECT_EQ(clock->now(), kStart);  // gave up at once
}

TEST_F(ClientRateLimitedTest, ACostAboveBurstNeverSucceeds) {
  auto f = rate_limited(limiter, [] { return 1; }, {.cost = 3});
  try {
    (void)f();
    ADD_FAILURE() << "no exception";
  } catch (const RateLimitExceeded& e) {
    EXPECT_EQ(e.retry_after(), kInfinite);
  }
}

TEST_F(ClientRateLimitedTest, MoveOnlyCallablesArgumentsAndResults) {
  auto owned = std::make_unique<int>(41);
  auto f = rate_limited(limiter, [p = std::move(owned)](std::unique_ptr<int> add) {
    return std::make_unique<int>(*p + *add);
  });
  static_assert(!std::is_copy_constructible_v<decltype(f)>);
  auto moved = std::move(f);
  EXPECT_EQ(*moved(std::make_unique<int>(1)), 42);
}

TEST_F(ClientRateLimitedTest, VoidAndReferenceResults) {
  std::string text = "a";
  auto append = rate_limited(limiter, [&](const char* s) { text += s; });
  static_assert(std::is_void_v<decltype(append("b"))>);
  append("b");
  EXPECT_EQ(text, "ab");
  auto ref = rate_limited(limiter, [&]() -> std::string& { return text; });
  static_assert(std::is_same_v<decltype(ref()), std::string&>);
  ref() += "c";
  EXPECT_EQ(text, "abc");
}

TEST_F(ClientRateLimitedTest, MutableCallablesKeepTheirState) {
  auto counter = rate_limited(limiter, [n = 0]() mutable { return ++n; }, {.cost = 0});
  EXPECT_EQ(counter(), 1);
  EXPECT_EQ(counter(), 2);
  EXPECT_EQ(counter(), 3);  // cost 0: never waits
  EXPECT_EQ(clock->now(), kStart);
}

TEST_F(ClientRateLimitedTest, ExceptionsOfTheCallablePropagateAndTheUnitsAreSpent) {
  auto f = rate_limited(limiter, []() -> int { throw std::logic_error("boom"); });
  EXPECT_THROW((void)f(), std::logic_error);
  EXPECT_THROW((void)f(), std::logic_error);
  EXPECT_EQ(limiter.time_to_available(), 100'000);
}

TEST_F(ClientRateLimitedTest, WorksWithAnAdaptiveClientAndItsPause) {
  AdaptiveClient client({.initial_rate = 10, .min_rate = 1, .max_rate = 10, .burst = 5}, clock,
                        sleeper);
  auto call = rate_limited(client, [] { return 200; }, {.timeout = kMicrosPerSecond});
  client.on_response(call(), {});
  client.on_response(429, {{"Retry-After", "2"}});
  try {
    (void)call();
    ADD_FAILURE() << "no exception";
  } catch (const RateLimitExceeded& e) {
    EXPECT_EQ(e.retry_after(), 2 * kMicrosPerSecond);
  }
  auto patient = rate_limited(client, [] { return 200; }, {.timeout = 2 * kMicrosPerSecond});
  EXPECT_EQ(patient(), 200);
  EXPECT_EQ(clock->now(), kStart + 2 * kMicrosPerSecond);
}

}  // namespace
}  // namespace ratelimit
