// The `proxy:` section of a policy config and the upstream URL syntax.
#include <gtest/gtest.h>

#include "ratelimit/policy/config_loader.hpp"

namespace ratelimit::policy {
namespace {

TEST(ProxyConfig, DefaultsWithoutASection) {
  const PolicyConfig c = load_config("limits: []\n", "t.yaml");
  EXPECT_TRUE(c.proxy.upstream.empty());
  EXPECT_EQ(c.proxy.user_header, "X-User-Id");
  EXPECT_EQ(c.proxy.bypass, (std::vector<std::string>{"/health", "/metrics"}));
  EXPECT_EQ(c.proxy.error_format, ErrorFormat::problem);
  EXPECT_EQ(c.proxy.failure_statuses, (std::vector<int>{502, 503, 504}));
}

TEST(ProxyConfig, ReadsEveryKey) {
  const PolicyConfig c = load_config(R"(
proxy:
  upstream: http://[::1]:3000/
  listen: 0.0.0.0:8081
  user_header: X-User
  api_key_header: Authorization-Key
  api_key_query: key
  trusted_proxies: [10.0.0.0/8, "::1/128"]
  bypass: [/status, /static/]
  error_format: jsonapi
  failure_statuses: [500, 502]
  connect_timeout: 250ms
  upstream_timeout: 2s
  pool_size: 8
  breaker: {failure_rate: 0.25, window: 40, minimum_calls: 10, open: 1m}
)",
                                     "t.yaml");
  const ProxyConfig& p = c.proxy;
  EXPECT_EQ(p.upstream, "http://[::1]:3000/");
  EXPECT_EQ(parse_upstream_url(p.upstream), (UpstreamAddress{"::1", 3000}));
  EXPECT_EQ(p.listen, "0.0.0.0:8081");
  EXPECT_EQ(p.user_header, "X-User");
  EXPECT_EQ(p.api_key_header, "Authorization-Key");
  EXPECT_EQ(p.api_key_query, "key");
  ASSERT_EQ(p.trusted_proxies.size(), 2u);
  EXPECT_EQ(p.trusted_proxies[1].to_string(), "::1/128");
  EXPECT_EQ(p.bypass, (std::vector<std::string>{"/status", "/static/"}));
  EXPECT_EQ(p.error_format, ErrorFormat::jsonapi);
  EXPECT_EQ(p.failure_statuses, (std::vector<int>{500, 502}));
  EXPECT_EQ(p.connect_timeout, 250'000);
  EXPECT_EQ(p.upstream_timeout, 2'000'000);
  EXPECT_EQ(p.pool_size, 8);
  EXPECT_DOUBLE_EQ(p.breaker_failure_rate, 0.25);
  EXPECT_EQ(p.breaker_window, 40);
  EXPECT_EQ(p.breaker_minimum_calls, 10);
  EXPECT_EQ(p.breaker_open, 60'000'000);
}

// Every bad value is reported with its position, all at once.
TEST(ProxyConfig, BadValuesAreNamedWithPositions) {
  try {
    (void)load_config(R"(proxy:
  upstream: https://api.example.com
  trusted_proxies: [10.0.0.1/8]
  bypass: [health]
  error_format: xml
  failure_statuses: [700]
  pool_size: -1
  breaker: {window: 2, minimum_calls: 3}
  timeout: 1s
)",
                      "t.yaml");
    FAIL() << "expected ConfigError";
  } catch (const ConfigError& e) {
    const std::string all = e.what();
    for (const char* part : {"t.yaml:2:13: upstream 'https://api.example.com': https is not supported",
                             "t.yaml:3:21", "t.yaml:4:12: bypass path 'health' must start with '/'",
                             "t.yaml:5:17: unknown error_format 'xml'",
                             "t.yaml:6:22: failure status '700' is not an HTTP status",
                             "t.yaml:7:14", "t.yaml:8:12: 'minimum_calls' in 'proxy.breaker' is above 'window'",
                             "t.yaml:9:3"}) {
      EXPECT_NE(all.find(part), std::string::npos) << "missing: " << part << "\n" << all;
    }
    EXPECT_EQ(e.issues().size(), 8u) << all;
  }
}

TEST(ProxyConfig, UpstreamUrls) {
  EXPECT_EQ(parse_upstream_url("http://api"), (UpstreamAddress{"api", 80}));
  EXPECT_EQ(parse_upstream_url("http://127.0.0.1:3000"), (UpstreamAddress{"127.0.0.1", 3000}));
  EXPECT_EQ(parse_upstream_url("http://[2001:db8::1]"), (UpstreamAddress{"2001:db8::1", 80}));
  for (const char* bad : {"", "api:80", "http://", "http://:80", "http://a:0", "http://a:65536",
                          "http://a:x", "http://a:", "http://a/path", "http://u@a", "http://[::1",
                          "http://[::1]x", "https://a", "ftp://a"}) {
    EXPECT_THROW((void)parse_upstream_url(bad), std::invalid_argument) << bad;
  }
}

}  // namespace
}  // namespace ratelimit::policy

namespace ratelimit::policy {
namespace {

TEST(ServiceConfig, ReadsHeadersAdminAndAlerts) {
  const PolicyConfig c = load_config(R"(
service:
  headers: [ietf, github]
  admin_token_env: MY_TOKEN
  admin_token: 0123456789abcdef0123
  audit_log: /tmp/audit.jsonl
  alerts: {window: 10m, min_volume: 5, block_rate_warning: 0.2, block_rate_critical: 0.4,
           volume_high_per_minute: 1000, volume_low_per_minute: 1, p99_latency_ms: 5}
)",
                                     "t.yaml");
  const ServiceConfig& s = c.service;
  EXPECT_EQ(s.headers, (std::vector<std::string>{"ietf", "github"}));
  EXPECT_EQ(s.admin_token_env, "MY_TOKEN");
  EXPECT_EQ(s.admin_token, "0123456789abcdef0123");
  EXPECT_EQ(s.audit_log, "/tmp/audit.jsonl");
  EXPECT_EQ(s.alerts.window_minutes, 10);
  EXPECT_EQ(s.alerts.min_volume, 5U);
  EXPECT_DOUBLE_EQ(s.alerts.block_rate_warning, 0.2);
  EXPECT_DOUBLE_EQ(s.alerts.block_rate_critical, 0.4);
  EXPECT_EQ(s.alerts.volume_high_per_minute, 1000.0);
  EXPECT_EQ(s.alerts.volume_low_per_minute, 1.0);
  EXPECT_DOUBLE_EQ(s.alerts.p99_latency_ms, 5.0);
}

TEST(ServiceConfig, BadValuesAreNamedWithPositions) {
  try {
    (void)load_config(R"(service:
  headers: [ietf, draft-7]
  admin_token: short
  alerts: {window: 90s, block_rate_warning: 0.6, block_rate_critical: 0.5}
  colour: blue
)",
                      "t.yaml");
    FAIL() << "expected ConfigError";
  } catch (const ConfigError& e) {
    const std::string all = e.what();
    for (const char* part : {"t.yaml:2:19: unknown header style 'draft-7'",
                             "t.yaml:3:16: 'admin_token' is shorter than 16 characters",
                             "t.yaml:4:20: 'window' in 'service.alerts' must be whole minutes",
                             "'block_rate_critical' is below 'block_rate_warning'", "t.yaml:5:3"}) {
      EXPECT_NE(all.find(part), std::string::npos) << "missing: " << part << "\n" << all;
    }
    EXPECT_EQ(e.issues().size(), 5u) << all;
  }
}

}  // namespace
}  // namespace ratelimit::policy
