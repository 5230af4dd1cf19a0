#include <gtest/gtest.h>

#include <optional>
#include <string>
#include <vector>

#include "ratelimit/resilience/http_hints.hpp"

namespace ratelimit {
namespace {

constexpr Micros kSec = kMicrosPerSecond;
constexpr Micros k1994 = 784'111'777 * kSec;   // Sun, 06 Nov 1994 08:49:37 GMT
constexpr Micros kNow = 1'795'456'800 * kSec;  // Mon, 23 Nov 2026 18:00:00 GMT
constexpr Micros kDay = kMicrosPerDay;

TEST(ClientHttpDate, TheThreeFormsOfRfc9110) {
  EXPECT_EQ(parse_http_date("Sun, 06 Nov 1994 08:49:37 GMT", kNow), k1994);
  EXPECT_EQ(parse_http_date("Sunday, 06-Nov-94 08:49:37 GMT", kNow), k1994);
  EXPECT_EQ(parse_http_date("Sun Nov  6 08:49:37 1994", kNow), k1994);
  EXPECT_EQ(parse_http_date("Sun Nov 06 08:49:37 1994", kNow), k1994);  // 2DIGIT day too
  EXPECT_EQ(parse_http_date("Mon, 23 Nov 2026 18:00:00 GMT", kNow), kNow);
  EXPECT_EQ(parse_http_date("Thu, 01 Jan 1970 00:00:00 GMT", kNow), 0);
  // A leap day, and a leap second (RFC 9110 allows second 60).
  EXPECT_EQ(parse_http_date("Thu, 29 Feb 2024 23:59:60 GMT", kNow), 1'709'251'200 * kSec);
}

TEST(ClientHttpDate, Rfc850TwoDigitYearsAreAtMost50YearsAhead) {
  // From 2026: "76" is 2076 (50 years ahead), "77" would be 2077, more than
  // 50 years ahead, so it is 1977.
  EXPECT_EQ(parse_http_date("Wednesday, 01-Jan-76 00:00:00 GMT", kNow), 3'345'062'400 * kSec);
  EXPECT_EQ(parse_http_date("Saturday, 01-Jan-77 00:00:00 GMT", kNow), 220'924'800 * kSec);
}

TEST(ClientHttpDate, AnythingElseIsMalformed) {
  for (const char* text : {
           "",
           "Sun, 06 Nov 1994 08:49:37 GMT ",    // trailing blank (the caller trims)
           "Sun, 06 Nov 1994 08:49:37 UTC",     // only GMT
           "Sun, 06 Nov 1994 08:49:37 gmt",     // case-sensitive
           "sun, 06 Nov 1994 08:49:37 GMT",     //
           "Sun, 06 nov 1994 08:49:37 GMT",     //
           "Mon, 06 Nov 1994 08:49:37 GMT",     // wrong weekday
           "Sun,  6 Nov 1994 08:49:37 GMT",     // IMF-fixdate days are 2DIGIT
           "Sun, 06 Nov 94 08:49:37 GMT",       //
           "Sun, 06 Nov 1994 8:49:37 GMT",      //
           "Sun, 06 Nov 1994 24:00:00 GMT",     // hour 24
           "Sun, 06 Nov 1994 08:60:00 GMT",     // minute 60
           "Sun, 06 Nov 1994 08:49:61 GMT",     // second 61
           "Thu, 30 Feb 2023 00:00:00 GMT",     // no such day
           "Wed, 29 Feb 2023 00:00:00 GMT",     // 2023 is not a leap year
           "Sun, 00 Nov 1994 08:49:37 GMT",     //
           "Sun, 06 Nov 1994 08:49:37 GMT+1",   //
           "Sun, 06-Nov-94 08:49:37 GMT",       // RFC 850 wants the long day name
           "Sunday, 06 Nov 1994 08:49:37 GMT",  //
           "Sunday, 06-Nov-1994 08:49:37 GMT",  //
           "Sun Nov 6 08:49:37 1994",           // asctime pads the day with a space
           "Sun Nov  6 08:49:37 94",            //
           "Sun Nov  6 08:49:37 1994 GMT",      //
           "1994-11-06T08:49:37Z",              // ISO 8601 is not an HTTP-date
           "120",                               //
       }) {
    EXPECT_EQ(parse_http_date(text, kNow), std::nullopt) << '"' << text << '"';
  }
}

TEST(ClientDeltaSeconds, DigitsOnly) {
  EXPECT_EQ(parse_delta_seconds("0"), 0);
  EXPECT_EQ(parse_delta_seconds("120"), 120);
  EXPECT_EQ(parse_delta_seconds("007"), 7);
  EXPECT_EQ(parse_delta_seconds("1000000000000000"), 1'000'000'000'000'000);
  for (const char* text : {"", "-1", "+1", "1.5", "1e3", " 1", "1 ", "0x10", "١", "12a",
                           "1000000000000001", "99999999999999999999999999"}) {
    EXPECT_EQ(parse_delta_seconds(text), std::nullopt) << '"' << text << '"';
  }
}

HttpHints read(const HttpHeaders& headers) { return read_http_hints(headers, kNow, kDay); }

TEST(ClientHttpHints, RetryAfterDeltaSecondsOrDate) {
  EXPECT_EQ(read({{"Retry-After", "5"}}).retry_at, kNow + 5 * kSec);
  EXPECT_EQ(read({{"retry-after", " \t5 "}}).retry_at, kNow + 5 * kSec);  // OWS, any case
  EXPECT_EQ(read({{"Retry-After", "0"}}).retry_at, kNow);
  EXPECT_EQ(read({{"Retry-After", "86400"}}).retry_at, kNow + kDay);  // the cap itself
  EXPECT_EQ(read({{"RETRY-AFTER", "Mon, 23 Nov 2026 18:00:30 GMT"}}).retry_at, kNow + 30 * kSec);
  EXPECT_EQ(read({}), HttpHints{});
  EXPECT_EQ(read({{"X-Other", "5"}}), HttpHints{});
}

TEST(ClientHttpHints, BadRetryAfterValuesAreCountedAndIgnored) {
  struct Row {
    const char* value;
    std::uint32_t malformed;
    std::uint32_t out_of_range;
  };
  for (const Row& row : {
           Row{"-5", 1, 0}, Row{"5s", 1, 0}, Row{"1.5", 1, 0}, Row{"", 1, 0}, Row{"soon", 1, 0},
           Row{"86401", 0, 1},                           // > 1 day
           Row{"99999999999999999999", 0, 1},            // digits, but absurd
           Row{"Tue, 24 Nov 2026 18:00:01 GMT", 0, 1},   // 1 day + 1 s ahead
           Row{"Sun, 06 Nov 1994 08:49:37 GMT", 0, 1},   // decades ago
           Row{"Mon, 23 Nov 2026 18:00:30 GMTX", 1, 0},  //
       }) {
    const HttpHints h = read({{"Retry-After", row.value}});
    EXPECT_EQ(h.retry_at, std::nullopt) << row.value;
    EXPECT_EQ(h.malformed, row.malformed) << row.value;
    EXPECT_EQ(h.out_of_range, row.out_of_range) << row.value;
  }
}

TEST(ClientHttpHints, RepeatedSingletonFieldsMustAgree) {
  EXPECT_EQ(read({{"Retry-After", "5"}, {"retry-after", "5"}}).retry_at, kNow + 5 * kSec);
  const HttpHints h = read({{"Retry-After", "5"}, {"Retry-After", "6"}});
  EXPECT_EQ(h.retry_at, std::nullopt);
  EXPECT_EQ(h.malformed, 1U);
}

TEST(ClientHttpHints, IetfRemainingZeroWithResetGivesTheResetInstant) {
  EXPECT_EQ(read({{"RateLimit-Remaining", "0"}, {"RateLimit-Reset", "7"}}).reset_at,
            kNow + 7 * kSec);
  // Something left: no reset instant (nothing to wait for).
  EXPECT_EQ(read({{"RateLimit-Remaining", "1"}, {"RateLimit-Reset", "7"}}).reset_at, std::nullopt);
  // Remaining without reset, or reset without remaining: nothing to act on.
  EXPECT_EQ(read({{"RateLimit-Remaining", "0"}}).reset_at, std::nullopt);
  EXPECT_EQ(read({{"RateLimit-Reset", "7"}}).reset_at, std::nullopt);
  const HttpHints bad = read({{"RateLimit-Remaining", "zero"}, {"RateLimit-Reset", "7"}});
  EXPECT_EQ(bad.reset_at, std::nullopt);
  EXPECT_EQ(bad.malformed, 1U);
  const HttpHints far = read({{"RateLimit-Remaining", "0"}, {"RateLimit-Reset", "86401"}});
  EXPECT_EQ(far.reset_at, std::nullopt);
  EXPECT_EQ(far.out_of_range, 1U);
}

TEST(ClientHttpHints, XRateLimitResetIsUnixEpochSeconds) {
  const HttpHeaders github{{"X-RateLimit-Limit", "60"},
                           {"X-RateLimit-Remaining", "0"},
                           {"X-RateLimit-Reset", "1795456860"},
                           {"X-RateLimit-Used", "60"}};
  EXPECT_EQ(read(github).reset_at, kNow + 60 * kSec);
  const HttpHeaders twitter{{"x-rate-limit-remaining", "0"}, {"x-rate-limit-reset", "1795456900"}};
  EXPECT_EQ(read(twitter).reset_at, kNow + 100 * kSec);
  // A server that sends a delay where the spec says epoch seconds: an
  // instant in 1970, absurd.
  const HttpHints delay = read({{"X-RateLimit-Remaining", "0"}, {"X-RateLimit-Reset", "60"}});
  EXPECT_EQ(delay.reset_at, std::nullopt);
  EXPECT_EQ(delay.out_of_range, 1U);
  const HttpHints huge =
      read({{"X-RateLimit-Remaining", "0"}, {"X-RateLimit-Reset", "999999999999999"}});
  EXPECT_EQ(huge.reset_at, std::nullopt);
  EXPECT_EQ(huge.out_of_range, 1U);
}

TEST(ClientHttpHints, TheLatestResetWins) {
  const HttpHints h = read({{"RateLimit-Remaining", "0"},
                            {"RateLimit-Reset", "7"},
                            {"X-RateLimit-Remaining", "0"},
                            {"X-RateLimit-Reset", "1795456830"}});
  EXPECT_EQ(h.reset_at, kNow + 30 * kSec);
}

TEST(ClientHttpHints, StructuredRateLimitField) {
  EXPECT_EQ(read({{"RateLimit", "\"default\";r=0;t=30"}}).reset_at, kNow + 30 * kSec);
  EXPECT_EQ(read({{"RateLimit", "\"default\";r=5;t=30"}}).reset_at, std::nullopt);
  EXPECT_EQ(read({{"RateLimit", "\"a\";r=5;t=30, \"b\";r=0;t=9"}}).reset_at, kNow + 9 * kSec);
  for (const char* bad :
       {"\"default\";r=0", "\"default\";r=0;t=1.5", "\"default\";r=0;t=", "\"default\";r=0;t=30,",
        "\"default;r=0;t=30", "limit=100, remaining=0", ""}) {
    const HttpHints h = read({{"RateLimit", bad}});
    EXPECT_EQ(h.reset_at, std::nullopt) << bad;
    EXPECT_EQ(h.malformed, 1U) << bad;
  }
  const HttpHints negative = read({{"RateLimit", "\"default\";r=0;t=-3"}});
  EXPECT_EQ(negative.reset_at, std::nullopt);
  EXPECT_EQ(negative.out_of_range, 1U);
}

TEST(ClientHttpHints, PolicyGivesTheStrictestQuotaPerSecond) {
  EXPECT_EQ(read({{"RateLimit-Policy", "100;w=60"}}).policy_rate, 100.0 / 60.0);
  EXPECT_EQ(read({{"RateLimit-Policy", "10;w=1, 1000;w=3600"}}).policy_rate, 1000.0 / 3600.0);
  EXPECT_EQ(read({{"RateLimit-Policy", "\"burst\";q=100;w=10"}}).policy_rate, 10.0);
  EXPECT_EQ(read({{"RateLimit-Policy", "100;w=60;comment=\"per user\""}}).policy_rate,
            100.0 / 60.0);
  for (const char* bad : {"100", "100;w", "100;w=x", "w=60", "100;W=60", "100;w=60;", "abc;q=1"}) {
    const HttpHints h = read({{"RateLimit-Policy", bad}});
    EXPECT_EQ(h.policy_rate, std::nullopt) << bad;
    EXPECT_EQ(h.malformed, 1U) << bad;
  }
  for (const char* absurd : {"0;w=60", "100;w=0", "-5;w=60"}) {
    const HttpHints h = read({{"RateLimit-Policy", absurd}});
    EXPECT_EQ(h.policy_rate, std::nullopt) << absurd;
    EXPECT_EQ(h.out_of_range, 1U) << absurd;
  }
}

}  // namespace
}  // namespace ratelimit
