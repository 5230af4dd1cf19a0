// The heads proxy mode relays, rendered by hand (proxy/head_render.hpp), are
// what Beast's serializer writes for the same message, apart from the
// change render_response_head names: added headers replace the upstream's
// of the same names.
#include "proxy/head_render.hpp"

#include <gtest/gtest.h>

#include <boost/beast/core/buffers_to_string.hpp>
#include <boost/beast/http.hpp>
#include <string>
#include <tuple>

namespace ratelimitd::proxy {
namespace {

namespace http = boost::beast::http;

// What Beast's serializer writes for a message's head.
template <bool isRequest>
std::string beast_head(http::message<isRequest, http::buffer_body, ProxyFields>& message) {
  message.body().data = nullptr;
  message.body().size = 0;
  message.body().more = false;
  http::serializer<isRequest, http::buffer_body, ProxyFields> serializer{message};
  serializer.split(true);
  std::string out;
  boost::beast::error_code ec;
  while (!serializer.is_header_done()) {
    serializer.next(ec, [&](boost::beast::error_code&, const auto& buffers) {
      out += boost::beast::buffers_to_string(buffers);
      serializer.consume(boost::beast::buffer_bytes(buffers));
    });
    if (ec) throw boost::system::system_error(ec);
  }
  return out;
}

TEST(HeadRender, RequestHeadIsWhatBeastWrites) {
  FieldArena arena;
  for (const unsigned version : {10U, 11U}) {
    ProxyRequest req{std::piecewise_construct, std::make_tuple(),
                     std::make_tuple(ArenaAllocator<char>(&arena))};
    req.method(http::verb::post);
    req.target("/api/items?q=1&r=%20");
    req.version(version);
    req.set(http::field::host, "example.test:8080");
    req.set("X-User", "alice");
    req.insert("X-Forwarded-For", "10.0.0.1, 10.0.0.2");
    req.set("X-Empty", "");
    req.method_string("PURGE");  // a method Beast has no enum for
    std::string ours;
    render_request_head(ours, req);
    EXPECT_EQ(ours, beast_head(req)) << version;
  }
}

TEST(HeadRender, ResponseHeadReplacesTheUpstreamsHeadersOfOurNames) {
  FieldArena arena;
  ProxyResponse res{std::piecewise_construct, std::make_tuple(),
                    std::make_tuple(ArenaAllocator<char>(&arena))};
  res.result(http::status::ok);
  res.version(11);
  res.set(http::field::content_type, "application/json");
  res.set("ratelimit-limit", "999");  // the upstream's own, of a name we add
  res.set(http::field::content_length, "17");
  AddedHeaders added;
  added.add("RateLimit-Limit", "100");
  added.add("RateLimit-Remaining", "7");
  std::string ours;
  render_response_head(ours, res, added);
  EXPECT_EQ(ours,
            "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 17\r\n"
            "RateLimit-Limit: 100\r\nRateLimit-Remaining: 7\r\n\r\n");

  // Without added headers it is Beast's head exactly, reason phrase and all.
  res.erase("ratelimit-limit");
  res.result(http::status::not_found);
  res.version(10);
  render_response_head(ours, res, AddedHeaders{});
  EXPECT_EQ(ours, beast_head(res));
  res.result(299);  // a status without a standard reason
  res.reason("Custom Reason");
  render_response_head(ours, res, AddedHeaders{});
  EXPECT_EQ(ours, beast_head(res));
}

}  // namespace
}  // namespace ratelimitd::proxy
