// Names of attributes and identifier types, as config and API write them.
#include "ratelimit/policy/config.hpp"

namespace ratelimit::policy {

std::string_view to_string(Attribute a) noexcept {
  switch (a) {
    case Attribute::ip:
      return "ip";
    case Attribute::user:
      return "user";
    case Attribute::api_key:
      return "api_key";
    case Attribute::endpoint:
      return "endpoint";
    case Attribute::caller:
      return "caller";
  }
  return "?";
}

std::string_view to_string(IdType t) noexcept {
  switch (t) {
    case IdType::user:
      return "user";
    case IdType::ip:
      return "ip";
    case IdType::api_key:
      return "api_key";
  }
  return "?";
}

std::optional<Attribute> parse_attribute(std::string_view name) noexcept {
  for (const Attribute a : {Attribute::ip, Attribute::user, Attribute::api_key, Attribute::endpoint,
                            Attribute::caller}) {
    if (to_string(a) == name) return a;
  }
  return std::nullopt;
}

std::optional<IdType> parse_id_type(std::string_view name) noexcept {
  for (const IdType t : {IdType::user, IdType::ip, IdType::api_key}) {
    if (to_string(t) == name) return t;
  }
  return std::nullopt;
}

}  // namespace ratelimit::policy
