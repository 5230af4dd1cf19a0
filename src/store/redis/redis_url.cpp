// Parsing of redis://, redis+sentinel:// and redis+cluster:// URLs into
// RedisStoreOptions, and validation of those options.

#include <charconv>
#include <optional>
#include <string>

#include "ratelimit/redis_store.hpp"
#include "store/redis/options_validation.hpp"

namespace ratelimit {

namespace {

[[noreturn]] void bad(std::string_view url, const std::string& what) {
  throw InvalidRedisUrl("invalid Redis URL '" + std::string(url) + "': " + what);
}

// Whole-string integer in [lo, hi], or nullopt.
std::optional<long long> to_int(std::string_view s, long long lo, long long hi) {
  long long v = 0;
  const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || end != s.data() + s.size() || v < lo || v > hi) return std::nullopt;
  return v;
}

int hex_digit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

std::string percent_decode(std::string_view url, std::string_view s) {
  std::string out;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] != '%') {
      out += s[i];
      continue;
    }
    if (i + 2 >= s.size()) bad(url, "truncated percent-escape in '" + std::string(s) + "'");
    const int hi = hex_digit(s[i + 1]);
    const int lo = hex_digit(s[i + 2]);
    if (hi < 0 || lo < 0) bad(url, "invalid percent-escape in '" + std::string(s) + "'");
    out += static_cast<char>(hi * 16 + lo);
    i += 2;
  }
  return out;
}

RedisEndpoint parse_endpoint(std::string_view url, std::string_view s, int default_port) {
  if (s.empty()) bad(url, "missing host");
  std::string_view host = s;
  std::string_view port;
  if (s.front() == '[') {  // [IPv6]:port
    const auto close = s.find(']');
    if (close == std::string_view::npos) bad(url, "unterminated '[' in host '" + std::string(s) + "'");
    host = s.substr(1, close - 1);
    const auto rest = s.substr(close + 1);
    if (!rest.empty()) {
      if (rest.front() != ':') bad(url, "expected ':port' after ']' in '" + std::string(s) + "'");
      port = rest.substr(1);
    }
  } else if (const auto colon = s.rfind(':'); colon != std::string_view::npos) {
    host = s.substr(0, colon);
    port = s.substr(colon + 1);
  }
  if (host.empty()) bad(url, "missing host in '" + std::string(s) + "'");
  RedisEndpoint at{std::string(host), default_port};
  if (!port.empty() || s.back() == ':') {
    const auto p = to_int(port, 1, 65535);
    if (!p) bad(url, "port '" + std::string(port) + "' is not a number in 1..65535");
    at.port = static_cast<int>(*p);
  }
  return at;
}

void apply_option(std::string_view url, RedisStoreOptions& o, std::string_view key, std::string_view value,
                  std::vector<std::pair<std::string, std::string>>* unknown) {
  auto number = [&](long long lo, long long hi) {
    const auto v = to_int(value, lo, hi);
    if (!v) {
      bad(url, "option " + std::string(key) + "='" + std::string(value) + "' must be an integer in " +
                   std::to_string(lo) + ".." + std::to_string(hi));
    }
    return static_cast<int>(*v);
  };
  if (key == "prefix") {
    o.key_prefix = percent_decode(url, value);
  } else if (key == "connect_timeout_ms") {
    o.connect_timeout_ms = number(1, 60000);
  } else if (key == "timeout_ms") {
    o.command_timeout_ms = number(1, 60000);
  } else if (key == "pool") {
    o.pool_size = number(1, 1024);
  } else if (key == "batch") {
    o.max_batch = number(1, 1024);
  } else if (key == "time") {
    if (value == "server") {
      o.time_mode = RedisTimeMode::server;
    } else if (value == "client") {
      o.time_mode = RedisTimeMode::client;
    } else {
      bad(url, "option time='" + std::string(value) + "' must be 'server' or 'client'");
    }
  } else if (unknown != nullptr) {
    unknown->emplace_back(std::string(key), percent_decode(url, value));
  } else {
    bad(url, "unknown option '" + std::string(key) +
                 "' (known: prefix, connect_timeout_ms, timeout_ms, pool, batch, time)");
  }
}

}  // namespace

RedisStoreOptions parse_redis_url(std::string_view url, std::vector<std::pair<std::string, std::string>>* unknown) {
  RedisStoreOptions o;
  const auto scheme_end = url.find("://");
  if (scheme_end == std::string_view::npos) bad(url, "expected a scheme: redis://, redis+sentinel:// or redis+cluster://");
  const std::string_view scheme = url.substr(0, scheme_end);
  int default_port = 6379;
  if (scheme == "redis") {
    o.topology = RedisTopology::standalone;
  } else if (scheme == "redis+sentinel") {
    o.topology = RedisTopology::sentinel;
    default_port = 26379;
  } else if (scheme == "redis+cluster") {
    o.topology = RedisTopology::cluster;
  } else if (scheme == "rediss") {
    bad(url, "TLS (rediss://) is not supported by this build");
  } else {
    bad(url, "unknown scheme '" + std::string(scheme) + "' (expected redis, redis+sentinel or redis+cluster)");
  }
  std::string_view rest = url.substr(scheme_end + 3);

  std::string_view query;
  if (const auto q = rest.find('?'); q != std::string_view::npos) {
    query = rest.substr(q + 1);
    rest = rest.substr(0, q);
  }
  std::string_view authority = rest;
  std::string_view path;
  if (const auto slash = rest.find('/'); slash != std::string_view::npos) {
    authority = rest.substr(0, slash);
    path = rest.substr(slash + 1);
  }
  if (const auto at = authority.rfind('@'); at != std::string_view::npos) {
    const std::string_view userinfo = authority.substr(0, at);
    authority = authority.substr(at + 1);
    const auto colon = userinfo.find(':');
    if (colon == std::string_view::npos) bad(url, "credentials must be 'user:password@' or ':password@'");
    o.username = percent_decode(url, userinfo.substr(0, colon));
    o.password = percent_decode(url, userinfo.substr(colon + 1));
    if (o.password.empty()) bad(url, "empty password in the credentials");
  }

  o.endpoints.clear();
  while (true) {
    const auto comma = authority.find(',');
    o.endpoints.push_back(parse_endpoint(url, authority.substr(0, comma), default_port));
    if (comma == std::string_view::npos) break;
    authority = authority.substr(comma + 1);
  }
  if (o.topology == RedisTopology::standalone && o.endpoints.size() > 1) {
    bad(url, "several hosts need redis+sentinel:// or redis+cluster://");
  }

  auto parse_db = [&](std::string_view s) {
    const auto db = to_int(s, 0, 1 << 20);
    if (!db) bad(url, "database '" + std::string(s) + "' is not a non-negative integer");
    o.database = static_cast<int>(*db);
  };
  if (!path.empty() && path.back() == '/') path.remove_suffix(1);
  if (o.topology == RedisTopology::sentinel) {
    const auto slash = path.find('/');
    o.master_name = std::string(path.substr(0, slash));
    if (o.master_name.empty()) bad(url, "redis+sentinel:// needs the master name as its path (/mymaster)");
    if (slash != std::string_view::npos) parse_db(path.substr(slash + 1));
  } else if (!path.empty()) {
    parse_db(path);
    if (o.topology == RedisTopology::cluster && o.database != 0) bad(url, "Redis Cluster has only database 0");
  }

  while (!query.empty()) {
    const auto amp = query.find('&');
    const std::string_view pair = query.substr(0, amp);
    const auto eq = pair.find('=');
    if (eq == std::string_view::npos || eq == 0) bad(url, "option '" + std::string(pair) + "' must be key=value");
    apply_option(url, o, pair.substr(0, eq), pair.substr(eq + 1), unknown);
    if (amp == std::string_view::npos) break;
    query = query.substr(amp + 1);
  }
  if (const std::string problem = redis::validate_options(o); !problem.empty()) bad(url, problem);
  return o;
}

namespace redis {

std::string validate_options(const RedisStoreOptions& o) {
  if (o.endpoints.empty()) return "no Redis endpoint given";
  for (const RedisEndpoint& e : o.endpoints) {
    if (e.host.empty()) return "empty host";
    if (e.port < 1 || e.port > 65535) return "port " + std::to_string(e.port) + " is not in 1..65535";
  }
  if (o.topology == RedisTopology::sentinel && o.master_name.empty()) return "Sentinel needs a master name";
  if (o.key_prefix.find_first_of("{}") != std::string::npos) {
    return "key prefix '" + o.key_prefix + "' must not contain '{' or '}' (hash tags belong to keys)";
  }
  if (o.key_prefix.size() > 128) return "key prefix is longer than 128 bytes";
  if (o.connect_timeout_ms < 1 || o.command_timeout_ms < 1) return "timeouts must be at least 1 ms";
  if (o.pool_size < 1 || o.pool_size > 1024) return "pool size must be in 1..1024";
  if (o.max_batch < 1 || o.max_batch > 1024) return "batch size must be in 1..1024";
  if (o.database < 0) return "database must not be negative";
  return {};
}

}  // namespace redis

}  // namespace ratelimit
