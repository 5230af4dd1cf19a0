// The `proxy:` section of a config file (proxy mode of ratelimitd), and the
// upstream URL syntax it shares with ratelimitd's --upstream flag.
#include <charconv>
#include <stdexcept>

#include "policy/section_readers.hpp"
#include "policy/yaml_reader.hpp"
#include "ratelimit/policy/config.hpp"

namespace ratelimit::policy {

UpstreamAddress parse_upstream_url(std::string_view url) {
  const auto fail = [&](const std::string& why) {
    return std::invalid_argument("upstream '" + std::string(url) + "': " + why);
  };
  constexpr std::string_view kScheme = "http://";
  if (url.substr(0, 8) == "https://") {
    throw fail("https is not supported; terminate TLS in front of the proxy or use http://");
  }
  if (url.substr(0, kScheme.size()) != kScheme) throw fail("expected http://HOST[:PORT]");
  std::string_view rest = url.substr(kScheme.size());
  if (!rest.empty() && rest.back() == '/') rest.remove_suffix(1);
  if (rest.find_first_of("/?#@") != std::string_view::npos) {
    throw fail("only http://HOST[:PORT] is accepted (no path, query or credentials)");
  }
  UpstreamAddress out;
  std::string_view port_text;
  if (!rest.empty() && rest.front() == '[') {
    const auto close = rest.find(']');
    if (close == std::string_view::npos) throw fail("unclosed '[' in an IPv6 address");
    out.host = std::string(rest.substr(1, close - 1));
    const std::string_view after = rest.substr(close + 1);
    if (!after.empty()) {
      if (after.front() != ':') throw fail("expected ':PORT' after the IPv6 address");
      port_text = after.substr(1);
      if (port_text.empty()) throw fail("empty port");
    }
  } else {
    const auto colon = rest.rfind(':');
    out.host = std::string(rest.substr(0, colon));
    if (colon != std::string_view::npos) {
      port_text = rest.substr(colon + 1);
      if (port_text.empty()) throw fail("empty port");
    }
  }
  if (out.host.empty()) throw fail("no host");
  if (!port_text.empty()) {
    unsigned port = 0;
    const auto [end, ec] = std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
    if (ec != std::errc{} || end != port_text.data() + port_text.size() || port == 0 || port > 65535) {
      throw fail("port must be 1..65535, not '" + std::string(port_text) + "'");
    }
    out.port = static_cast<std::uint16_t>(port);
  }
  return out;
}

namespace yaml {

namespace {

std::string q(std::string_view s) { return "'" + std::string(s) + "'"; }

// A list of strings under `key` (each checked by `accept`, which reports
// and returns false for a bad item).
template <class Accept>
void read_string_list(MapReader& map, std::string_view key, Accept&& accept) {
  const YAML::Node list = map.get(key);
  if (!list.IsDefined()) return;
  if (!list.IsSequence()) {
    map.issues().add(list, q(key) + " in " + map.what() + " must be a list");
    return;
  }
  for (const auto& item : list) {
    if (!item.IsScalar()) {
      map.issues().add(item, "each item of " + q(key) + " must be a string");
      continue;
    }
    accept(item, item.Scalar());
  }
}

}  // namespace

void read_proxy(MapReader& top, PolicyConfig& config) {
  const YAML::Node node = top.get("proxy");
  if (!node.IsDefined()) return;
  MapReader map(node, "'proxy'", top.issues());
  if (!map.ok()) return;
  Issues& issues = map.issues();
  ProxyConfig& proxy = config.proxy;
  if (const auto upstream = map.string("upstream")) {
    try {
      (void)parse_upstream_url(*upstream);
      proxy.upstream = *upstream;
    } catch (const std::invalid_argument& e) {
      issues.add(map.get("upstream"), e.what(), "e.g. upstream: http://127.0.0.1:3000");
    }
  }
  if (const auto listen = map.string("listen")) proxy.listen = *listen;
  for (const char* key : {"user_header", "api_key_header", "api_key_query"}) {
    if (const auto v = map.string(key)) {
      std::string& field = std::string_view(key) == "user_header"      ? proxy.user_header
                           : std::string_view(key) == "api_key_header" ? proxy.api_key_header
                                                                       : proxy.api_key_query;
      field = *v;
    }
  }
  if (map.has("trusted_proxies")) {
    read_string_list(map, "trusted_proxies", [&](const YAML::Node& item, const std::string& text) {
      try {
        proxy.trusted_proxies.push_back(parse_cidr(text));
      } catch (const InvalidCidr& e) {
        issues.add(item, e.what(), "e.g. 10.0.0.0/8, 127.0.0.1/32 or ::1/128");
      }
    });
  }
  if (map.has("bypass")) {
    proxy.bypass.clear();
    read_string_list(map, "bypass", [&](const YAML::Node& item, const std::string& text) {
      if (text.empty() || text.front() != '/') {
        issues.add(item, "bypass path " + q(text) + " must start with '/'");
      } else {
        proxy.bypass.push_back(text);
      }
    });
  }
  if (const auto format = map.string("error_format")) {
    if (const auto f = http::parse_error_format(*format)) {
      proxy.error_format = *f;
    } else {
      issues.add(map.get("error_format"), "unknown error_format " + q(*format),
                 "use problem, error or jsonapi");
    }
  }
  if (map.has("failure_statuses")) {
    proxy.failure_statuses.clear();
    read_string_list(map, "failure_statuses", [&](const YAML::Node& item, const std::string& text) {
      int status = 0;
      const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), status);
      if (ec != std::errc{} || end != text.data() + text.size() || status < 100 || status > 599) {
        issues.add(item, "failure status " + q(text) + " is not an HTTP status (100..599)");
      } else {
        proxy.failure_statuses.push_back(status);
      }
    });
  }
  if (const auto t = map.duration("connect_timeout")) proxy.connect_timeout = *t;
  if (const auto t = map.duration("upstream_timeout")) proxy.upstream_timeout = *t;
  if (const auto n = map.integer("pool_size", 0, 100000)) proxy.pool_size = *n;
  if (const YAML::Node breaker = map.get("breaker"); breaker.IsDefined()) {
    MapReader b(breaker, "'proxy.breaker'", issues);
    if (b.ok()) {
      if (const auto r = b.number("failure_rate", 0.0, 1.0)) proxy.breaker_failure_rate = *r;
      if (const auto n = b.integer("window", 1, 100000)) proxy.breaker_window = *n;
      if (const auto n = b.integer("minimum_calls", 1, 100000)) proxy.breaker_minimum_calls = *n;
      if (const auto t = b.duration("open")) proxy.breaker_open = *t;
      if (proxy.breaker_minimum_calls > proxy.breaker_window) {
        issues.add(breaker, "'minimum_calls' in 'proxy.breaker' is above 'window'; it could never open",
                   "make minimum_calls at most window");
      }
      b.finish();
    }
  }
  map.finish();
}

}  // namespace yaml
}  // namespace ratelimit::policy
