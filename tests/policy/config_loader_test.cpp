// Loading and validating policy configs: values, and errors with positions.
#include "ratelimit/policy/config_loader.hpp"

#include <gtest/gtest.h>

#include <fstream>

namespace ratelimit::policy {
namespace {

// The single issue a config produces (fails the test when not exactly one).
ConfigIssue only_issue(const std::string& yaml) {
  try {
    (void)load_config(yaml, "t.yaml");
  } catch (const ConfigError& e) {
    EXPECT_EQ(e.issues().size(), 1U) << e.what();
    if (!e.issues().empty()) return e.issues().front();
  }
  ADD_FAILURE() << "expected one issue for:\n" << yaml;
  return {};
}

TEST(Units, Durations) {
  EXPECT_EQ(parse_duration("250us"), 250);
  EXPECT_EQ(parse_duration("500ms"), 500'000);
  EXPECT_EQ(parse_duration("1s"), kMicrosPerSecond);
  EXPECT_EQ(parse_duration("5m"), 5 * kMicrosPerMinute);
  EXPECT_EQ(parse_duration("2h"), 2 * kMicrosPerHour);
  EXPECT_EQ(parse_duration("1d"), kMicrosPerDay);
  for (const char* bad : {"", "s", "1", "1.5s", "-1s", "1 s", "1y", "99999999999999999d"}) {
    EXPECT_FALSE(parse_duration(bad).has_value()) << bad;
  }
}

TEST(Units, RatesAreExactFractions) {
  const auto r = parse_rate("1.67/s");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->limit, 167);
  EXPECT_EQ(r->window, 100 * kMicrosPerSecond);
  EXPECT_EQ(parse_rate("0.1/s")->limit, 1);
  EXPECT_EQ(parse_rate("0.1/s")->window, 10 * kMicrosPerSecond);
  EXPECT_EQ(parse_rate("1.50/s")->limit, 15);
  EXPECT_EQ(parse_rate("100/min")->window, kMicrosPerMinute);
  EXPECT_EQ(parse_rate("10/100ms")->window, 100 * kMicrosPerMilli);
  EXPECT_EQ(parse_rate("10000/hour")->limit, 10000);
  for (const char* bad :
       {"", "10", "/s", "0/s", "-1/s", "1./s", "1.1234567/s", "10/parsec", "10/0s", "a/s"}) {
    EXPECT_FALSE(parse_rate(bad).has_value()) << bad;
  }
}

TEST(Units, Timestamps) {
  EXPECT_EQ(parse_timestamp("1970-01-01T00:00:00Z"), 0);
  EXPECT_EQ(parse_timestamp("2030-01-01T00:00:00Z"), 1'893'456'000 * kMicrosPerSecond);
  for (const char* bad : {"2030-01-01", "2030-02-30T00:00:00Z", "2030-01-01T00:00:00+01:00",
                          "2030-13-01T00:00:00Z"}) {
    EXPECT_FALSE(parse_timestamp(bad).has_value()) << bad;
  }
}

TEST(ConfigLoader, EmptyConfigHasNoLimits) {
  const auto c = load_config("", "empty.yaml");
  EXPECT_TRUE(c.tiers.empty());
  EXPECT_TRUE(c.limits.empty());
  EXPECT_EQ(c.store.url, "memory");
}

TEST(ConfigLoader, ReadsEveryKind) {
  const auto c = load_config(R"(
version: 1
store: {url: "redis://127.0.0.1:6379?prefix=x:", refresh: 250ms}
shadow: false
caller: [user, ip]
api_keys: {salt: pepper}
ipv6_prefix: 56
paths: {numeric_ids: true, uuids: false, opaque_min_length: 20, placeholder: ":id"}
default_tier: free
tiers:
  free:
    cost_multiplier: 2
    limits:
      - {name: per_minute, rate: 100/min}
      - {name: per_day, algorithm: fixed_window, limit: 1000, window: 1d, shadow: true}
limits:
  - {name: per_user_endpoint, scope: [user, endpoint], algorithm: gcra, rate: 5/s, burst: 10}
  - {name: shaped, scope: ip, algorithm: leaky_bucket, mode: shape, rate: 1/s, counts: requests}
endpoints:
  - match: POST /x/**
    cost: 3
tier_assignments:
  - {api_key: secret, tier: free, expires: "2031-01-01T00:00:00Z"}
whitelist:
  - {cidr: "2001:db8::/32", reason: lab, added_by: ops}
denylist:
  - {ip: "::ffff:192.0.2.1"}
)",
                             "full.yaml");
  EXPECT_EQ(c.store.refresh_interval, 250'000);
  EXPECT_EQ(c.caller, (std::vector<Attribute>{Attribute::user, Attribute::ip}));
  EXPECT_EQ(c.api_key_salt, "pepper");
  EXPECT_EQ(c.ipv6_prefix, 56);
  EXPECT_FALSE(c.paths.uuids);
  EXPECT_EQ(c.paths.placeholder, ":id");
  ASSERT_EQ(c.tiers.size(), 1U);
  EXPECT_EQ(c.tiers[0].cost_multiplier, 2.0);
  EXPECT_EQ(c.tiers[0].limits[0].scope, std::vector<Attribute>{Attribute::caller});
  EXPECT_TRUE(c.tiers[0].limits[1].shadow);
  EXPECT_EQ(c.tiers[0].limits[1].spec.algorithm(), Algorithm::fixed_window);
  EXPECT_EQ(c.limits[0].scope, (std::vector<Attribute>{Attribute::user, Attribute::endpoint}));
  EXPECT_EQ(c.limits[0].spec.burst(), 10);
  EXPECT_EQ(c.limits[1].spec.mode(), LeakyMode::shape);
  EXPECT_EQ(c.limits[1].counts, Counts::requests);
  EXPECT_EQ(c.endpoints[0].pattern.text, "POST /x/**");
  EXPECT_EQ(c.tier_assignments[0].type, IdType::api_key);
  EXPECT_EQ(c.whitelist[0].range->prefix_length, 32);
  EXPECT_EQ(c.denylist[0].id, "192.0.2.1") << "addresses are kept in canonical form";
}

struct BadCase {
  const char* name;
  const char* yaml;
  int line;
  int column;
  const char* message_part;
  const char* hint_part;
};

class BadConfig : public ::testing::TestWithParam<BadCase> {};

TEST_P(BadConfig, NamesTheProblemAndWhereItIs) {
  const BadCase& c = GetParam();
  const ConfigIssue issue = only_issue(c.yaml);
  EXPECT_EQ(issue.file, "t.yaml");
  EXPECT_EQ(issue.line, c.line) << issue.to_string();
  EXPECT_EQ(issue.column, c.column) << issue.to_string();
  EXPECT_NE(issue.message.find(c.message_part), std::string::npos) << issue.to_string();
  EXPECT_NE(issue.hint.find(c.hint_part), std::string::npos) << issue.to_string();
}

INSTANTIATE_TEST_SUITE_P(
    Cases, BadConfig,
    ::testing::Values(
        BadCase{"yaml_syntax", "tiers: [a, b\nx: 1\n", 2, 2, "not valid YAML", ""},
        BadCase{"unknown_top_key", "tieers: {}\n", 1, 1, "unknown key 'tieers'",
                "did you mean 'tiers'?"},
        BadCase{"unknown_limit_key", "limits:\n  - {name: a, scope: ip, rate: 1/s, brust: 3}\n", 2,
                37, "unknown key 'brust'", "did you mean 'burst'?"},
        BadCase{"wrong_type_list", "limits: {name: a}\n", 1, 9, "must be a list", ""},
        BadCase{"wrong_type_number", "limits:\n  - {name: a, scope: ip, limit: ten, window: 1s}\n",
                2, 33, "must be a whole number", ""},
        BadCase{"non_positive_limit", "limits:\n  - {name: a, scope: ip, limit: 0, window: 1s}\n",
                2, 33, "outside 1..", ""},
        BadCase{"non_positive_rate", "limits:\n  - {name: a, scope: ip, rate: 0/s}\n", 2, 32,
                "positive count", "100/min"},
        BadCase{"bad_window", "limits:\n  - {name: a, scope: ip, limit: 5, window: 60}\n", 2, 44,
                "positive duration", "1s"},
        BadCase{"rate_and_limit",
                "limits:\n  - {name: a, scope: ip, rate: 1/s, limit: 5, window: 1s}\n", 2, 32,
                "both 'rate' and 'limit'", ""},
        BadCase{"no_rate", "limits:\n  - {name: a, scope: ip}\n", 2, 5, "needs 'rate'", ""},
        BadCase{
            "duplicate_limit",
            "limits:\n  - {name: a, scope: ip, rate: 1/s}\n  - {name: a, scope: user, rate: 1/s}\n",
            3, 5, "duplicate limit name 'a'", ""},
        BadCase{"duplicate_key", "shadow: true\nshadow: false\n", 2, 1, "duplicate key 'shadow'",
                ""},
        BadCase{"burst_on_window",
                "limits:\n  - {name: a, scope: ip, algorithm: fixed_window, rate: 1/s, burst: 2}\n",
                2, 5, "burst applies only", ""},
        BadCase{"unknown_algorithm",
                "limits:\n  - {name: a, scope: ip, algorithm: bucket, rate: 1/s}\n", 2, 37,
                "bucket", ""},
        BadCase{"unknown_scope", "limits:\n  - {name: a, scope: tenant, rate: 1/s}\n", 2, 22,
                "unknown scope attribute", "caller"},
        BadCase{"global_in_composite", "limits:\n  - {name: a, scope: [global, ip], rate: 1/s}\n",
                2, 23, "'global' cannot be combined", ""},
        BadCase{"missing_scope", "limits:\n  - {name: a, rate: 1/s}\n", 2, 5, "needs 'scope'", ""},
        BadCase{"bad_name", "limits:\n  - {name: 'a b', scope: ip, rate: 1/s}\n", 2, 12,
                "not a valid name", ""},
        BadCase{"unknown_default_tier",
                "default_tier: fre\ntiers:\n  free: {limits: [{name: a, rate: 1/s}]}\n", 1, 15,
                "not a defined tier", "did you mean 'free'?"},
        BadCase{"missing_default_tier", "tiers:\n  free: {limits: [{name: a, rate: 1/s}]}\n", 1, 1,
                "'default_tier' is required", ""},
        BadCase{"assignment_to_unknown_tier",
                "default_tier: free\ntiers:\n  free: {limits: [{name: a, rate: "
                "1/s}]}\ntier_assignments:\n  - {user: u, tier: gold}\n",
                5, 21, "tier 'gold'", "tiers: free"},
        BadCase{"multiplier", "default_tier: f\ntiers:\n  f: {cost_multiplier: 0, limits: []}\n", 3,
                24, "'cost_multiplier'", ""},
        BadCase{"endpoint_pattern", "endpoints:\n  - {match: get /x}\n", 2, 13, "uppercase",
                "METHOD /path"},
        BadCase{"duplicate_endpoint", "endpoints:\n  - {match: GET /x}\n  - {match: GET /x}\n", 3,
                13, "defined twice", ""},
        BadCase{"cost_above_capacity",
                "default_tier: f\ntiers:\n  f: {limits: [{name: a, rate: 1/s, burst: "
                "10}]}\nendpoints:\n  - {match: POST /big, cost: 11}\n",
                5, 30, "could never be admitted", "lower the cost"},
        BadCase{"multiplied_cost_above_capacity",
                "default_tier: f\ntiers:\n  f: {cost_multiplier: 3, limits: [{name: a, rate: 1/s, "
                "burst: 10}]}\nendpoints:\n  - {match: POST /big, cost: 4}\n",
                5, 30, "in tier 'f' costs 12", ""},
        BadCase{"both_lists", "whitelist:\n  - {user: u}\ndenylist:\n  - {user: u}\n", 4, 3,
                "both whitelisted and denylisted", ""},
        BadCase{"bad_cidr", "whitelist:\n  - {cidr: 10.0.0.1/8}\n", 2, 12,
                "host bits are set; did you mean 10.0.0.0/8?", ""},
        BadCase{"bad_ip", "denylist:\n  - {ip: 300.1.1.1}\n", 2, 10, "not an IPv4 or IPv6 address",
                ""},
        BadCase{"two_identifiers", "whitelist:\n  - {user: u, ip: 1.2.3.4}\n", 2, 5,
                "more than one identifier", ""},
        BadCase{"bad_timestamp", "whitelist:\n  - {user: u, expires: tomorrow}\n", 2, 24,
                "UTC timestamp", "2027-01-31T12:00:00Z"},
        BadCase{"store_url", "store: {url: 'http://x'}\n", 1, 14, "", "redis://"},
        BadCase{"name_collision",
                "default_tier: f\ntiers:\n  f: {limits: [{name: g, rate: 1/s}]}\nlimits:\n  - "
                "{name: g, scope: ip, rate: 1/s}\n",
                3, 16, "name of a top-level limit", ""},
        BadCase{"version", "version: 2\n", 1, 10, "version 2 is not supported", ""},
        BadCase{"caller", "caller: [endpoint]\n", 1, 10, "only api_key, user and ip", ""}),
    [](const ::testing::TestParamInfo<BadCase>& param) { return std::string(param.param.name); });

TEST(ConfigLoader, ReportsEveryProblemNotJustTheFirst) {
  try {
    (void)load_config(
        "limits:\n  - {name: a, scope: ip, rate: 0/s}\n  - {name: b, scope: nobody, rate: "
        "1/s}\nfoo: 1\n",
        "t.yaml");
    FAIL() << "expected ConfigError";
  } catch (const ConfigError& e) {
    EXPECT_EQ(e.issues().size(), 3U) << e.what();
    EXPECT_NE(std::string(e.what()).find("t.yaml:2:"), std::string::npos) << e.what();
  }
}

TEST(ConfigLoader, TooManyLimitsForOneDecision) {
  std::string yaml = "limits:\n";
  for (int i = 0; i < 33; ++i)
    yaml += "  - {name: l" + std::to_string(i) + ", scope: ip, rate: 1/s}\n";
  EXPECT_NE(only_issue(yaml).message.find("at most 32"), std::string::npos);
}

TEST(ConfigLoader, UnreadableFile) {
  try {
    (void)load_config_file("/nonexistent/policy.yaml");
    FAIL();
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("/nonexistent/policy.yaml: cannot read"),
              std::string::npos);
  }
}

TEST(ConfigLoader, SaltFromEnvironment) {
  ::setenv("RATELIMIT_TEST_SALT", "from-env", 1);
  EXPECT_EQ(load_config("api_keys: {salt_env: RATELIMIT_TEST_SALT}\n").api_key_salt, "from-env");
  ::unsetenv("RATELIMIT_TEST_SALT");
  EXPECT_THROW((void)load_config("api_keys: {salt_env: RATELIMIT_TEST_SALT}\n"), ConfigError);
}

}  // namespace
}  // namespace ratelimit::policy
