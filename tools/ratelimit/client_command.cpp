// `ratelimit check`, `ratelimit decide` and `ratelimit admin ...`: a client
// of a running ratelimitd (docs/service.md).

#include <boost/json.hpp>
#include <cctype>
#include <cstdlib>
#include <iostream>
#include <string>

#include "commands.hpp"
#include "http_client.hpp"
#include "ratelimit/policy/config_loader.hpp"

namespace ratelimit::cli {

namespace json = boost::json;

namespace {

http_client::Endpoint server_of(const ClientOptions& o) {
  return http_client::Endpoint::parse(o.server);
}

std::string ms(const json::value& v) {
  if (v.is_null()) return "never";
  return std::to_string(v.to_number<std::int64_t>()) + "ms";
}

// A problem+json error as one line; exit status 2.
int print_error(const http_client::Response& r) {
  std::string detail = r.body;
  json::error_code ec;
  const json::value v = json::parse(r.body, ec);
  if (!ec && v.is_object() && v.as_object().contains("detail")) {
    detail = std::string(v.at("detail").as_string());
    if (const auto* f = v.as_object().if_contains("field"))
      detail += " (field " + std::string(f->as_string()) + ")";
    if (const auto* errors = v.as_object().if_contains("errors")) {
      for (const auto& e : errors->as_array()) detail += "\n  " + std::string(e.as_string());
    }
  }
  std::cerr << "ratelimit: " << r.status << ": " << detail << '\n';
  return 2;
}

// Prints a decision line; exit status 0 admitted, 1 denied.
int print_decision(const json::object& d, const std::string& extra) {
  const bool allowed = d.at("allowed").as_bool();
  std::cout << (allowed ? "ALLOWED" : "DENIED ") << extra << " limit=" << d.at("limit").as_int64()
            << " remaining=" << d.at("remaining").as_int64()
            << " reset_after=" << ms(d.at("reset_after_ms"));
  if (!allowed) std::cout << " retry_after=" << ms(d.at("retry_after_ms"));
  std::cout << '\n';
  return allowed ? 0 : 1;
}

}  // namespace

std::string url_segment(const std::string& text) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (const char c : text) {
    const auto b = static_cast<unsigned char>(c);
    if (std::isalnum(b) || c == '-' || c == '.' || c == '_' || c == '~') {
      out.push_back(c);
    } else {
      out.push_back('%');
      out.push_back(kHex[b >> 4]);
      out.push_back(kHex[b & 15]);
    }
  }
  return out;
}

int run_check(const ClientOptions& client, const CheckCommandOptions& o) {
  const auto window = policy::parse_duration(o.window);
  if (!window || *window % kMicrosPerMilli != 0) {
    std::cerr << "ratelimit: --window '" << o.window
              << "' is not a duration in whole ms (e.g. 100ms, 1s, 1m)\n";
    return 2;
  }
  json::object body{{"key", o.key},
                    {"algorithm", o.algorithm},
                    {"limit", o.limit},
                    {"window_ms", *window / kMicrosPerMilli},
                    {"cost", o.cost}};
  if (o.burst) body["burst"] = *o.burst;
  const auto r =
      http_client::request(server_of(client), "POST", "/v1/check", json::serialize(body));
  if (r.status != 200) return print_error(r);
  if (client.json) {
    std::cout << r.body << '\n';
    return json::parse(r.body).at("allowed").as_bool() ? 0 : 1;
  }
  return print_decision(json::parse(r.body).as_object(), " key=" + o.key);
}

int run_decide(const ClientOptions& client, const DecideCommandOptions& o) {
  json::object body;
  if (!o.user.empty()) body["user"] = o.user;
  if (!o.api_key.empty()) body["api_key"] = o.api_key;
  if (!o.ip.empty()) body["ip"] = o.ip;
  if (!o.method.empty()) body["method"] = o.method;
  if (!o.path.empty()) body["path"] = o.path;
  if (o.cost) body["cost"] = *o.cost;
  const auto r =
      http_client::request(server_of(client), "POST", "/v1/decide", json::serialize(body));
  if (r.status != 200) return print_error(r);
  const json::object d = json::parse(r.body).as_object();
  if (client.json) {
    std::cout << r.body << '\n';
    return d.at("allowed").as_bool() ? 0 : 1;
  }
  if (d.at("whitelisted").as_bool()) {
    std::cout << "ALLOWED whitelisted\n";
    return 0;
  }
  if (d.at("checks").as_array().empty() && !d.contains("denylisted")) {
    std::cout << "ALLOWED no limit applies\n";
    return 0;
  }
  const int status = print_decision(d, " scope=" + std::string(d.at("scope").as_string()) +
                                           " tier=" + std::string(d.at("tier").as_string()) +
                                           " cost=" + std::to_string(d.at("cost").as_int64()));
  for (const auto& [name, value] : d.at("headers").as_object()) {
    std::cout << "  " << std::string(name) << ": " << std::string(value.as_string()) << '\n';
  }
  return status;
}

int run_admin(const ClientOptions& client, const AdminCommandOptions& o) {
  std::string token = o.token;
  if (token.empty()) {
    const char* env = std::getenv("RATELIMITD_ADMIN_TOKEN");
    token = env != nullptr ? env : "";
  }
  if (token.empty()) {
    std::cerr << "ratelimit: an admin token is needed: --token, or RATELIMITD_ADMIN_TOKEN\n";
    return 2;
  }
  const auto r = http_client::request(server_of(client), o.method, o.target, o.body,
                                      {{"Authorization", "Bearer " + token}});
  if (r.status >= 300) return print_error(r);
  if (client.json) {
    std::cout << r.body << '\n';
    return 0;
  }
  // Readable: one "key: value" per member, arrays one item per line.
  const json::value v = json::parse(r.body);
  for (const auto& [name, value] : v.as_object()) {
    if (value.is_array()) {
      std::cout << std::string(name) << ":" << (value.as_array().empty() ? " (none)" : "") << '\n';
      for (const auto& item : value.as_array()) std::cout << "  " << json::serialize(item) << '\n';
    } else {
      std::cout << std::string(name) << ": "
                << (value.is_string() ? std::string(value.as_string()) : json::serialize(value))
                << '\n';
    }
  }
  return 0;
}

}  // namespace ratelimit::cli
