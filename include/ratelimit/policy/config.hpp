#pragma once
/// @file config.hpp
/// The policy configuration model: what `load_config` produces from YAML and
/// what PolicyEngine compiles. Every field here is named in docs/config.md.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "ratelimit/http/denial_body.hpp"
#include "ratelimit/limit_spec.hpp"
#include "ratelimit/policy/cidr_set.hpp"
#include "ratelimit/policy/endpoint_table.hpp"
#include "ratelimit/policy/path_normalizer.hpp"
#include "ratelimit/telemetry/alert_rules.hpp"
#include "ratelimit/time.hpp"

namespace ratelimit::policy {

/// Request attributes a limit can be keyed by. `caller` is the first present
/// of the configured caller attributes (by default api_key, then user, then ip).
enum class Attribute : std::uint8_t { ip, user, api_key, endpoint, caller };

/// Identifier types of tier assignments and of whitelist/denylist entries.
enum class IdType : std::uint8_t { user, ip, api_key };

[[nodiscard]] std::string_view to_string(Attribute a) noexcept;
[[nodiscard]] std::string_view to_string(IdType t) noexcept;
/// nullopt for an unknown name.
[[nodiscard]] std::optional<Attribute> parse_attribute(std::string_view name) noexcept;
[[nodiscard]] std::optional<IdType> parse_id_type(std::string_view name) noexcept;

/// What a limit counts: cost units (each request its cost: the endpoint's
/// cost times the tier's multiplier, or the cost the request names), or
/// requests (each request 1, whatever it costs).
enum class Counts : std::uint8_t { cost, requests };

/// One limit and whose requests it counts together.
struct LimitRule {
  /// Unique within its section (the top-level list, one tier, one endpoint).
  std::string name;
  LimitSpec spec{Algorithm::token_bucket, 1, kMicrosPerSecond};
  /// Attributes whose values make the key, in order; empty = one global key.
  std::vector<Attribute> scope;
  /// Evaluated and counted, never denies.
  bool shadow = false;
  Counts counts = Counts::cost;
};

struct Tier {
  std::string name;
  /// Every request's cost is multiplied by this, then rounded up.
  double cost_multiplier = 1.0;
  std::vector<LimitRule> limits;
};

struct EndpointRule {
  EndpointPattern pattern;
  /// Cost of one request (when the request names none).
  std::int64_t cost = 1;
  std::vector<LimitRule> limits;
};

/// A whitelist or denylist entry: an identifier or (type ip) a CIDR range.
struct ListEntry {
  IdType type = IdType::user;
  /// The identifier as configured (an api_key is hashed when compiled).
  std::string id;
  /// Set for CIDR entries (type is then ip).
  std::optional<CidrRange> range;
  std::string reason;
  std::string added_by;
  /// Unix µs when it was added (runtime entries; 0 for config entries).
  Micros added_at = 0;
  /// Unix µs; nullopt = in force until removed.
  std::optional<Micros> expires_at;
};

struct TierAssignment {
  IdType type = IdType::user;
  std::string id;
  std::string tier;
  std::optional<Micros> expires_at;
};

struct StoreConfig {
  /// "memory" or a Redis URL (see open_store).
  std::string url = "memory";
  /// How often each instance looks for tier and list changes made by others.
  Micros refresh_interval = kMicrosPerSecond;
  friend bool operator==(const StoreConfig&, const StoreConfig&) = default;
};

using http::ErrorFormat;

/// Where a proxy sends requests: `http://HOST[:PORT][/]` (HOST a name, an
/// IPv4 address or a bracketed IPv6 address; PORT defaults to 80).
struct UpstreamAddress {
  std::string host;
  std::uint16_t port = 80;
  friend bool operator==(const UpstreamAddress&, const UpstreamAddress&) = default;
};
/// Throws std::invalid_argument quoting `url` and naming what is wrong
/// (https is not supported: terminate TLS in front of the proxy).
[[nodiscard]] UpstreamAddress parse_upstream_url(std::string_view url);

/// Proxy mode (`proxy:`): ratelimitd in front of an HTTP upstream. Read at
/// start only: a reload that changes it is rejected (restart to apply).
struct ProxyConfig {
  /// "http://HOST:PORT"; empty: no proxy (unless given on the command line).
  std::string upstream;
  /// "HOST:PORT" the proxy listens on; empty: the command line's --proxy-listen.
  std::string listen;
  /// Request header naming the user (absent: no user attribute).
  std::string user_header = "X-User-Id";
  /// Request header carrying the API key, then the query parameter.
  std::string api_key_header = "X-API-Key";
  std::string api_key_query = "api_key";
  /// Peers whose X-Forwarded-For / X-Real-IP are believed. Empty: none, so
  /// the client IP is always the socket's peer.
  std::vector<CidrRange> trusted_proxies;
  /// Paths forwarded without any limit (exact match, or a prefix ending in '/').
  std::vector<std::string> bypass{"/health", "/metrics"};
  ErrorFormat error_format = ErrorFormat::problem;
  /// Upstream statuses that count as failures for the proxy's breaker
  /// (besides connection errors and timeouts).
  std::vector<int> failure_statuses{502, 503, 504};
  /// Time to connect to the upstream, and to get its response headers.
  Micros connect_timeout = 5 * kMicrosPerSecond;
  Micros upstream_timeout = 30 * kMicrosPerSecond;
  /// Idle keep-alive connections kept per event loop.
  std::int64_t pool_size = 64;
  /// The upstream circuit breaker: opens when at least `breaker_failure_rate`
  /// of the last `breaker_window` calls failed (once `breaker_minimum_calls`
  /// were seen), stays open `breaker_open`, then lets one probe through.
  double breaker_failure_rate = 0.5;
  std::int64_t breaker_window = 20;
  std::int64_t breaker_minimum_calls = 5;
  Micros breaker_open = 10 * kMicrosPerSecond;
  friend bool operator==(const ProxyConfig&, const ProxyConfig&) = default;
};

/// ratelimitd's own settings (`service:`). Read at start only: a reload
/// that changes them is rejected (restart to apply). Command-line flags win.
struct ServiceConfig {
  /// Rate-limit header styles ("ietf", "x-ratelimit", "github", "twitter");
  /// empty: not configured (ratelimitd's --headers default applies).
  std::vector<std::string> headers;
  /// Environment variable holding the admin API's bearer token.
  std::string admin_token_env;
  /// The token itself (admin_token_env keeps it out of the file).
  std::string admin_token;
  /// JSON-lines audit log of admin changes.
  std::string audit_log;
  /// Thresholds of /v1/alerts (ratelimit::telemetry::AlertRules).
  ratelimit::telemetry::AlertRules alerts;
  friend bool operator==(const ServiceConfig&, const ServiceConfig&) = default;
};

struct PolicyConfig {
  StoreConfig store;
  /// ratelimitd's settings (headers, admin, alerts).
  ServiceConfig service;
  /// Proxy mode settings (ratelimitd only).
  ProxyConfig proxy;
  /// Global shadow mode: every limit is evaluated and counted, none denies.
  bool shadow = false;
  /// Which attributes identify the caller, in order of preference.
  std::vector<Attribute> caller{Attribute::api_key, Attribute::user, Attribute::ip};
  /// Mixed into API-key hashes (so store keys cannot be matched against a
  /// list of known keys without it).
  std::string api_key_salt;
  /// IPv6 addresses are counted per prefix of this length (a host usually
  /// owns a whole /64). 128 counts every address apart.
  int ipv6_prefix = 64;
  NormalizeOptions paths;
  std::string default_tier;
  std::vector<Tier> tiers;
  std::vector<LimitRule> limits;
  std::vector<EndpointRule> endpoints;
  std::vector<TierAssignment> tier_assignments;
  std::vector<ListEntry> whitelist;
  std::vector<ListEntry> denylist;
  /// Where the config came from (a file name), for messages.
  std::string source;
};

}  // namespace ratelimit::policy
