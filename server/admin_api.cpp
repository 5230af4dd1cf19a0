#include "admin_api.hpp"

#include <array>
#include <boost/json.hpp>
#include <fstream>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "decision_json.hpp"
#include "error_replies.hpp"
#include "json_fields.hpp"
#include "problem.hpp"
#include "ratelimit/policy/cidr_set.hpp"
#include "ratelimit/policy/config_loader.hpp"

namespace ratelimitd {

namespace json = boost::json;
using ratelimit::Micros;
using ratelimit::policy::IdType;
using ratelimit::policy::ListEntry;
using ratelimit::policy::ListKind;

AuditLog::AuditLog(std::string path) : path_(std::move(path)) {
  if (path_.empty()) return;
  std::ofstream probe(path_, std::ios::app);
  if (!probe) throw std::runtime_error("cannot open the audit log '" + path_ + "' for appending");
}

void AuditLog::write(Micros now, std::string_view actor, std::string_view action,
                     std::string_view subject, std::string_view detail) {
  if (path_.empty()) return;
  const json::object line{{"time_ms", now / ratelimit::kMicrosPerMilli},
                          {"actor", actor},
                          {"action", action},
                          {"subject", subject},
                          {"detail", detail}};
  const std::lock_guard lock(mu_);
  std::ofstream out(path_, std::ios::app);
  out << json::serialize(line) << '\n';
}

bool constant_time_equal(std::string_view a, std::string_view b) noexcept {
  // Every byte of the longer string is compared, so the time does not tell
  // how many leading bytes of a guess were right.
  const std::size_t n = std::max(a.size(), b.size());
  unsigned char diff = a.size() == b.size() ? 0 : 1;
  for (std::size_t i = 0; i < n; ++i) {
    const auto x = i < a.size() ? static_cast<unsigned char>(a[i]) : 0;
    const auto y = i < b.size() ? static_cast<unsigned char>(b[i]) : 0;
    diff = static_cast<unsigned char>(diff | (x ^ y));
  }
  return diff == 0;
}

bool is_admin_path(std::string_view path) noexcept {
  return path == "/v1/admin" || path.starts_with("/v1/admin/");
}

namespace {

// A reply for an admin request that is not a success.
struct AdminError {
  HttpReply reply;
};

[[noreturn]] void fail(unsigned status, const std::string& detail, std::string_view field = {}) {
  throw AdminError{problem(status, detail, field)};
}

std::optional<std::string> header(const HttpRequest& r, std::string_view name) {
  for (const auto& [n, v] : r.headers) {
    if (n.size() != name.size()) continue;
    bool same = true;
    for (std::size_t i = 0; i < n.size() && same; ++i) {
      same = std::tolower(static_cast<unsigned char>(n[i])) ==
             std::tolower(static_cast<unsigned char>(name[i]));
    }
    if (same) return v;
  }
  return std::nullopt;
}

void authorize(const HttpRequest& request, const AdminContext& context) {
  if (context.token.empty()) {
    fail(
        403,
        "the admin API is disabled: start ratelimitd with an admin token (RATELIMITD_ADMIN_TOKEN)");
  }
  const auto auth = header(request, "Authorization");
  constexpr std::string_view kBearer = "Bearer ";
  if (!auth || auth->size() <= kBearer.size() || !std::string_view(*auth).starts_with(kBearer)) {
    HttpReply reply = problem(401, "send 'Authorization: Bearer <admin token>'");
    reply.headers.emplace_back("WWW-Authenticate", "Bearer");
    throw AdminError{std::move(reply)};
  }
  if (!constant_time_equal(std::string_view(*auth).substr(kBearer.size()), context.token)) {
    fail(403, "wrong admin token");
  }
}

int hex(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// A path segment with %XX escapes decoded; 400 for a broken escape.
std::string decode_segment(std::string_view s) {
  std::string out;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] != '%') {
      out.push_back(s[i]);
      continue;
    }
    if (i + 2 >= s.size() || hex(s[i + 1]) < 0 || hex(s[i + 2]) < 0) {
      fail(400, "bad %-escape in the path", "path");
    }
    out.push_back(static_cast<char>(hex(s[i + 1]) * 16 + hex(s[i + 2])));
    i += 2;
  }
  return out;
}

std::vector<std::string> segments_after_admin(std::string_view path) {
  std::vector<std::string> out;
  std::string_view rest = path.substr(std::string_view("/v1/admin").size());
  while (!rest.empty()) {
    rest.remove_prefix(1);  // the '/'
    const auto slash = rest.find('/');
    out.push_back(decode_segment(rest.substr(0, slash)));
    if (slash == std::string_view::npos) break;
    rest = rest.substr(slash);
  }
  return out;
}

IdType id_type(std::string_view name, std::string_view field) {
  const auto t = ratelimit::policy::parse_id_type(name);
  if (!t)
    fail(400, "unknown identifier type '" + std::string(name) + "' (use user, ip or api_key)",
         field);
  return *t;
}

// "user:alice", "ip:10.1.2.3", "api_key:k"; without a known prefix, a user.
std::pair<IdType, std::string> identifier(const std::string& text) {
  const auto colon = text.find(':');
  if (colon != std::string::npos) {
    if (const auto t = ratelimit::policy::parse_id_type(std::string_view(text).substr(0, colon))) {
      return {*t, text.substr(colon + 1)};
    }
  }
  return {IdType::user, text};
}

json::value instant_ms(std::optional<Micros> t) {
  if (!t) return nullptr;
  return *t / ratelimit::kMicrosPerMilli;
}

json::object entry_json(const ListEntry& e) {
  json::object o{{"type", ratelimit::policy::to_string(e.type)},
                 {"reason", e.reason},
                 {"added_by", e.added_by},
                 {"added_at_ms", e.added_at / ratelimit::kMicrosPerMilli},
                 {"expires_at_ms", instant_ms(e.expires_at)}};
  if (e.range) {
    o["cidr"] = e.range->to_string();
  } else {
    o["id"] = e.id;
  }
  return o;
}

std::optional<Micros> seconds_field(const json::object& body, std::string_view name) {
  const auto s = integer_field(body, name, "");
  if (!s) return std::nullopt;
  if (*s <= 0 || *s > 366LL * 24 * 3600)
    fail(400, "'" + std::string(name) + "' must be 1 .. 31622400 seconds", name);
  return *s * ratelimit::kMicrosPerSecond;
}

HttpReply method_not_allowed(std::string_view allow) {
  HttpReply reply = problem(405, "this admin resource accepts " + std::string(allow));
  reply.headers.emplace_back("Allow", std::string(allow));
  return reply;
}

class Admin {
 public:
  Admin(const HttpRequest& request, std::string_view query, AdminContext& context)
      : r_(request), query_(query), c_(context), actor_("admin@" + request.peer) {}

  HttpReply route(const std::vector<std::string>& seg) {
    const std::string& m = r_.method;
    const std::size_t n = seg.size();
    if (n == 1 && seg[0] == "reload") return m == "POST" ? reload() : method_not_allowed("POST");
    if (n == 1 && seg[0] == "tiers") return m == "GET" ? list_tiers() : method_not_allowed("GET");
    if (n == 2 && seg[0] == "tiers") {
      if (m == "PUT") return put_tier(seg[1]);
      if (m == "GET") return get_tier(seg[1]);
      if (m == "DELETE") return delete_tier(seg[1]);
      return method_not_allowed("GET, PUT, DELETE");
    }
    if (n == 1 && seg[0] == "whitelist") {
      if (m == "POST") return add_entry();
      if (m == "GET") return list_entries(false);
      return method_not_allowed("GET, POST");
    }
    if (n == 2 && seg[0] == "whitelist" && seg[1] == "ranges") {
      if (m == "POST") return add_range();
      if (m == "GET") return list_entries(true);
      return method_not_allowed("GET, POST");
    }
    if (n == 3 && seg[0] == "whitelist" && seg[1] == "ranges") {
      return m == "DELETE" ? remove_entry(IdType::ip, seg[2], true) : method_not_allowed("DELETE");
    }
    if (n == 3 && seg[0] == "whitelist") {
      return m == "DELETE" ? remove_entry(id_type(seg[1], "type"), seg[2], false)
                           : method_not_allowed("DELETE");
    }
    if (n == 2 && seg[0] == "limits")
      return m == "DELETE" ? reset_key(seg[1]) : method_not_allowed("DELETE");
    fail(404, "no such admin endpoint: " + std::string(r_.target));
  }

 private:
  void audit(std::string_view action, std::string_view subject, std::string_view detail) {
    c_.audit.write(c_.clock.now(), actor_, action, subject, detail);
  }

  HttpReply reload() {
    try {
      const std::uint64_t reloads = c_.reload();
      audit("config.reload", "", "reload " + std::to_string(reloads));
      return json_reply({{"reloaded", true}, {"reloads", reloads}});
    } catch (const ratelimit::policy::ConfigError& e) {
      HttpReply reply = problem(400, "the new config is invalid; the old one stays in force");
      json::object body = json::parse(reply.body).as_object();
      json::array errors;
      for (const auto& issue : e.issues()) errors.push_back(json::string(issue.to_string()));
      body["errors"] = std::move(errors);
      reply.body = json::serialize(body);
      return reply;
    }
  }

  HttpReply list_tiers() {
    json::array out;
    for (const auto& t : c_.engine.directory().tiers()) {
      out.push_back(json::object{
          {"identifier", std::string(ratelimit::policy::to_string(t.type)) + ":" + t.id},
          {"tier", t.grant.tier},
          {"added_by", t.grant.added_by},
          {"expires_at_ms", instant_ms(t.grant.expires_at)}});
    }
    return json_reply({{"tiers", std::move(out)}});
  }

  HttpReply put_tier(const std::string& ident) {
    const auto [type, id] = identifier(ident);
    const json::object body = parse_object(r_.body);
    reject_unknown(body, {"tier", "ttl_s"}, "");
    const auto tier = string_field(body, "tier", "");
    if (!tier || tier->empty()) fail(400, "'tier' is required", "tier");
    const auto ttl = seconds_field(body, "ttl_s");
    try {
      c_.engine.assign_tier(type, id, *tier, ttl, actor_);
    } catch (const ratelimit::InvalidRequest& e) {
      fail(400, e.what(), "tier");
    }
    audit("tier.assign", ident, *tier);
    return json_reply({{"identifier", ident}, {"tier", *tier}});
  }

  HttpReply get_tier(const std::string& ident) {
    const auto [type, id] = identifier(ident);
    const auto grant = c_.engine.directory().tier_of(type, id);
    if (!grant) fail(404, "no tier is assigned to '" + ident + "' at run time");
    return json_reply({{"identifier", ident},
                       {"tier", grant->tier},
                       {"added_by", grant->added_by},
                       {"added_at_ms", grant->added_at / ratelimit::kMicrosPerMilli},
                       {"expires_at_ms", instant_ms(grant->expires_at)}});
  }

  HttpReply delete_tier(const std::string& ident) {
    const auto [type, id] = identifier(ident);
    if (!c_.engine.directory().remove_tier(type, id, actor_)) {
      fail(404, "no tier is assigned to '" + ident + "' at run time");
    }
    audit("tier.remove", ident, "");
    return json_reply({{"removed", true}});
  }

  HttpReply add_entry() {
    const json::object body = parse_object(r_.body);
    reject_unknown(body, {"type", "id", "reason", "added_by", "expires_in_s"}, "");
    const auto type = string_field(body, "type", "");
    if (!type) fail(400, "'type' is required (user, ip or api_key)", "type");
    ListEntry entry;
    entry.type = id_type(*type, "type");
    const auto id = string_field(body, "id", "");
    if (!id || id->empty()) fail(400, "'id' is required", "id");
    entry.id = *id;
    entry.reason = string_field(body, "reason", "").value_or("");
    const std::string by = string_field(body, "added_by", "").value_or(actor_);
    c_.engine.directory().add(ListKind::whitelist, entry, seconds_field(body, "expires_in_s"), by);
    audit("whitelist.add", *type + ":" + *id, entry.reason);
    return json_reply({{"added", true}});
  }

  HttpReply add_range() {
    const json::object body = parse_object(r_.body);
    reject_unknown(body, {"cidr", "description", "added_by", "expires_in_s"}, "");
    const auto cidr = string_field(body, "cidr", "");
    if (!cidr) fail(400, "'cidr' is required, e.g. 10.0.0.0/8", "cidr");
    ListEntry entry;
    entry.type = IdType::ip;
    try {
      entry.range = ratelimit::policy::parse_cidr(*cidr);
    } catch (const std::invalid_argument& e) {
      fail(400, e.what(), "cidr");
    }
    entry.id = entry.range->to_string();
    entry.reason = string_field(body, "description", "").value_or("");
    const std::string by = string_field(body, "added_by", "").value_or(actor_);
    c_.engine.directory().add(ListKind::whitelist, entry, seconds_field(body, "expires_in_s"), by);
    audit("whitelist_range.add", entry.id, entry.reason);
    return json_reply({{"added", true}, {"cidr", entry.id}});
  }

  HttpReply list_entries(bool ranges) {
    std::optional<IdType> filter;
    constexpr std::string_view kType = "type=";
    if (!ranges && query_.starts_with(kType)) filter = id_type(query_.substr(kType.size()), "type");
    json::array out;
    for (const auto& e : c_.engine.directory().entries(ListKind::whitelist, filter)) {
      if (e.range.has_value() == ranges) out.push_back(entry_json(e));
    }
    return json_reply({{ranges ? "ranges" : "entries", std::move(out)}});
  }

  HttpReply remove_entry(IdType type, const std::string& id, bool range) {
    if (range) {
      try {
        (void)ratelimit::policy::parse_cidr(id);
      } catch (const std::invalid_argument& e) {
        fail(400, e.what(), "cidr");
      }
    }
    if (!c_.engine.directory().remove(ListKind::whitelist, type, id, range, actor_)) {
      fail(404, "'" + id + "' is not on the whitelist");
    }
    audit(range ? "whitelist_range.remove" : "whitelist.remove",
          range ? id : std::string(ratelimit::policy::to_string(type)) + ":" + id, "");
    return json_reply({{"removed", true}});
  }

  HttpReply reset_key(const std::string& key) {
    // A key's state is per algorithm: reset it under every one.
    static const std::array<ratelimit::LimitSpec, 6> kSpecs = {
        ratelimit::LimitSpec(ratelimit::Algorithm::token_bucket, 1, 1),
        ratelimit::LimitSpec(ratelimit::Algorithm::gcra, 1, 1),
        ratelimit::LimitSpec(ratelimit::Algorithm::leaky_bucket, 1, 1),
        ratelimit::LimitSpec(ratelimit::Algorithm::fixed_window, 1, 1),
        ratelimit::LimitSpec(ratelimit::Algorithm::sliding_window, 1, 1),
        ratelimit::LimitSpec(ratelimit::Algorithm::sliding_log, 1, 1)};
    std::vector<ratelimit::Check> checks;
    for (const auto& spec : kSpecs) checks.push_back(ratelimit::Check{&spec, key});
    try {
      c_.store.reset(checks);
    } catch (const ratelimit::InvalidRequest& e) {
      fail(400, e.what(), "key");
    }
    audit("limits.reset", key, "");
    return json_reply({{"reset", key}});
  }

  const HttpRequest& r_;
  std::string_view query_;
  AdminContext& c_;
  std::string actor_;
};

}  // namespace

HttpReply handle_admin(const HttpRequest& request, std::string_view path, std::string_view query,
                       AdminContext& context) {
  try {
    return with_error_replies(
        [&] {
          authorize(request, context);
          return Admin(request, query, context).route(segments_after_admin(path));
        },
        [] {});
  } catch (const AdminError& e) {
    return e.reply;
  } catch (const std::runtime_error& e) {
    return problem(400, e.what());  // e.g. reload without a policy file
  }
}

}  // namespace ratelimitd
