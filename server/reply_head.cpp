#include "reply_head.hpp"

#include <boost/beast/http/status.hpp>
#include <cstdint>

#include "ratelimit/http/digits.hpp"

namespace ratelimitd {

namespace http = boost::beast::http;
using namespace std::string_view_literals;

namespace {

// Header text up to any CR or LF: a header cannot end early or add another.
void append_field_text(std::string& out, std::string_view text) {
  out += text.substr(0, text.find_first_of("\r\n"));
}

}  // namespace

void append_reply_head(std::string& out, const HttpReply& reply, unsigned version) {
  out += version == 10 ? "HTTP/1.0 "sv : "HTTP/1.1 "sv;
  out += ratelimit::http::Digits(reply.status).view();
  out += ' ';
  out += http::obsolete_reason(static_cast<http::status>(reply.status));
  out += "\r\nServer: ratelimitd\r\nContent-Type: "sv;
  append_field_text(out, reply.content_type);
  out += "\r\n"sv;
  for (const auto& [name, value] : reply.headers) {
    append_field_text(out, name);
    out += ": "sv;
    append_field_text(out, value);
    out += "\r\n"sv;
  }
}

void render_reply_head(std::string& out, const HttpReply& reply, std::string_view extra_lines,
                       unsigned version, bool keep_alive) {
  out.clear();
  append_reply_head(out, reply, version);
  out += extra_lines;
  out += "Content-Length: "sv;
  out += ratelimit::http::Digits(static_cast<std::int64_t>(reply.body.size())).view();
  out += "\r\n"sv;
  // HTTP/1.1 keeps a connection open unless told; HTTP/1.0 closes it
  // unless told.
  if (version >= 11 && !keep_alive) out += "Connection: close\r\n"sv;
  if (version < 11 && keep_alive) out += "Connection: keep-alive\r\n"sv;
  out += "\r\n"sv;
}

}  // namespace ratelimitd
