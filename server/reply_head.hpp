#pragma once
// The head of a reply ratelimitd makes itself (HttpReply), rendered by hand
// into a string the connection reuses: the API server and proxy mode both
// write theirs with it. Beast's fields and serializer were the largest
// user-space cost of a /v1/check after the kernel's (measured).

#include <string>
#include <string_view>

#include "exchange.hpp"

namespace ratelimitd {

/// Appends the status line, Server, Content-Type and `reply.headers`, each
/// ended by CRLF; header text stops at any CR or LF, so a value cannot end
/// early or add a header.
void append_reply_head(std::string& out, const HttpReply& reply, unsigned version);

/// `out` becomes the whole head: append_reply_head, then `extra_lines`
/// (whole "Name: value\r\n" lines, already safe), Content-Length of
/// `reply.body`, the Connection header HTTP `version` needs for
/// `keep_alive`, and the blank line.
void render_reply_head(std::string& out, const HttpReply& reply, std::string_view extra_lines,
                       unsigned version, bool keep_alive);

}  // namespace ratelimitd
