// Combined and JSON-lines parsing: fields, time zones, the time cache, and
// the messages for lines that are not log lines.
#include <gtest/gtest.h>

#include "ratelimit/planning/log_record.hpp"

namespace ratelimit::planning {
namespace {

constexpr Micros kS = kMicrosPerSecond;

ParserOptions options(LogFormat format, int api_key_field = 0, JsonFields fields = {}) {
  ParserOptions o;
  o.format = format;
  o.api_key_field = api_key_field;
  o.json = std::move(fields);
  return o;
}
// 2026-12-07T03:14:38Z
constexpr Micros kT = 1'796'613'278LL * kS;

TEST(LogTime, ClfTimeAppliesTheOffset) {
  const auto utc = parse_clf_time("07/Dec/2026:03:14:38 +0000");
  ASSERT_TRUE(utc);
  EXPECT_EQ(utc->time, kT);
  EXPECT_EQ(utc->utc_offset_minutes, 0);
  const auto paris = parse_clf_time("07/Dec/2026:04:14:38 +0100");
  ASSERT_TRUE(paris);
  EXPECT_EQ(paris->time, kT);
  EXPECT_EQ(paris->utc_offset_minutes, 60);
  const auto frac = parse_clf_time("07/Dec/2026:03:14:38.250 -0530");
  ASSERT_TRUE(frac);
  EXPECT_EQ(frac->time, kT + 250'000 + (5 * 60 + 30) * kMicrosPerMinute);
  EXPECT_EQ(frac->utc_offset_minutes, -330);
}

TEST(LogTime, RejectsMalformedTimes) {
  for (const char* bad :
       {"", "07/Dec/2026:03:14:38", "07/Foo/2026:03:14:38 +0000", "32/Dec/2026:03:14:38 +0000",
        "07/Dec/2026:24:14:38 +0000", "07/Dec/2026 03:14:38 +0000", "07/Dec/2026:03:14:38 +01",
        "7/Dec/2026:03:14:38 +0000"}) {
    EXPECT_FALSE(parse_clf_time(bad)) << bad;
  }
}

TEST(LogTime, IsoTimes) {
  EXPECT_EQ(parse_iso_time("2026-12-07T03:14:38Z")->time, kT);
  EXPECT_EQ(parse_iso_time("2026-12-07 03:14:38.5Z")->time, kT + 500'000);
  const auto offset = parse_iso_time("2026-12-07T05:14:38+02:00");
  ASSERT_TRUE(offset);
  EXPECT_EQ(offset->time, kT);
  EXPECT_EQ(offset->utc_offset_minutes, 120);
  EXPECT_FALSE(parse_iso_time("2026-12-07T03:14:38"));
  EXPECT_FALSE(parse_iso_time("2026-13-07T03:14:38Z"));
  EXPECT_EQ(format_utc(kT + 999'999), "2026-12-07T03:14:38Z");
  EXPECT_EQ(format_utc(0), "1970-01-01T00:00:00Z");
  EXPECT_EQ(days_from_civil(2000, 3, 1), 11017);
}

TEST(CombinedParser, ReadsEveryField) {
  LineParser p(options(LogFormat::combined, 4));
  LogRecord r;
  const char* line =
      R"(203.0.113.9 - alice [07/Dec/2026:03:14:38 +0000] "GET /api/items/42?x=1 HTTP/1.1" 200 512 "https://example.com/" "curl/8.0" "key-123")";
  ASSERT_EQ(p.parse(line, r), nullptr);
  EXPECT_EQ(r.ip, "203.0.113.9");
  EXPECT_EQ(r.user, "alice");
  EXPECT_EQ(r.api_key, "key-123");
  EXPECT_EQ(r.method, "GET");
  EXPECT_EQ(r.path, "/api/items/42?x=1");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.time, kT);
}

TEST(CombinedParser, CommonFormatDashesAndCachedTimes) {
  LineParser p(options(LogFormat::combined));
  LogRecord r;
  ASSERT_EQ(p.parse(R"(::1 - - [07/Dec/2026:03:14:38 +0000] "POST /login HTTP/1.0" 401 -)", r),
            nullptr);
  EXPECT_EQ(r.ip, "::1");
  EXPECT_TRUE(r.user.empty());
  EXPECT_TRUE(r.api_key.empty());
  EXPECT_EQ(r.status, 401);
  // Same second again (cache hit), then a different one (cache miss).
  ASSERT_EQ(p.parse(R"(::1 - - [07/Dec/2026:03:14:38 +0000] "GET / HTTP/1.1" 200 1)", r), nullptr);
  EXPECT_EQ(r.time, kT);
  ASSERT_EQ(p.parse(R"(::1 - - [07/Dec/2026:03:14:39 +0000] "GET / HTTP/1.1" 200 1)", r), nullptr);
  EXPECT_EQ(r.time, kT + kS);
  ASSERT_EQ(p.parse(R"(::1 - - [07/Dec/2026:04:14:39 +0100] "GET / HTTP/1.1" 200 1)", r), nullptr);
  EXPECT_EQ(r.time, kT + kS);
  EXPECT_EQ(r.utc_offset_minutes, 60);
  // Escaped quotes inside the user agent do not end the field.
  ASSERT_EQ(
      p.parse(R"(1.2.3.4 - - [07/Dec/2026:03:14:38 +0000] "GET / HTTP/1.1" 200 1 "-" "a \"b\" c")",
              r),
      nullptr);
  // Windows line ending.
  ASSERT_EQ(p.parse("1.2.3.4 - - [07/Dec/2026:03:14:38 +0000] \"GET / HTTP/1.1\" 200 1\r", r),
            nullptr);
  EXPECT_EQ(r.status, 200);
}

TEST(CombinedParser, SaysWhatIsWrong) {
  LineParser p(options(LogFormat::combined));
  LogRecord r;
  const std::pair<const char*, std::string> cases[] = {
      {"", "empty line"},
      {"garbage", "no client address"},
      {"1.2.3.4 - - 07/Dec/2026:03:14:38 +0000 \"GET / HTTP/1.1\" 200 1", "no [time] field"},
      {"1.2.3.4 - - [07/Dec/2026:03:14:38 +0000", "unterminated [time] field"},
      {"1.2.3.4 - - [yesterday] \"GET / HTTP/1.1\" 200 1", "malformed [time]"},
      {"1.2.3.4 - - [07/Dec/2026:03:14:38 +0000] \"GET / HTTP/1.1", "unterminated quoted field"},
      {"1.2.3.4 - - [07/Dec/2026:03:14:38 +0000] \"\\x16\\x03\\x01\" 400 0", "request is not"},
      {"1.2.3.4 - - [07/Dec/2026:03:14:38 +0000] \"GET / HTTP/1.1\" OK 1", "status is not"},
      {"1.2.3.4 - - [07/Dec/2026:03:14:38 +0000] \"GET / HTTP/1.1\"", "no status code"},
      {"1.2.3.4 - - [07/Dec/2026:03:14:38 +0000] 200 1", "no \"request\" field"},
  };
  for (const auto& [line, message] : cases) {
    const char* error = p.parse(line, r);
    ASSERT_NE(error, nullptr) << line;
    EXPECT_EQ(std::string(error).rfind(message, 0), 0u) << line << " -> " << error;
  }
}

TEST(JsonParser, DefaultAndCustomFields) {
  LineParser p(options(LogFormat::json));
  LogRecord r;
  ASSERT_EQ(
      p.parse(
          R"({"time":"2026-12-07T03:14:38Z","remote_addr":"10.0.0.1","remote_user":"bob","api_key":"k1","method":"PUT","path":"/a/b","status":204})",
          r),
      nullptr);
  EXPECT_EQ(r.time, kT);
  EXPECT_EQ(r.ip, "10.0.0.1");
  EXPECT_EQ(r.user, "bob");
  EXPECT_EQ(r.api_key, "k1");
  EXPECT_EQ(r.method, "PUT");
  EXPECT_EQ(r.path, "/a/b");
  EXPECT_EQ(r.status, 204);

  JsonFields f;
  f.time = "ts";
  f.ip = "client";
  f.api_key = "headers.x-api-key";
  LineParser custom(options(LogFormat::json, 0, f));
  ASSERT_EQ(
      custom.parse(
          R"({"ts":1796613278.5,"client":"10.0.0.2","headers.x-api-key":"abc","request":"GET /x?y=1 HTTP/2.0","status":"503"})",
          r),
      nullptr);
  EXPECT_EQ(r.time, kT + 500'000);
  EXPECT_EQ(r.ip, "10.0.0.2");
  EXPECT_EQ(r.api_key, "abc");
  EXPECT_EQ(r.method, "GET");
  EXPECT_EQ(r.path, "/x?y=1");
  EXPECT_EQ(r.status, 503);
  // Milliseconds since the epoch.
  ASSERT_EQ(custom.parse(R"({"ts":1796613278000,"client":"10.0.0.2"})", r), nullptr);
  EXPECT_EQ(r.time, kT);
}

TEST(JsonParser, DottedPathsIntoNestedObjects) {
  // Caddy-style: request fields nested, headers as lists of values.
  JsonFields f;
  f.time = "ts";
  f.ip = "request.remote_ip";
  f.method = "request.method";
  f.path = "request.uri";
  f.api_key = "request.headers.X-Api-Key";
  f.user = "user_id";
  LineParser p(options(LogFormat::json, 0, f));
  LogRecord r;
  ASSERT_EQ(
      p.parse(R"({"ts":1796613278,"request":{"remote_ip":"10.1.1.1","method":"GET","uri":"/a?b",)"
              R"("headers":{"X-Api-Key":["k-9"]}},"status":200})",
              r),
      nullptr);
  EXPECT_EQ(r.ip, "10.1.1.1");
  EXPECT_EQ(r.method, "GET");
  EXPECT_EQ(r.path, "/a?b");
  EXPECT_EQ(r.api_key, "k-9");
  EXPECT_TRUE(r.user.empty());
  EXPECT_EQ(r.status, 200);
  // A literal dotted key wins over the path.
  JsonFields literal;
  literal.ip = "client.ip";
  LineParser q(options(LogFormat::json, 0, literal));
  ASSERT_EQ(q.parse(R"({"time":1796613278,"client.ip":"1.1.1.1","client":{"ip":"2.2.2.2"}})", r),
            nullptr);
  EXPECT_EQ(r.ip, "1.1.1.1");
  // A path through a non-object is absent, not an error.
  ASSERT_EQ(q.parse(R"({"time":1796613278,"client":"x"})", r), nullptr);
  EXPECT_TRUE(r.ip.empty());
}

TEST(JsonParser, OneParserForManyLines) {
  // The DOM buffer is reused line after line; lines larger than it (here
  // 100 KB of user agent) take the heap and must not disturb the next ones.
  LineParser p(options(LogFormat::json));
  LogRecord r;
  for (int i = 0; i < 5000; ++i) {
    std::string line = R"({"time":)" + std::to_string(1796613278 + i) +
                       R"(,"remote_addr":"10.0.0.)" + std::to_string(i % 250) + R"(","path":"/p/)" +
                       std::to_string(i) + R"(")";
    if (i % 1000 == 7) line += R"(,"ua":")" + std::string(100'000, 'x') + R"(")";
    line += "}";
    ASSERT_EQ(p.parse(line, r), nullptr) << i;
    ASSERT_EQ(r.time, kT + i * kS);
    ASSERT_EQ(r.path, "/p/" + std::to_string(i));
  }
}

TEST(JsonParser, SaysWhatIsWrong) {
  LineParser p(options(LogFormat::json));
  LogRecord r;
  EXPECT_STREQ(p.parse("{", r), "not a JSON object");
  EXPECT_STREQ(p.parse("[1,2]", r), "not a JSON object");
  EXPECT_STREQ(p.parse(R"({"remote_addr":"1.2.3.4"})", r), "no time field");
  EXPECT_STREQ(p.parse(R"({"time":true})", r), "time is neither a string nor a number");
  EXPECT_EQ(std::string(p.parse(R"({"time":"noon"})", r)).rfind("malformed time", 0), 0u);
  EXPECT_STREQ(p.parse(R"({"time":-5})", r), "time out of range");
}

TEST(LogFormatDetection, ByFirstByte) {
  EXPECT_EQ(detect_log_format("  {\"time\":1}"), LogFormat::json);
  EXPECT_EQ(detect_log_format("1.2.3.4 - - [x]"), LogFormat::combined);
  EXPECT_EQ(parse_log_format("common"), LogFormat::combined);
  EXPECT_FALSE(parse_log_format("xml"));
}

}  // namespace
}  // namespace ratelimit::planning
