#pragma once
// Who is calling, as proxy mode sees it (spec/http-api.md, "Proxy mode"):
// the user from a configured header, the API key from a header or a query
// parameter, and the client IP from the socket, or from X-Forwarded-For /
// X-Real-IP only when the socket's peer is a trusted proxy.

#include <boost/beast/http/fields.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "proxy/field_arena.hpp"
#include "ratelimit/policy/cidr_set.hpp"

namespace ratelimitd::proxy {

struct IdentitySettings {
  std::string user_header;     // empty: no user attribute
  std::string api_key_header;  // empty: none from headers
  std::string api_key_query;   // empty: none from the query
  std::vector<ratelimit::policy::CidrRange> trusted_proxies;
};

struct ClientIdentity {
  std::string user;
  std::string api_key;
  std::string ip;  // canonical text form (IpAddress::to_string); empty if unknown
};

/// Reads the caller's attributes from a request's headers and target.
/// `peer` is the socket's peer address (text form).
///
/// X-Forwarded-For is walked from the right: entries written by trusted
/// proxies are skipped and the first untrusted address is the client (so a
/// client cannot choose its IP by sending the header itself). An entry that
/// is not an IP address (ports and brackets are accepted and dropped) ends the
/// walk at the address after it. Without X-Forwarded-For, a trusted peer's
/// X-Real-IP is used when it parses.
///
/// `Fields` is Beast's `http::fields` or proxy mode's arena-backed
/// `ProxyFields` (both are compiled in client_identity.cpp).
template <class Fields>
[[nodiscard]] ClientIdentity client_identity(const Fields& headers, std::string_view target,
                                             std::string_view peer, const IdentitySettings& settings);
extern template ClientIdentity client_identity(const boost::beast::http::fields&, std::string_view,
                                               std::string_view, const IdentitySettings&);
extern template ClientIdentity client_identity(const ProxyFields&, std::string_view, std::string_view,
                                               const IdentitySettings&);

/// True when `address` (text) lies in one of `ranges`.
[[nodiscard]] bool is_trusted(std::string_view address,
                              const std::vector<ratelimit::policy::CidrRange>& ranges);

/// The value of query parameter `name` in `target` ("/p?a=1&b=2"),
/// percent-decoded ('+' as a space); empty when absent or malformed.
[[nodiscard]] std::string query_parameter(std::string_view target, std::string_view name);

/// An address as X-Forwarded-For may carry it ("1.2.3.4", "1.2.3.4:80",
/// "[::1]:80", "::1"): parsed, or nullopt.
[[nodiscard]] std::optional<ratelimit::policy::IpAddress> forwarded_address(std::string_view entry);

}  // namespace ratelimitd::proxy
