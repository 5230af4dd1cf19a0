#pragma once
// Message heads proxy mode relays, rendered by hand into a string the
// connection reuses: Beast's serializer and a field allocation per header
// cost more than the rest of an exchange's user-space work (measured). Each
// function writes what Beast's serializer would for the same message, with
// the changes its comment names. Replies the proxy makes itself use
// reply_head.hpp, as the API server's do.

#include <string>
#include <string_view>

#include "proxy/added_headers.hpp"
#include "proxy/proxy_shared.hpp"

namespace ratelimitd::proxy {

/// The request line and the fields of `req`, then the empty line.
void render_request_head(std::string& out, const ProxyRequest& req);

/// The status line and the fields of `res`, except those named in `added`,
/// then `added`'s lines and the empty line: the upstream's headers of our
/// names are replaced, not repeated.
void render_response_head(std::string& out, const ProxyResponse& res, const AddedHeaders& added);

}  // namespace ratelimitd::proxy
