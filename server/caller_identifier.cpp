#include "caller_identifier.hpp"

#include "ratelimit/policy/identifier_hash.hpp"

namespace ratelimitd {

using ratelimit::policy::Attribute;

std::string caller_identifier(const ratelimit::policy::Request& request,
                              const ratelimit::policy::PolicyConfig& config) {
  for (const Attribute a : config.caller) {
    switch (a) {
      case Attribute::api_key:
        if (!request.api_key.empty()) {
          const std::string hash =
              ratelimit::policy::IdentifierHasher(config.api_key_salt).hash(request.api_key);
          return "api_key:" + hash.substr(0, 16);
        }
        break;
      case Attribute::user:
        if (!request.user.empty()) return "user:" + std::string(request.user);
        break;
      case Attribute::ip:
        if (!request.ip.empty()) return "ip:" + std::string(request.ip);
        break;
      case Attribute::endpoint:
      case Attribute::caller:
        break;
    }
  }
  return {};
}

}  // namespace ratelimitd
