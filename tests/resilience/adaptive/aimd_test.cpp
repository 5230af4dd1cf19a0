#include "ratelimit/resilience/aimd.hpp"

#include <gtest/gtest.h>

#include <limits>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "ratelimit/resilience/local_bucket.hpp"

namespace ratelimit {
namespace {

struct AdaptiveAimdTest : ::testing::Test {
  std::shared_ptr<ManualClock> clock = std::make_shared<ManualClock>(1'000'000);

  static AimdConfig config() {
    AimdConfig c;
    c.initial_rate = 100;
    c.min_rate = 10;
    c.max_rate = 200;
    c.successes_to_increase = 1;
    c.increase_step = 0;
    c.increase_ratio = 0.1;
    c.decrease_factor = 0.5;
    c.decrease_cooldown = 0;
    return c;
  }
};

TEST_F(AdaptiveAimdTest, RejectsInvalidConfigNamingTheField) {
  struct Row {
    void (*mutate)(AimdConfig&);
    const char* field;
  };
  const std::vector<Row> rows = {
      {[](AimdConfig& c) { c.min_rate = 0; }, "min_rate"},
      {[](AimdConfig& c) { c.min_rate = -1; }, "min_rate"},
      {[](AimdConfig& c) { c.max_rate = 5; }, "max_rate"},  // < min_rate
      {[](AimdConfig& c) { c.max_rate = std::numeric_limits<double>::infinity(); }, "max_rate"},
      {[](AimdConfig& c) { c.initial_rate = 5; }, "initial_rate"},
      {[](AimdConfig& c) { c.initial_rate = 201; }, "initial_rate"},
      {[](AimdConfig& c) { c.successes_to_increase = 0; }, "successes_to_increase"},
      {[](AimdConfig& c) { c.increase_step = -1; }, "increase_step"},
      {[](AimdConfig& c) { c.increase_ratio = -0.1; }, "increase_ratio"},
      {[](AimdConfig& c) { c.increase_ratio = 0; }, "increase_step"},  // nothing would increase
      {[](AimdConfig& c) { c.decrease_factor = 0; }, "decrease_factor"},
      {[](AimdConfig& c) { c.decrease_factor = 1; }, "decrease_factor"},
      {[](AimdConfig& c) { c.decrease_factor = std::numeric_limits<double>::quiet_NaN(); },
       "decrease_factor"},
      {[](AimdConfig& c) { c.decrease_cooldown = -1; }, "decrease_cooldown"},
  };
  for (std::size_t i = 0; i < rows.size(); ++i) {
    AimdConfig c = config();
    rows[i].mutate(c);
    try {
      AimdController controller(c, clock);
      ADD_FAILURE() << "row " << i << " was accepted";
    } catch (const std::invalid_argument& e) {
      EXPECT_NE(std::string(e.what()).find(rows[i].field), std::string::npos)
          << "row " << i << ": " << e.what();
    }
  }
  AimdController ok(config(), clock);  // the base config itself is valid
  EXPECT_DOUBLE_EQ(ok.rate(), 100);
}

TEST_F(AdaptiveAimdTest, DefaultsAreValidAndCoolDownFor100Milliseconds) {
  AimdController aimd(AimdConfig{}, clock);
  EXPECT_DOUBLE_EQ(aimd.rate(), 100);
  aimd.on_throttle();
  clock->advance(99'999);
  aimd.on_throttle();
  EXPECT_DOUBLE_EQ(aimd.rate(), 90);
  clock->advance(1);
  aimd.on_throttle();
  EXPECT_DOUBLE_EQ(aimd.rate(), 81);
}

TEST_F(AdaptiveAimdTest, IncreasesByRatioAndStepAfterEveryNSuccesses) {
  AimdConfig c = config();
  c.successes_to_increase = 3;
  c.increase_ratio = 0.1;
  c.increase_step = 5;
  AimdController aimd(c, clock);
  aimd.on_success();
  aimd.on_success();
  EXPECT_DOUBLE_EQ(aimd.rate(), 100);
  aimd.on_success();
  EXPECT_DOUBLE_EQ(aimd.rate(), 115);  // 100 * 1.1 + 5
  for (int i = 0; i < 3; ++i) aimd.on_success();
  EXPECT_DOUBLE_EQ(aimd.rate(), 131.5);  // 115 * 1.1 + 5
  const AimdStats s = aimd.stats();
  EXPECT_EQ(s.successes, 6u);
  EXPECT_EQ(s.increases, 2u);
  EXPECT_EQ(s.last_change, AimdChange::increase);
  EXPECT_EQ(s.last_change_at, 1'000'000);
}

TEST_F(AdaptiveAimdTest, AThrottleRestartsTheSuccessCount) {
  AimdConfig c = config();
  c.successes_to_increase = 2;
  c.decrease_cooldown = 1'000;
  AimdController aimd(c, clock);
  aimd.on_throttle();  // 100 -> 50
  clock->advance(1'000);
  aimd.on_success();
  aimd.on_throttle();  // cool-down over: 50 -> 25, count restarts
  clock->advance(1'000);
  aimd.on_success();
  EXPECT_DOUBLE_EQ(aimd.rate(), 25);
  aimd.on_success();
  EXPECT_DOUBLE_EQ(aimd.rate(), 27.5);
}

TEST_F(AdaptiveAimdTest, StaysWithinMinAndMax) {
  AimdController aimd(config(), clock);
  for (int i = 0; i < 20; ++i) aimd.on_success();
  EXPECT_DOUBLE_EQ(aimd.rate(), 200);
  const std::uint64_t increases = aimd.stats().increases;
  aimd.on_success();  // at max: no change, not counted
  EXPECT_EQ(aimd.stats().increases, increases);
  for (int i = 0; i < 10; ++i) aimd.on_throttle();
  EXPECT_DOUBLE_EQ(aimd.rate(), 10);
  EXPECT_EQ(aimd.stats().decreases, 5u);  // 200 100 50 25 12.5 10; then at min
  EXPECT_EQ(aimd.stats().throttles, 10u);
}

TEST_F(AdaptiveAimdTest, CooldownTurnsABurstOfThrottlesIntoOneDecrease) {
  AimdConfig c = config();
  c.decrease_cooldown = 50'000;
  AimdController aimd(c, clock);
  aimd.on_throttle();
  EXPECT_DOUBLE_EQ(aimd.rate(), 50);
  clock->advance(49'999);
  aimd.on_throttle();
  aimd.on_throttle();
  EXPECT_DOUBLE_EQ(aimd.rate(), 50);
  clock->advance(1);  // exactly one cool-down after the decrease
  aimd.on_throttle();
  EXPECT_DOUBLE_EQ(aimd.rate(), 25);
  const AimdStats s = aimd.stats();
  EXPECT_EQ(s.decreases, 2u);
  EXPECT_EQ(s.suppressed, 2u);
  EXPECT_EQ(s.last_change, AimdChange::decrease);
  EXPECT_EQ(s.last_change_at, 1'050'000);
}

TEST_F(AdaptiveAimdTest, SuccessesDuringTheCooldownDoNotIncrease) {
  AimdConfig c = config();
  c.decrease_cooldown = 50'000;
  AimdController aimd(c, clock);
  aimd.on_throttle();  // 50
  clock->advance(49'999);
  aimd.on_success();
  EXPECT_DOUBLE_EQ(aimd.rate(), 50);
  clock->advance(1);
  aimd.on_success();
  EXPECT_DOUBLE_EQ(aimd.rate(), 55);
  EXPECT_EQ(aimd.stats().successes, 2u);
}

TEST_F(AdaptiveAimdTest, ClockSteppingBackStaysInTheCooldown) {
  AimdConfig c = config();
  c.decrease_cooldown = 50'000;
  AimdController aimd(c, clock);
  aimd.on_throttle();
  clock->advance(-10 * kMicrosPerSecond);
  aimd.on_throttle();
  EXPECT_DOUBLE_EQ(aimd.rate(), 50);
}

TEST_F(AdaptiveAimdTest, ErrorsDecreaseOnlyWhenConfigured) {
  AimdController counting(config(), clock);
  counting.on_error();
  EXPECT_DOUBLE_EQ(counting.rate(), 100);
  EXPECT_EQ(counting.stats().errors, 1u);

  AimdConfig c = config();
  c.decrease_on_error = true;
  AimdController decreasing(c, clock);
  decreasing.on_error();
  EXPECT_DOUBLE_EQ(decreasing.rate(), 50);
  EXPECT_EQ(decreasing.stats().decreases, 1u);
}

TEST_F(AdaptiveAimdTest, SinkSeesTheCurrentRateThenEveryChange) {
  AimdController aimd(config(), clock);
  std::vector<double> seen;
  aimd.add_sink([&seen](double r) { seen.push_back(r); });
  aimd.on_success();   // 110
  aimd.on_throttle();  // 55
  aimd.on_error();     // no change: no call
  EXPECT_EQ(seen, (std::vector<double>{100, 100 * 1.1, 100 * 1.1 * 0.5}));
}

TEST_F(AdaptiveAimdTest, AttachDrivesALocalBucket) {
  LocalBucket bucket(1, 1, clock);
  AimdController aimd(config(), clock);
  aimd.attach(bucket);
  EXPECT_DOUBLE_EQ(bucket.rate(), 100);
  aimd.on_throttle();
  EXPECT_DOUBLE_EQ(bucket.rate(), 50);
  ASSERT_TRUE(bucket.try_acquire());
  EXPECT_EQ(bucket.time_to_available(), 20'000);  // one unit at 50/s
}

TEST(AdaptiveAimdChangeTest, NamesEveryChange) {
  EXPECT_EQ(to_string(AimdChange::none), "none");
  EXPECT_EQ(to_string(AimdChange::increase), "increase");
  EXPECT_EQ(to_string(AimdChange::decrease), "decrease");
}

}  // namespace
}  // namespace ratelimit
