// The head of a reply ratelimitd makes itself (reply_head.hpp), as the API
// server and proxy mode both write it: status line, the fixed headers, the
// reply's and the extra ones, length and Connection for each HTTP version.
#include "reply_head.hpp"

#include <gtest/gtest.h>

#include <string>

namespace ratelimitd {
namespace {

TEST(ReplyHead, NamesLengthTypeAndConnectionForEachVersion) {
  HttpReply reply;
  reply.status = 429;
  reply.content_type = "application/problem+json";
  reply.body = R"({"title":"Too Many Requests"})";
  reply.headers.emplace_back("Retry-After", "3");
  const std::string extra = "RateLimit-Limit: 100\r\n";
  const std::string fields =
      "Server: ratelimitd\r\nContent-Type: application/problem+json\r\nRetry-After: 3\r\n"
      "RateLimit-Limit: 100\r\nContent-Length: 29\r\n";
  std::string out;
  render_reply_head(out, reply, extra, 11, true);
  EXPECT_EQ(out, "HTTP/1.1 429 Too Many Requests\r\n" + fields + "\r\n");
  render_reply_head(out, reply, extra, 11, false);
  EXPECT_EQ(out, "HTTP/1.1 429 Too Many Requests\r\n" + fields + "Connection: close\r\n\r\n");
  render_reply_head(out, reply, extra, 10, true);
  EXPECT_EQ(out, "HTTP/1.0 429 Too Many Requests\r\n" + fields + "Connection: keep-alive\r\n\r\n");
  render_reply_head(out, reply, extra, 10, false);
  EXPECT_EQ(out, "HTTP/1.0 429 Too Many Requests\r\n" + fields + "\r\n");

  // Header text stops at CR or LF: a value cannot add a header.
  reply.headers = {{"X-Evil", "a\r\nSet-Cookie: x=1"}};
  render_reply_head(out, reply, {}, 11, true);
  EXPECT_EQ(out.find("Set-Cookie"), std::string::npos) << out;
  EXPECT_NE(out.find("\r\nX-Evil: a\r\n"), std::string::npos) << out;

  reply.status = 503;
  reply.body.clear();
  reply.headers.clear();
  render_reply_head(out, reply, {}, 11, true);
  EXPECT_EQ(out,
            "HTTP/1.1 503 Service Unavailable\r\nServer: ratelimitd\r\n"
            "Content-Type: application/problem+json\r\nContent-Length: 0\r\n\r\n");
}

}  // namespace
}  // namespace ratelimitd
