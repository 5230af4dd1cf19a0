// GET /v1/stats, GET /v1/alerts and the dashboard's files against the real
// ratelimitd: the counts match the traffic sent, a bad range is 400.

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <boost/json.hpp>
#include <chrono>
#include <string>

#include "ratelimitd_process.hpp"

namespace ratelimit::testing {
namespace {

namespace json = boost::json;

json::object get_json(const RatelimitdProcess& server, const std::string& target) {
  const HttpResponse r = server.request("GET", target);
  EXPECT_EQ(r.status, 200u) << target << ": " << r.body;
  return json::parse(r.body).as_object();
}

void check(const RatelimitdProcess& server, const std::string& key, int limit, int times) {
  const std::string body = R"({"key": ")" + key + R"(", "limit": )" + std::to_string(limit) +
                           R"(, "window_ms": 600000})";
  for (int i = 0; i < times; ++i) ASSERT_EQ(server.request("POST", "/v1/check", body).status, 200u);
}

std::uint64_t count(const json::object& o, const char* name) {
  return o.at(name).to_number<std::uint64_t>();
}

TEST(RatelimitdStats, CountsMatchTheTraffic) {
  RatelimitdProcess server(RATELIMITD_BINARY,
                           {"--config", RATELIMIT_SOURCE_DIR "/examples/endpoints.yaml"});
  check(server, "alpha", 2, 5);  // 2 allowed, 3 denied
  check(server, "beta", 1, 2);   // 1 allowed, 1 denied
  // POST /ocr/batch: a burst of 10 per caller, then denied by `ocr_batch`.
  const std::string batch = R"({"user": "heavy", "method": "POST", "path": "/ocr/batch"})";
  for (int i = 0; i < 12; ++i) ASSERT_EQ(server.request("POST", "/v1/decide", batch).status, 200u);
  EXPECT_EQ(server.request("POST", "/v1/check", "{").status, 400u);  // not a decision

  for (const char* range : {"1h", "24h", "7d"}) {
    SCOPED_TRACE(range);
    const json::object s = get_json(server, std::string("/v1/stats?range=") + range);
    EXPECT_EQ(s.at("range").as_string(), range);
    EXPECT_EQ(count(s, "total"), 19u);
    EXPECT_EQ(count(s, "allowed"), 13u);
    EXPECT_EQ(count(s, "blocked"), 6u);
    EXPECT_DOUBLE_EQ(s.at("block_rate").as_double(), 6.0 / 19.0);
    const auto& by_scope = s.at("by_scope").as_object();
    EXPECT_EQ(count(by_scope.at("").as_object(), "allowed"), 3u);  // /v1/check has no scope
    EXPECT_EQ(count(by_scope.at("").as_object(), "blocked"), 4u);
    EXPECT_EQ(count(by_scope.at("ocr_batch").as_object(), "blocked"), 2u);
    const auto& standard = s.at("by_tier").as_object().at("standard").as_object();
    EXPECT_EQ(count(standard, "allowed"), 10u);
    EXPECT_EQ(count(standard, "blocked"), 2u);
    const auto& endpoint = s.at("by_endpoint").as_object().at("POST /ocr/batch").as_object();
    EXPECT_EQ(count(endpoint, "allowed"), 10u);
    EXPECT_EQ(count(endpoint, "blocked"), 2u);

    const auto& top = s.at("top_limited").as_array();
    ASSERT_EQ(top.size(), 3u);
    EXPECT_EQ(top[0].at("identifier").as_string(), "alpha");
    EXPECT_EQ(count(top[0].as_object(), "blocked"), 3u);
    EXPECT_EQ(top[1].at("identifier").as_string(), "user:heavy");
    EXPECT_EQ(count(top[1].as_object(), "blocked"), 2u);
    EXPECT_EQ(top[2].at("identifier").as_string(), "beta");
    EXPECT_EQ(count(top[2].as_object(), "error"), 0u);

    std::uint64_t in_series = 0;
    for (const auto& p : s.at("series").at("points").as_array())
      in_series += count(p.as_object(), "allowed") + count(p.as_object(), "blocked");
    EXPECT_EQ(in_series, 19u);
    EXPECT_EQ(count(s.at("latency").as_object(), "samples"), 19u);
    EXPECT_EQ(count(s.at("lifetime").as_object(), "allowed"), 13u);
  }
  EXPECT_EQ(get_json(server, "/v1/stats").at("range").as_string(), "1h");  // the default
}

TEST(RatelimitdStats, ApiKeysAreListedByTheirHashOnly) {
  RatelimitdProcess server(RATELIMITD_BINARY,
                           {"--config", RATELIMIT_SOURCE_DIR "/examples/endpoints.yaml"});
  // A denylisted address: denied; the caller is named by its API key first.
  const std::string denied = R"({"api_key": "sk-secret-123", "ip": "203.0.113.66"})";
  ASSERT_EQ(server.request("POST", "/v1/decide", denied).status, 200u);
  const json::object s = get_json(server, "/v1/stats");
  EXPECT_EQ(count(s.at("by_scope").as_object().at("denylist").as_object(), "blocked"), 1u);
  const auto& top = s.at("top_limited").as_array();
  ASSERT_EQ(top.size(), 1u);
  const std::string id(top[0].at("identifier").as_string());
  EXPECT_EQ(id.rfind("api_key:h:", 0), 0u) << id;
  EXPECT_EQ(id.size(), 24u) << id;
  EXPECT_EQ(id.find("sk-secret"), std::string::npos) << id;
}

TEST(RatelimitdStats, BadRangeIs400NamingIt) {
  RatelimitdProcess server(RATELIMITD_BINARY, {});
  for (const char* target :
       {"/v1/stats?range=2h", "/v1/stats?range=", "/v1/stats?range=1H", "/v1/events?range=30d"}) {
    const HttpResponse r = server.request("GET", target);
    EXPECT_EQ(r.status, 400u) << target;
    EXPECT_EQ(r.header("content-type"), "application/problem+json") << target;
    EXPECT_EQ(json::parse(r.body).at("field").as_string(), "range") << target;
  }
  const HttpResponse post = server.request("POST", "/v1/stats", "{}");
  EXPECT_EQ(post.status, 405u);
  EXPECT_EQ(post.header("allow"), "GET");
  EXPECT_EQ(server.request("DELETE", "/v1/alerts").status, 405u);
}

TEST(RatelimitdStats, BlockRateAlertFromTheDefaults) {
  RatelimitdProcess server(RATELIMITD_BINARY, {});
  check(server, "quiet", 1000, 100);  // 100 allowed: no alert
  json::object a = get_json(server, "/v1/alerts");
  EXPECT_TRUE(a.at("alerts").as_array().empty());
  EXPECT_DOUBLE_EQ(a.at("rules").at("block_rate_warning").as_double(), 0.30);
  EXPECT_EQ(a.at("rules").at("window_minutes").as_int64(), 5);

  check(server, "noisy", 10, 200);  // 10 allowed, 190 denied: 190 of 300 blocked
  a = get_json(server, "/v1/alerts");
  const auto& alerts = a.at("alerts").as_array();
  ASSERT_EQ(alerts.size(), 1u) << json::serialize(a);
  const auto& alert = alerts[0].as_object();
  EXPECT_EQ(alert.at("name").as_string(), "block_rate");
  EXPECT_EQ(alert.at("severity").as_string(), "critical");
  EXPECT_DOUBLE_EQ(alert.at("value").as_double(), 190.0 / 300.0);
  EXPECT_DOUBLE_EQ(alert.at("threshold").as_double(), 0.50);
  EXPECT_FALSE(alert.at("message").as_string().empty());
  EXPECT_FALSE(alert.at("since").as_string().empty());
}

TEST(RatelimitdStats, DashboardIsServedFromTheBinary) {
  RatelimitdProcess server(RATELIMITD_BINARY, {});
  const HttpResponse page = server.request("GET", "/dashboard");
  ASSERT_EQ(page.status, 200u);
  EXPECT_EQ(page.header("content-type"), "text/html; charset=utf-8");
  EXPECT_NE(page.body.find("/dashboard/dashboard.js"), std::string::npos);
  const HttpResponse script = server.request("GET", "/dashboard/dashboard.js");
  ASSERT_EQ(script.status, 200u);
  EXPECT_NE(script.body.find("/v1/events"), std::string::npos);
  EXPECT_EQ(server.request("GET", "/dashboard/dashboard.css").status, 200u);
  EXPECT_EQ(server.request("GET", "/dashboard/missing.js").status, 404u);
  // Nothing is fetched from the internet: no URL but the SVG namespace.
  for (const auto* body : {&page.body, &script.body}) {
    std::string rest = *body;
    for (auto at = rest.find("http"); at != std::string::npos; at = rest.find("http", at + 1))
      EXPECT_EQ(rest.compare(at, 26, "http://www.w3.org/2000/svg"), 0) << rest.substr(at, 40);
  }
}

// Reads from `fd` into `out` until `done(out)` or `deadline`; false on
// timeout. True also at end of stream when `until_eof`.
template <class Done>
bool read_until(int fd, std::string& out, std::chrono::steady_clock::time_point deadline,
                Done done) {
  while (!done(out)) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) return false;
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(left.count())) <= 0) return false;
    char buffer[4096];
    const ssize_t n = ::read(fd, buffer, sizeof buffer);
    if (n <= 0) return done(out + "\x04");  // end of stream marker
    out.append(buffer, static_cast<std::size_t>(n));
  }
  return true;
}

TEST(RatelimitdStats, EventStreamSendsSnapshotsAndEndsOnStop) {
  RatelimitdProcess server(RATELIMITD_BINARY, {});
  check(server, "streamed", 1, 3);  // 1 allowed, 2 denied
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  ASSERT_GE(fd, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(static_cast<std::uint16_t>(server.port()));
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::connect(fd, reinterpret_cast<const sockaddr*>(&address), sizeof address), 0);
  const std::string request = "GET /v1/events?range=24h HTTP/1.1\r\nHost: test\r\n\r\n";
  ASSERT_EQ(::write(fd, request.data(), request.size()), static_cast<ssize_t>(request.size()));

  // The first snapshot comes at once, the second a second later.
  std::string got;
  const auto two_events = [](const std::string& text) {
    const auto first = text.find("event: snapshot\ndata: ");
    return first != std::string::npos &&
           text.find("event: snapshot\ndata: ", first + 1) != std::string::npos &&
           text.rfind("\n\n") > text.rfind("event: snapshot");
  };
  ASSERT_TRUE(
      read_until(fd, got, std::chrono::steady_clock::now() + std::chrono::seconds(10), two_events))
      << got;
  EXPECT_EQ(got.rfind("HTTP/1.1 200 OK\r\n", 0), 0u) << got;
  EXPECT_NE(got.find("Content-Type: text/event-stream\r\n"), std::string::npos);
  const auto data = got.find("data: ") + 6;
  const json::object snapshot =
      json::parse(got.substr(data, got.find('\n', data) - data)).as_object();
  EXPECT_EQ(snapshot.at("stats").at("range").as_string(), "24h");
  EXPECT_EQ(snapshot.at("stats").at("blocked").to_number<int>(), 2);
  EXPECT_EQ(snapshot.at("ready").at("status").as_string(), "ready");
  EXPECT_TRUE(snapshot.at("alerts").as_array().empty());

  // A graceful stop does not wait for the stream: it is closed at once.
  const auto stop_started = std::chrono::steady_clock::now();
  EXPECT_EQ(server.terminate(), 0);
  EXPECT_LT(std::chrono::steady_clock::now() - stop_started, std::chrono::seconds(5));
  EXPECT_TRUE(read_until(fd, got, std::chrono::steady_clock::now() + std::chrono::seconds(5),
                         [](const std::string& text) { return text.ends_with("\x04"); }));
  ::close(fd);
}

}  // namespace
}  // namespace ratelimit::testing
