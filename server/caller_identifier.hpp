#pragma once
// Who a policy decision was about, as /v1/stats lists the most-limited
// callers: never a raw API key.

#include <string>

#include "ratelimit/policy/config.hpp"
#include "ratelimit/policy/engine.hpp"

namespace ratelimitd {

/// The first attribute of `config.caller` the request has: "api_key:h:<14
/// hex digits of its salted hash>" (the prefix of the hash in store keys),
/// "user:<user>" or "ip:<ip>"; "" when it has none of them. Hashes an API
/// key (SHA-256), so callers compute it only for denied requests.
[[nodiscard]] std::string caller_identifier(const ratelimit::policy::Request& request,
                                            const ratelimit::policy::PolicyConfig& config);

}  // namespace ratelimitd
