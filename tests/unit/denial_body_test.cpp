// 429 bodies in the three formats of proxy mode (http/denial_body.hpp).
#include "ratelimit/http/denial_body.hpp"

#include <gtest/gtest.h>

namespace ratelimit::http {
namespace {

Decision denied(Micros retry_after, std::int64_t limit = 100) {
  Decision d;
  d.allowed = false;
  d.limit = limit;
  d.remaining = 0;
  d.retry_after = retry_after;
  d.reset_after = retry_after;
  return d;
}

TEST(DenialBody, ProblemJsonIsTheDefaultShape) {
  const DenialBody b = denial_body(ErrorFormat::problem, denied(58'000'001), "per_user");
  EXPECT_EQ(b.content_type, "application/problem+json");
  EXPECT_EQ(b.body,
            R"({"type":"about:blank","title":"Too Many Requests","status":429,)"
            R"("detail":"rate limit 'per_user' exceeded; retry after 59 seconds",)"
            R"("retry_after":59,"limit":100,"scope":"per_user"})");
}

TEST(DenialBody, ErrorAndJsonApiShapes) {
  const DenialBody e = denial_body(ErrorFormat::error, denied(1), "global");
  EXPECT_EQ(e.content_type, "application/json");
  EXPECT_EQ(e.body,
            R"({"error":{"code":"rate_limit_exceeded","message":"rate limit 'global' exceeded; )"
            R"(retry after 1 second","retry_after":1,"limit":100,"scope":"global"}})");
  const DenialBody j = denial_body(ErrorFormat::jsonapi, denied(2'000'000, 7), "ip");
  EXPECT_EQ(j.content_type, "application/vnd.api+json");
  EXPECT_EQ(j.body,
            R"({"errors":[{"status":"429","code":"rate_limit_exceeded","title":"Too Many Requests",)"
            R"("detail":"rate limit 'ip' exceeded; retry after 2 seconds",)"
            R"("meta":{"retry_after":2,"limit":7,"scope":"ip"}}]})");
}

TEST(DenialBody, NeverAdmissibleHasNullRetryAfter) {
  const DenialBody b = denial_body(ErrorFormat::problem, denied(kInfinite, 5), "per_user");
  EXPECT_NE(b.body.find(R"("retry_after":null)"), std::string::npos) << b.body;
  EXPECT_NE(b.body.find("costs more than the limit 'per_user' can ever admit"), std::string::npos);
}

TEST(DenialBody, ScopesAreQuotedSafely) {
  EXPECT_EQ(json_quote("a\"b\\c\n\x01"), R"("a\"b\\c\u000a\u0001")");
  const DenialBody b = denial_body(ErrorFormat::error, denied(1), "x\"}");
  EXPECT_NE(b.body.find(R"("scope":"x\"}")"), std::string::npos) << b.body;
}

TEST(DenialBody, FormatNames) {
  for (const auto f : {ErrorFormat::problem, ErrorFormat::error, ErrorFormat::jsonapi}) {
    EXPECT_EQ(parse_error_format(to_string(f)), f);
  }
  EXPECT_EQ(parse_error_format("xml"), std::nullopt);
}

}  // namespace
}  // namespace ratelimit::http
