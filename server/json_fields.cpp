#include "json_fields.hpp"

namespace ratelimitd {

namespace json = boost::json;

std::string field_name(const std::string& prefix, std::string_view name) {
  return prefix.empty() ? std::string(name) : prefix + "." + std::string(name);
}

void reject_unknown(const json::object& o, std::initializer_list<std::string_view> known,
                    const std::string& prefix) {
  for (const auto& member : o) {
    bool ok = false;
    for (const auto name : known) ok = ok || member.key() == name;
    if (!ok) {
      throw BadField{field_name(prefix, member.key()),
                     "unknown field '" + std::string(member.key()) + "'"};
    }
  }
}

std::optional<std::int64_t> integer_field(const json::object& o, std::string_view name,
                                          const std::string& prefix) {
  const json::value* v = o.if_contains(name);
  if (v == nullptr || v->is_null()) return std::nullopt;
  const std::string quoted = "'" + std::string(name) + "'";
  if (v->is_int64()) return v->get_int64();
  if (v->is_uint64()) throw BadField{field_name(prefix, name), quoted + " is too large"};
  if (v->is_double()) {
    const double d = v->get_double();
    if (d > -9.2e18 && d < 9.2e18 && d == static_cast<double>(static_cast<std::int64_t>(d))) {
      return static_cast<std::int64_t>(d);
    }
    throw BadField{field_name(prefix, name), quoted + " must be an integer"};
  }
  throw BadField{field_name(prefix, name), quoted + " must be an integer, got " +
                                               (v->is_string() ? "a string" : "another JSON type")};
}

std::optional<std::string> string_field(const json::object& o, std::string_view name,
                                        const std::string& prefix) {
  const json::value* v = o.if_contains(name);
  if (v == nullptr || v->is_null()) return std::nullopt;
  if (!v->is_string()) {
    throw BadField{field_name(prefix, name), "'" + std::string(name) + "' must be a string"};
  }
  return std::string(v->get_string());
}

json::object parse_object(std::string_view body) {
  json::error_code ec;
  json::parse_options options;
  options.max_depth = 8;
  json::value doc = json::parse(body, ec, {}, options);
  if (ec) throw BadField{"body", "the body is not valid JSON: " + ec.message()};
  if (!doc.is_object()) throw BadField{"body", "the body must be a JSON object"};
  return std::move(doc.get_object());
}

}  // namespace ratelimitd
