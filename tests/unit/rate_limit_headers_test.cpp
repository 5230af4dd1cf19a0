#include "ratelimit/http/rate_limit_headers.hpp"

#include <gtest/gtest.h>

#include <limits>
#include <string>
#include <vector>

namespace ratelimit::http {
namespace {

constexpr Micros kNow = 1'700'000'000'250'000;  // .25 s past a whole second

std::string find(const std::vector<Header>& headers, const std::string& name) {
  for (const auto& [n, v] : headers) {
    if (n == name) return v;
  }
  return "<absent>";
}

HeaderInput denied() {
  HeaderInput in;
  in.decision.allowed = false;
  in.decision.limit = 100;
  in.decision.remaining = 0;
  in.decision.reset_after = 9'000'001;
  in.decision.retry_after = 5'400'000;
  in.window = 60 * kMicrosPerSecond;
  in.scope = "per_user";
  in.now = kNow;
  return in;
}

TEST(RateLimitHeaders, DefaultStylesOnADenial) {
  const auto h = rate_limit_headers(denied(), HeaderStyles{});
  EXPECT_EQ(find(h, "RateLimit-Limit"), "100");
  EXPECT_EQ(find(h, "RateLimit-Remaining"), "0");
  EXPECT_EQ(find(h, "RateLimit-Reset"), "10");  // 9.000001 s rounds up
  EXPECT_EQ(find(h, "RateLimit-Policy"), "100;w=60");
  EXPECT_EQ(find(h, "X-RateLimit-Limit"), "100");
  EXPECT_EQ(find(h, "X-RateLimit-Reset"), "1700000010");  // ceil(now + 9.000001 s)
  EXPECT_EQ(find(h, "X-RateLimit-Used"), "100");
  EXPECT_EQ(find(h, "Retry-After"), "6");  // 5.4 s rounds up
  EXPECT_EQ(find(h, "X-RateLimit-Scope"), "per_user");
  EXPECT_EQ(find(h, "X-RateLimit-Resource"), "<absent>");
  EXPECT_EQ(find(h, "x-rate-limit-limit"), "<absent>");
  EXPECT_EQ(h.size(), 10u);
}

TEST(RateLimitHeaders, AnAdmissionHasNoDenialHeaders) {
  HeaderInput in = denied();
  in.decision.allowed = true;
  in.decision.remaining = 99;
  in.decision.retry_after = 0;
  in.decision.reset_after = 600'000;
  const auto h = rate_limit_headers(in, HeaderStyles{});
  EXPECT_EQ(find(h, "RateLimit-Remaining"), "99");
  EXPECT_EQ(find(h, "RateLimit-Reset"), "1");
  EXPECT_EQ(find(h, "X-RateLimit-Used"), "1");
  EXPECT_EQ(find(h, "Retry-After"), "<absent>");
  EXPECT_EQ(find(h, "X-RateLimit-Scope"), "<absent>");
}

TEST(RateLimitHeaders, GithubAndTwitterStylesAndNoDuplicates) {
  HeaderStyles styles{.ietf = false, .x_ratelimit = true, .github = true, .twitter = true};
  const auto h = rate_limit_headers(denied(), styles);
  EXPECT_EQ(find(h, "X-RateLimit-Resource"), "per_user");
  EXPECT_EQ(find(h, "x-rate-limit-reset"), "1700000010");
  EXPECT_EQ(find(h, "RateLimit-Limit"), "<absent>");
  int x_limit = 0;
  for (const auto& [n, v] : h) x_limit += n == "X-RateLimit-Limit" ? 1 : 0;
  EXPECT_EQ(x_limit, 1);
}

TEST(RateLimitHeaders, NeverAdmissibleHasNoRetryAfterAndNoWindowNoPolicy) {
  HeaderInput in = denied();
  in.decision.retry_after = kInfinite;
  in.window = 0;
  const auto h = rate_limit_headers(in, HeaderStyles{});
  EXPECT_EQ(find(h, "Retry-After"), "<absent>");
  EXPECT_EQ(find(h, "RateLimit-Policy"), "<absent>");
  EXPECT_EQ(find(h, "X-RateLimit-Scope"), "per_user");
}

TEST(RateLimitHeaders, ControlCharactersInTheScopeCannotSplitAHeader) {
  HeaderInput in = denied();
  in.scope = "a\r\nSet-Cookie: x=1";
  const auto h = rate_limit_headers(in, HeaderStyles{});
  EXPECT_EQ(find(h, "X-RateLimit-Scope"), "aSet-Cookie: x=1");
}

TEST(RateLimitHeaders, PolicyReportsTheLimitPerWindowNotTheBurst) {
  HeaderInput in = denied();
  in.decision.limit = 50;  // a bucket's burst
  in.window_limit = 1;     // 1 per second
  in.window = kMicrosPerSecond;
  const auto h = rate_limit_headers(in, HeaderStyles{});
  EXPECT_EQ(find(h, "RateLimit-Limit"), "50");
  EXPECT_EQ(find(h, "RateLimit-Policy"), "1;w=1");
}

TEST(RateLimitHeaders, StyleNames) {
  HeaderStyles s{.ietf = false, .x_ratelimit = false};
  EXPECT_TRUE(enable_style(s, "twitter"));
  EXPECT_TRUE(enable_style(s, "ietf"));
  EXPECT_FALSE(enable_style(s, "IETF "));
  EXPECT_TRUE(s.twitter && s.ietf && !s.x_ratelimit && !s.github);
}

TEST(RateLimitHeaders, SecondsRoundUp) {
  EXPECT_EQ(seconds_rounded_up(0), 0);
  EXPECT_EQ(seconds_rounded_up(-5), 0);
  EXPECT_EQ(seconds_rounded_up(1), 1);
  EXPECT_EQ(seconds_rounded_up(kMicrosPerSecond), 1);
  EXPECT_EQ(seconds_rounded_up(kMicrosPerSecond + 1), 2);
}

// Renders what a sink receives as "name: value" lines, as a server would.
class LineSink final : public HeaderSink {
 public:
  void add(std::string_view name, std::string_view value) override {
    lines.push_back(std::string(name) + ": " + std::string(value));
  }
  std::vector<std::string> lines;
};

TEST(RateLimitHeaders, TheSinkFormHandsOverExactlyTheListsHeaders) {
  HeaderInput extreme = denied();
  extreme.decision.limit = std::numeric_limits<std::int64_t>::max();
  extreme.decision.remaining = std::numeric_limits<std::int64_t>::min() + 1;
  extreme.window_limit = std::numeric_limits<std::int64_t>::max();
  extreme.window = std::numeric_limits<Micros>::max();
  HeaderInput control = denied();
  control.scope = "per\r\nuser\x7f";
  HeaderInput allowed = denied();
  allowed.decision.allowed = true;
  allowed.window = 0;
  for (const HeaderInput& in : {denied(), extreme, control, allowed}) {
    for (int mask = 0; mask < 16; ++mask) {
      const HeaderStyles styles{.ietf = (mask & 1) != 0, .x_ratelimit = (mask & 2) != 0,
                                .github = (mask & 4) != 0, .twitter = (mask & 8) != 0};
      std::vector<std::string> expected;
      for (const auto& [name, value] : rate_limit_headers(in, styles)) expected.push_back(name + ": " + value);
      LineSink sink;
      write_rate_limit_headers(in, styles, sink);
      EXPECT_EQ(sink.lines, expected) << "styles mask " << mask;
    }
  }
  LineSink sink;
  write_rate_limit_headers(extreme, HeaderStyles{}, sink);
  EXPECT_EQ(sink.lines[0], "RateLimit-Limit: 9223372036854775807");
  EXPECT_EQ(sink.lines[1], "RateLimit-Remaining: -9223372036854775807");
  EXPECT_EQ(sink.lines[3], "RateLimit-Policy: 9223372036854775807;w=9223372036855");
  EXPECT_EQ(sink.lines[7], "X-RateLimit-Used: 9223372036854775807");  // saturated, not overflowed
  LineSink cleaned;
  write_rate_limit_headers(control, HeaderStyles{}, cleaned);
  EXPECT_EQ(cleaned.lines.back(), "X-RateLimit-Scope: peruser");
}

}  // namespace
}  // namespace ratelimit::http
