// Proxy mode against a real upstream (TestUpstream) and the real ratelimitd:
// rate-limit headers on forwarded responses, 429 bodies in each format,
// bypass paths, X-Forwarded-For trusted only from trusted proxies, streamed
// bodies both ways, keep-alive, and the upstream breaker (503 + Retry-After).

#include <gtest/gtest.h>

#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/json.hpp>
#include <chrono>
#include <cstdio>
#include <string>
#include <thread>
#include <vector>

#include "ratelimitd_process.hpp"
#include "test_upstream.hpp"

namespace ratelimit::testing {
namespace {

namespace json = boost::json;
namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;

using PolicyFile = TempConfigFile;

// A loopback port nothing listens on (bound, read, closed).
int unused_port() {
  asio::io_context io;
  asio::ip::tcp::acceptor a(io, asio::ip::tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
  return a.local_endpoint().port();
}

const std::string kPerUser = R"(
limits:
  - name: per_user
    scope: [user]
    algorithm: fixed_window
    limit: 3
    window: 1m
)";

struct Proxy {
  Proxy(const TestUpstream& upstream, const std::string& yaml, std::vector<std::string> extra = {})
      : policy(yaml),
        server(RATELIMITD_BINARY, [&] {
          std::vector<std::string> args{"--config", policy.path(), "--upstream",
                                        "http://127.0.0.1:" + std::to_string(upstream.port()),
                                        "--proxy-listen", "127.0.0.1:0"};
          args.insert(args.end(), extra.begin(), extra.end());
          return args;
        }()),
        endpoint{"127.0.0.1", static_cast<unsigned short>(server.proxy_port())} {}

  HttpResponse get(const std::string& target, const std::map<std::string, std::string>& headers = {}) {
    return http_client::request(endpoint, "GET", target, "", headers);
  }
  // A connection of our own, for exchanges http_client cannot make; its
  // operations give up after 10 s.
  beast::tcp_stream connect(asio::io_context& io) const {
    beast::tcp_stream stream(io);
    stream.connect(asio::ip::tcp::endpoint(asio::ip::make_address("127.0.0.1"), endpoint.port));
    stream.expires_after(std::chrono::seconds(10));
    return stream;
  }
  // Sends `bytes` as they are on a new connection and reads one response.
  http::response<http::string_body> raw_exchange(asio::io_context& io, const std::string& bytes) const {
    beast::tcp_stream stream = connect(io);
    asio::write(stream, asio::buffer(bytes));
    beast::flat_buffer buffer;
    http::response<http::string_body> res;
    http::read(stream, buffer, res);
    return res;
  }

  PolicyFile policy;
  RatelimitdProcess server;
  http_client::Endpoint endpoint;
};

TEST(RatelimitdProxy, ForwardsWithHeadersThenDenies429ProblemJson) {
  TestUpstream upstream;
  Proxy proxy(upstream, kPerUser);
  for (int i = 0; i < 3; ++i) {
    const HttpResponse r = proxy.get("/echo?x=1", {{"X-User-Id", "alice"}});
    ASSERT_EQ(r.status, 200u) << r.body;
    EXPECT_EQ(r.header("server"), "test-upstream");
    EXPECT_EQ(r.header("ratelimit-limit"), "3");
    EXPECT_EQ(r.header("ratelimit-remaining"), std::to_string(2 - i));
    EXPECT_EQ(r.header("x-ratelimit-limit"), "3");
    EXPECT_EQ(r.header("x-ratelimit-used"), std::to_string(i + 1));
    EXPECT_EQ(r.header("retry-after"), "");
    const auto echo = json::parse(r.body).as_object();
    EXPECT_EQ(echo.at("target").as_string(), "/echo?x=1");
    EXPECT_EQ(echo.at("headers").as_object().at("x-user-id").as_string(), "alice");
  }
  EXPECT_EQ(upstream.hits(), 3u);
  const HttpResponse denied = proxy.get("/echo", {{"X-User-Id", "alice"}});
  EXPECT_EQ(denied.status, 429u);
  EXPECT_EQ(denied.header("content-type"), "application/problem+json");
  EXPECT_EQ(denied.header("x-ratelimit-scope"), "per_user");
  EXPECT_EQ(denied.header("ratelimit-remaining"), "0");
  const int retry = std::stoi(denied.header("retry-after"));
  EXPECT_GE(retry, 1);
  EXPECT_LE(retry, 60);
  const auto body = json::parse(denied.body).as_object();
  EXPECT_EQ(body.at("status").as_int64(), 429);
  EXPECT_EQ(body.at("title").as_string(), "Too Many Requests");
  EXPECT_EQ(body.at("scope").as_string(), "per_user");
  EXPECT_EQ(body.at("limit").as_int64(), 3);
  EXPECT_EQ(body.at("retry_after").as_int64(), retry);
  EXPECT_NE(std::string(body.at("detail").as_string()).find("per_user"), std::string::npos);
  EXPECT_EQ(upstream.hits(), 3u) << "a denied request must not reach the upstream";
  // Another user has a budget of its own.
  EXPECT_EQ(proxy.get("/echo", {{"X-User-Id", "bob"}}).status, 200u);

  // Counted in the service's metrics and analytics like /v1/decide's.
  const std::string metrics = proxy.server.request("GET", "/metrics").body;
  for (const char* line : {"ratelimit_proxy_requests_total{outcome=\"forwarded\"} 4",
                           "ratelimit_proxy_requests_total{outcome=\"denied\"} 1",
                           "ratelimit_proxy_breaker_state{state=\"closed\"} 1",
                           "api=\"proxy\",outcome=\"denied\",scope=\"per_user\""}) {
    EXPECT_NE(metrics.find(line), std::string::npos) << line << "\n" << metrics;
  }
  const auto stats = json::parse(proxy.server.request("GET", "/v1/stats?range=1h").body).as_object();
  EXPECT_EQ(stats.at("allowed").as_int64(), 4);
  EXPECT_EQ(stats.at("blocked").as_int64(), 1);
  const auto& top = stats.at("top_limited").as_array();
  ASSERT_FALSE(top.empty());
  EXPECT_EQ(top[0].at("identifier").as_string(), "user:alice");
}

TEST(RatelimitdProxy, ErrorFormatsErrorAndJsonApi) {
  TestUpstream upstream;
  {
    Proxy proxy(upstream, kPerUser + "proxy:\n  error_format: error\n");
    for (int i = 0; i < 3; ++i) ASSERT_EQ(proxy.get("/", {{"X-User-Id", "u"}}).status, 200u);
    const HttpResponse r = proxy.get("/", {{"X-User-Id", "u"}});
    ASSERT_EQ(r.status, 429u);
    EXPECT_EQ(r.header("content-type"), "application/json");
    const auto error = json::parse(r.body).at("error").as_object();
    EXPECT_EQ(error.at("code").as_string(), "rate_limit_exceeded");
    EXPECT_EQ(error.at("scope").as_string(), "per_user");
    EXPECT_EQ(error.at("limit").as_int64(), 3);
    EXPECT_GE(error.at("retry_after").as_int64(), 1);
  }
  {
    Proxy proxy(upstream, kPerUser + "proxy:\n  error_format: jsonapi\n");
    for (int i = 0; i < 3; ++i) ASSERT_EQ(proxy.get("/", {{"X-User-Id", "u"}}).status, 200u);
    const HttpResponse r = proxy.get("/", {{"X-User-Id", "u"}});
    ASSERT_EQ(r.status, 429u);
    EXPECT_EQ(r.header("content-type"), "application/vnd.api+json");
    const auto item = json::parse(r.body).at("errors").as_array().at(0).as_object();
    EXPECT_EQ(item.at("status").as_string(), "429");
    EXPECT_EQ(item.at("meta").as_object().at("scope").as_string(), "per_user");
  }
}

TEST(RatelimitdProxy, BypassPathsAreNeverLimited) {
  TestUpstream upstream;
  Proxy proxy(upstream, kPerUser + "proxy:\n  bypass: [/health, /static/]\n");
  for (int i = 0; i < 10; ++i) {
    const HttpResponse h = proxy.get("/health", {{"X-User-Id", "u"}});
    EXPECT_EQ(h.status, 200u);
    EXPECT_EQ(h.header("ratelimit-limit"), "");
    EXPECT_EQ(proxy.get("/static/app.js", {{"X-User-Id", "u"}}).status, 200u);
  }
  // The limit is untouched: three requests still pass.
  for (int i = 0; i < 3; ++i) EXPECT_EQ(proxy.get("/api", {{"X-User-Id", "u"}}).status, 200u);
  EXPECT_EQ(proxy.get("/api", {{"X-User-Id", "u"}}).status, 429u);
  // "/static" itself is not under "/static/".
  EXPECT_EQ(proxy.get("/healthz", {{"X-User-Id", "u"}}).status, 429u);
}

const std::string kPerIp = R"(
limits:
  - name: per_ip
    scope: [ip]
    algorithm: fixed_window
    limit: 2
    window: 1m
)";

TEST(RatelimitdProxy, SpoofedForwardedForFromAnUntrustedPeerIsIgnored) {
  TestUpstream upstream;
  Proxy proxy(upstream, kPerIp);
  const HttpResponse first = proxy.get("/echo", {{"X-Forwarded-For", "198.51.100.1"}});
  ASSERT_EQ(first.status, 200u);
  // The upstream sees the real peer, not the forged chain.
  EXPECT_EQ(json::parse(first.body).at("headers").at("x-forwarded-for").as_string(), "127.0.0.1");
  EXPECT_EQ(proxy.get("/echo", {{"X-Forwarded-For", "198.51.100.2"}, {"X-Real-IP", "198.51.100.3"}}).status,
            200u);
  // Every request counted against 127.0.0.1, whatever it claimed.
  EXPECT_EQ(proxy.get("/echo", {{"X-Forwarded-For", "198.51.100.4"}}).status, 429u);
}

TEST(RatelimitdProxy, ForwardedForFromATrustedProxyNamesTheClient) {
  TestUpstream upstream;
  Proxy proxy(upstream, kPerIp + "proxy:\n  trusted_proxies: [127.0.0.1/32, 10.0.0.0/8]\n");
  // Right to left, trusted hops skipped: the client is 198.51.100.1.
  for (int i = 0; i < 2; ++i) {
    const HttpResponse r =
        proxy.get("/echo", {{"X-Forwarded-For", "203.0.113.9, 198.51.100.1, 10.1.2.3"}});
    ASSERT_EQ(r.status, 200u);
    EXPECT_EQ(json::parse(r.body).at("headers").at("x-forwarded-for").as_string(),
              "203.0.113.9, 198.51.100.1, 10.1.2.3, 127.0.0.1");
  }
  EXPECT_EQ(proxy.get("/echo", {{"X-Forwarded-For", "198.51.100.1"}}).status, 429u);
  // Other clients behind the same proxy have their own budgets.
  EXPECT_EQ(proxy.get("/echo", {{"X-Forwarded-For", "198.51.100.2"}}).status, 200u);
  EXPECT_EQ(proxy.get("/echo", {{"X-Real-IP", "198.51.100.3"}}).status, 200u);
  // Without a forwarded address the peer itself is the client.
  EXPECT_EQ(proxy.get("/echo").status, 200u);
}

TEST(RatelimitdProxy, ApiKeyFromHeaderOrQueryAndEndpointCosts) {
  TestUpstream upstream;
  Proxy proxy(upstream, R"(
limits:
  - name: per_key
    scope: [api_key]
    algorithm: fixed_window
    limit: 10
    window: 1m
endpoints:
  - match: POST /expensive
    cost: 6
)");
  const auto remaining = [](const HttpResponse& r) { return r.header("ratelimit-remaining"); };
  EXPECT_EQ(remaining(proxy.get("/cheap?api_key=k1")), "9");
  EXPECT_EQ(remaining(proxy.get("/cheap", {{"X-API-Key", "k1"}})), "8");
  const HttpResponse post = http_client::request(proxy.endpoint, "POST", "/expensive", "{}",
                                                 {{"X-API-Key", "k1"}});
  EXPECT_EQ(post.status, 200u);
  EXPECT_EQ(remaining(post), "2");
  EXPECT_EQ(http_client::request(proxy.endpoint, "POST", "/expensive", "{}", {{"X-API-Key", "k1"}})
                .status,
            429u);
}

TEST(RatelimitdProxy, StreamsLargeBodiesBothWays) {
  TestUpstream upstream;
  Proxy proxy(upstream, kPerUser);
  std::string upload(5 * 1024 * 1024 + 17, '\0');
  for (std::size_t i = 0; i < upload.size(); ++i) upload[i] = static_cast<char>(i * 7 % 253);
  const HttpResponse echo = http_client::request(proxy.endpoint, "POST", "/echo", upload);
  ASSERT_EQ(echo.status, 200u) << echo.body;
  const auto o = json::parse(echo.body).as_object();
  EXPECT_EQ(o.at("body_bytes").as_int64(), static_cast<std::int64_t>(upload.size()));
  EXPECT_EQ(o.at("body_sum").as_int64(), body_checksum(upload.data(), upload.size()));

  const std::uint64_t n = 12 * 1024 * 1024 + 5;
  const HttpResponse stream = proxy.get("/stream?bytes=" + std::to_string(n));
  ASSERT_EQ(stream.status, 200u);
  ASSERT_EQ(stream.body.size(), n);
  for (std::size_t i = 0; i < n; i += 4099) ASSERT_EQ(static_cast<unsigned char>(stream.body[i]), i % 251);

  // A body that ends with the upstream's close reaches the client whole.
  const HttpResponse until_close = proxy.get("/close?bytes=100000");
  ASSERT_EQ(until_close.status, 200u);
  EXPECT_EQ(until_close.body.size(), 100000u);
}

TEST(RatelimitdProxy, KeepAliveOnBothSides) {
  TestUpstream upstream;
  Proxy proxy(upstream, "");
  asio::io_context io;
  beast::tcp_stream stream = proxy.connect(io);
  beast::flat_buffer buffer;
  for (int i = 0; i < 20; ++i) {
    http::request<http::string_body> req{http::verb::get, "/echo", 11};
    req.set(http::field::host, "test");
    req.keep_alive(true);
    http::write(stream, req);
    http::response<http::string_body> res;
    http::read(stream, buffer, res);
    ASSERT_EQ(res.result_int(), 200u);
    ASSERT_TRUE(res.keep_alive());
  }
  EXPECT_EQ(upstream.hits(), 20u);
  EXPECT_EQ(upstream.connections(), 1u) << "the proxy reuses its upstream connection";
}

// A small response goes out in one write with a head the proxy renders
// itself: the upstream's headers of the names the proxy sets are replaced
// (once each, whatever their case), its others kept; a HEAD keeps the
// upstream's Content-Length and has no body, and so does a denied HEAD;
// keep-alive holds throughout.
TEST(RatelimitdProxy, UpstreamHeadersOfOurNamesAreReplacedAndHeadKeepsItsLength) {
  TestUpstream upstream;
  Proxy proxy(upstream, kPerUser);
  asio::io_context io;
  beast::tcp_stream stream = proxy.connect(io);
  beast::flat_buffer buffer;
  const auto send = [&](http::verb verb, const char* target) {
    http::request<http::string_body> req{verb, target, 11};
    req.set(http::field::host, "test");
    req.set("X-User-Id", "carol");
    http::write(stream, req);
    http::response_parser<http::string_body> parser;
    parser.skip(verb == http::verb::head);
    http::read(stream, buffer, parser);
    return parser.release();
  };

  const auto own = send(http::verb::get, "/own-headers");
  EXPECT_EQ(own.result_int(), 200u);
  EXPECT_EQ(own.body(), "own");
  EXPECT_EQ(own["X-Upstream"], "yes");
  EXPECT_EQ(own.count("X-RateLimit-Limit"), 1u);
  EXPECT_EQ(own["X-RateLimit-Limit"], "3");
  EXPECT_EQ(own.count("RateLimit-Remaining"), 1u);
  EXPECT_EQ(own["RateLimit-Remaining"], "2");
  EXPECT_EQ(own["Server"], "test-upstream");
  EXPECT_TRUE(own.keep_alive());

  const auto head = send(http::verb::head, "/own-headers");
  EXPECT_EQ(head.result_int(), 200u);
  EXPECT_EQ(head[http::field::content_length], "3");
  EXPECT_EQ(head["RateLimit-Remaining"], "1");
  EXPECT_TRUE(head.body().empty());

  // The connection is still in step: a HEAD left no stray bytes behind.
  const auto status = send(http::verb::get, "/status/201");
  EXPECT_EQ(status.result_int(), 201u);
  EXPECT_EQ(status.body(), "status 201");
  EXPECT_EQ(status["RateLimit-Remaining"], "0");
  EXPECT_EQ(upstream.connections(), 1u);

  // A denied HEAD gets the 429's head, its Content-Length included, and no
  // body (RFC 9110 9.3.2): the next request's reply is read in step.
  const auto denied_head = send(http::verb::head, "/own-headers");
  EXPECT_EQ(denied_head.result_int(), 429u);
  EXPECT_NE(denied_head[http::field::content_length], "0");
  EXPECT_EQ(denied_head["X-RateLimit-Scope"], "per_user");
  EXPECT_TRUE(denied_head.body().empty());
  const auto denied = send(http::verb::get, "/own-headers");
  EXPECT_EQ(denied.result_int(), 429u);
  EXPECT_EQ(denied[http::field::content_length], denied_head[http::field::content_length]);
  EXPECT_EQ(json::parse(denied.body()).at("scope").as_string(), "per_user");
  EXPECT_TRUE(denied.keep_alive());
}

// An upstream may close a keep-alive connection while it idles in the
// proxy's pool: the next request (bodyless) is sent again on a fresh
// connection instead of failing with 502.
TEST(RatelimitdProxy, ARequestOnAConnectionTheUpstreamClosedIsRetriedOnAFreshOne) {
  TestUpstream upstream;
  Proxy proxy(upstream, "");
  ASSERT_EQ(proxy.get("/drop-after").status, 200u);
  for (int i = 0; i < 3; ++i) {
    const HttpResponse r = proxy.get("/drop-after");
    ASSERT_EQ(r.status, 200u) << i << ": " << r.body;
    EXPECT_EQ(r.body, "hello from upstream");
  }
  EXPECT_EQ(upstream.hits(), 4u) << "each request reached the upstream once";
  EXPECT_EQ(upstream.connections(), 4u);
}

// "Expect: 100-continue": the proxy says "100 Continue" itself once the
// request is admitted (the Expect header is not forwarded), then relays the
// body; a denied one gets its 429 at once, and the connection closes rather
// than wait for a body the client holds back.
TEST(RatelimitdProxy, ExpectContinueIsAnsweredOnlyForAdmittedRequests) {
  TestUpstream upstream;
  Proxy proxy(upstream, kPerUser);
  const std::string body(100000, 'x');
  const std::string head = "POST /echo HTTP/1.1\r\nHost: test\r\nX-User-Id: dave\r\nContent-Length: " +
                           std::to_string(body.size()) + "\r\nExpect: 100-continue\r\n\r\n";
  asio::io_context io;
  for (int i = 0; i < 3; ++i) {
    beast::tcp_stream stream = proxy.connect(io);
    asio::write(stream, asio::buffer(head));
    beast::flat_buffer buffer;
    http::response<http::empty_body> interim;
    http::read(stream, buffer, interim);
    ASSERT_EQ(interim.result_int(), 100u) << i;
    asio::write(stream, asio::buffer(body));
    http::response<http::string_body> res;
    http::read(stream, buffer, res);
    ASSERT_EQ(res.result_int(), 200u) << res.body();
    const auto o = json::parse(res.body()).as_object();
    EXPECT_EQ(o.at("body_bytes").as_int64(), static_cast<std::int64_t>(body.size()));
    EXPECT_FALSE(o.at("headers").as_object().contains("expect"));
  }
  const auto denied = proxy.raw_exchange(io, head);
  EXPECT_EQ(denied.result_int(), 429u);
  EXPECT_FALSE(denied.keep_alive());
  EXPECT_EQ(upstream.hits(), 3u);
}

// What a client or an upstream sends wrong ends that exchange with a clear
// status (or, mid-body, just that connection), never the process.
TEST(RatelimitdProxy, MalformedOversizedOrAbandonedRequestsAndABadUpstreamGetClearAnswers) {
  TestUpstream upstream;
  Proxy proxy(upstream, kPerUser);
  asio::io_context io;

  const auto malformed = proxy.raw_exchange(io, "GET /echo HTTP/1.1\r\nHost test\r\n\r\n");
  EXPECT_EQ(malformed.result_int(), 400u);
  EXPECT_EQ(malformed[http::field::content_type], "application/problem+json");
  EXPECT_NE(malformed.body().find("malformed HTTP request"), std::string::npos) << malformed.body();
  EXPECT_FALSE(malformed.keep_alive());

  const auto oversized = proxy.raw_exchange(
      io, "GET /echo HTTP/1.1\r\nHost: test\r\nX-Big: " + std::string(20000, 'a') + "\r\n\r\n");
  EXPECT_EQ(oversized.result_int(), 431u);
  EXPECT_NE(oversized.body().find("16384 bytes"), std::string::npos) << oversized.body();

  {  // A client that leaves mid-body: its connection ends, nothing else.
    beast::tcp_stream stream = proxy.connect(io);
    asio::write(stream, asio::buffer(std::string(
        "POST /echo HTTP/1.1\r\nHost: test\r\nX-User-Id: erin\r\nContent-Length: 1000000\r\n\r\n") +
        std::string(5000, 'x')));
  }

  const HttpResponse bad_upstream = proxy.get("/garbage", {{"X-User-Id", "erin"}});
  EXPECT_EQ(bad_upstream.status, 502u) << bad_upstream.body;
  EXPECT_EQ(bad_upstream.header("content-type"), "application/problem+json");

  const HttpResponse after = proxy.get("/echo", {{"X-User-Id", "frank"}});
  EXPECT_EQ(after.status, 200u) << after.body;
  EXPECT_EQ(after.header("ratelimit-remaining"), "2");
}

TEST(RatelimitdProxy, UpstreamDownGives502ThenTheBreakerAnswers503WithRetryAfter) {
  // Nothing listens on this port.
  const int dead = unused_port();
  PolicyFile policy(kPerUser + "proxy:\n  breaker: {window: 4, minimum_calls: 4, open: 30s}\n");
  RatelimitdProcess server(RATELIMITD_BINARY,
                           {"--config", policy.path(), "--upstream",
                            "http://127.0.0.1:" + std::to_string(dead), "--proxy-listen",
                            "127.0.0.1:0"});
  const http_client::Endpoint endpoint{"127.0.0.1",
                                       static_cast<unsigned short>(server.proxy_port())};
  for (int i = 0; i < 4; ++i) {
    const HttpResponse r = http_client::request(endpoint, "GET", "/", "", {{"X-User-Id", "u" + std::to_string(i)}});
    EXPECT_EQ(r.status, 502u) << r.body;
    EXPECT_EQ(r.header("content-type"), "application/problem+json");
  }
  const HttpResponse open = http_client::request(endpoint, "GET", "/", "", {{"X-User-Id", "z"}});
  EXPECT_EQ(open.status, 503u) << open.body;
  const int retry = std::stoi(open.header("retry-after"));
  EXPECT_GE(retry, 1);
  EXPECT_LE(retry, 30);
  // The open breaker charged nobody: z still has its whole budget... which
  // we cannot spend while it is open, but /v1/decide shows it untouched.
  const auto d = json::parse(server.request("POST", "/v1/decide", R"({"user": "z"})").body).as_object();
  EXPECT_EQ(d.at("remaining").as_int64(), 2);
}

TEST(RatelimitdProxy, FailingStatusesOpenTheBreakerAndTheUpstreamIsNotCalled) {
  TestUpstream upstream;
  Proxy proxy(upstream, "proxy:\n  breaker: {window: 5, minimum_calls: 5, failure_rate: 0.6, open: 1m}\n");
  for (int i = 0; i < 5; ++i) EXPECT_EQ(proxy.get("/status/503").status, 503u);
  EXPECT_EQ(upstream.hits(), 5u);
  for (int i = 0; i < 5; ++i) {
    const HttpResponse r = proxy.get("/fine");
    EXPECT_EQ(r.status, 503u);
    EXPECT_NE(r.header("retry-after"), "");
    EXPECT_NE(r.body.find("circuit breaker"), std::string::npos) << r.body;
  }
  EXPECT_EQ(upstream.hits(), 5u) << "an open breaker does not call the upstream";
}

TEST(RatelimitdProxy, AnUpstreamThatNeverAnswersGets504AfterItsTimeout) {
  TestUpstream upstream;
  Proxy proxy(upstream, "proxy:\n  upstream_timeout: 300ms\n");
  const auto start = std::chrono::steady_clock::now();
  const HttpResponse r = proxy.get("/hang");
  const auto took = std::chrono::steady_clock::now() - start;
  EXPECT_EQ(r.status, 504u) << r.body;
  EXPECT_EQ(r.header("content-type"), "application/problem+json");
  // Not a timing test: only that the proxy gave up on its own, long before
  // the client's 30 s.
  EXPECT_LT(took, std::chrono::seconds(15));
  // The client connection and the proxy stay usable.
  EXPECT_EQ(proxy.get("/echo").status, 200u);
}

// SIGTERM while a response is being relayed: the transfer finishes, then
// the process exits 0 (graceful stop covers the proxy's connections too).
TEST(RatelimitdProxy, SigtermLetsATransferInProgressFinish) {
  TestUpstream upstream;
  Proxy proxy(upstream, "");
  const std::uint64_t n = 20 * 1024 * 1024;
  HttpResponse got;
  std::thread client([&] { got = proxy.get("/stream?bytes=" + std::to_string(n)); });
  // Wait (bounded) until the upstream has the request, then stop the proxy.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (upstream.hits() == 0 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::yield();
  }
  ASSERT_EQ(upstream.hits(), 1u);
  const int status = proxy.server.terminate();
  client.join();
  EXPECT_EQ(status, 0);
  EXPECT_EQ(got.status, 200u);
  EXPECT_EQ(got.body.size(), n);
}

TEST(RatelimitdProxy, BadUpstreamAndConfigAreRefusedAtStart) {
  PolicyFile bad("proxy:\n  upstream: https://example.com\n  error_format: xml\n");
  try {
    RatelimitdProcess server(RATELIMITD_BINARY, {"--config", bad.path()});
    FAIL() << "started with a bad proxy section";
  } catch (const std::runtime_error& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find("https is not supported"), std::string::npos) << what;
    EXPECT_NE(what.find("unknown error_format 'xml'"), std::string::npos) << what;
  }
  try {
    RatelimitdProcess server(RATELIMITD_BINARY, {"--upstream", "ftp://x"});
    FAIL() << "started with a bad --upstream";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("expected http://HOST[:PORT]"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace ratelimit::testing
