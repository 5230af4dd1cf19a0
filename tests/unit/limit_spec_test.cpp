#include "ratelimit/limit_spec.hpp"

#include <gtest/gtest.h>

namespace ratelimit {
namespace {

std::string error_of(const LimitParams& p) {
  try {
    LimitSpec spec(p);
  } catch (const InvalidLimitSpec& e) {
    EXPECT_EQ(LimitSpec::validate(p), e.what());
    return e.what();
  }
  return {};
}

TEST(LimitSpec, DefaultsBurstToLimitAndPrecomputesRates) {
  const LimitSpec s(Algorithm::token_bucket, 100, kMicrosPerMinute);
  EXPECT_EQ(s.burst(), 100);
  EXPECT_DOUBLE_EQ(s.rate(), 100.0 / 60e6);
  EXPECT_DOUBLE_EQ(s.interval(), 600000.0);
  EXPECT_EQ(s.reported_limit(), 100);
  EXPECT_EQ(s.mode(), LeakyMode::police);
}

TEST(LimitSpec, ReportedLimitIsBurstForBucketsAndLimitForWindows) {
  EXPECT_EQ(LimitSpec(Algorithm::gcra, 10, kMicrosPerSecond, 25).reported_limit(), 25);
  EXPECT_EQ(LimitSpec(Algorithm::fixed_window, 10, kMicrosPerSecond).reported_limit(), 10);
}

TEST(LimitSpec, RejectsNonPositiveLimit) {
  EXPECT_EQ(error_of({Algorithm::token_bucket, 0, 1000, {}, {}}),
            "token_bucket: limit must be a positive integer, got 0");
  EXPECT_NE(error_of({Algorithm::fixed_window, -5, 1000, {}, {}}).find("got -5"), std::string::npos);
}

TEST(LimitSpec, RejectsNonPositiveWindow) {
  EXPECT_EQ(error_of({Algorithm::gcra, 10, 0, {}, {}}), "gcra: window must be at least 1 µs, got 0 µs");
  EXPECT_NE(error_of({Algorithm::gcra, 10, -1, {}, {}}).find("got -1"), std::string::npos);
}

TEST(LimitSpec, RejectsBurstBelowOne) {
  EXPECT_EQ(error_of({Algorithm::token_bucket, 10, 1000, 0, {}}), "token_bucket: burst must be at least 1, got 0");
  EXPECT_NE(error_of({Algorithm::leaky_bucket, 10, 1000, -3, {}}).find("burst must be at least 1"), std::string::npos);
}

TEST(LimitSpec, RejectsImpossibleCombinations) {
  EXPECT_NE(error_of({Algorithm::fixed_window, 10, 1000, 20, {}}).find("burst applies only"), std::string::npos);
  EXPECT_NE(error_of({Algorithm::token_bucket, 10, 1000, {}, LeakyMode::shape}).find("mode applies only"),
            std::string::npos);
  EXPECT_NE(error_of({Algorithm::sliding_log, 2'000'000, 1000, {}, {}}).find("use sliding_window"), std::string::npos);
  EXPECT_NE(error_of({Algorithm::sliding_window, LimitSpec::kMaxSlidingWindowLimit + 1, 1000, {}, {}}).find("maximum"),
            std::string::npos);
  EXPECT_NE(error_of({Algorithm::token_bucket, LimitSpec::kMaxLimit + 1, 1000, {}, {}}).find("maximum"),
            std::string::npos);
  EXPECT_NE(error_of({Algorithm::token_bucket, 1, LimitSpec::kMaxWindow + 1, {}, {}}).find("366 days"),
            std::string::npos);
  EXPECT_NE(error_of({static_cast<Algorithm>(42), 1, 1000, {}, {}}).find("unknown algorithm"), std::string::npos);
}

TEST(LimitSpec, ParsesAlgorithmNamesAndRejectsUnknownOnes) {
  for (auto a : {Algorithm::token_bucket, Algorithm::gcra, Algorithm::leaky_bucket, Algorithm::fixed_window,
                 Algorithm::sliding_window, Algorithm::sliding_log}) {
    EXPECT_EQ(parse_algorithm(to_string(a)), a);
  }
  try {
    (void)parse_algorithm("tokenbucket");
    FAIL() << "expected InvalidLimitSpec";
  } catch (const InvalidLimitSpec& e) {
    EXPECT_NE(std::string(e.what()).find("unknown algorithm 'tokenbucket'"), std::string::npos);
    EXPECT_NE(std::string(e.what()).find("token_bucket"), std::string::npos);
  }
  EXPECT_EQ(parse_leaky_mode("shape"), LeakyMode::shape);
  EXPECT_THROW((void)parse_leaky_mode("queue"), InvalidLimitSpec);
}

TEST(LimitSpec, DescribesItself) {
  EXPECT_EQ(describe(LimitSpec(Algorithm::leaky_bucket, 5, 1000, 7, LeakyMode::shape)),
            "leaky_bucket 5/1000us burst 7 shape");
}

}  // namespace
}  // namespace ratelimit
