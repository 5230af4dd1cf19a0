#include "proxy/head_render.hpp"

#include <boost/beast/http/status.hpp>

#include "ratelimit/http/digits.hpp"

namespace ratelimitd::proxy {

namespace http = boost::beast::http;
using namespace std::string_view_literals;

namespace {

void append_status_line(std::string& out, unsigned version, unsigned status, std::string_view reason) {
  out += version == 10 ? "HTTP/1.0 "sv : "HTTP/1.1 "sv;
  out += ratelimit::http::Digits(status).view();
  out += ' ';
  out += reason;
  out += "\r\n"sv;
}

void append_field(std::string& out, std::string_view name, std::string_view value) {
  out += name;
  out += ": "sv;
  out += value;
  out += "\r\n"sv;
}

}  // namespace

void render_request_head(std::string& out, const ProxyRequest& req) {
  out.clear();
  out += req.method_string();
  out += ' ';
  out += req.target();
  out += req.version() == 10 ? " HTTP/1.0\r\n"sv : " HTTP/1.1\r\n"sv;
  for (const auto& field : req) append_field(out, field.name_string(), field.value());
  out += "\r\n"sv;
}

void render_response_head(std::string& out, const ProxyResponse& res, const AddedHeaders& added) {
  out.clear();
  append_status_line(out, res.version(), res.result_int(), res.reason());
  for (const auto& field : res) {
    if (!added.has(field.name_string())) append_field(out, field.name_string(), field.value());
  }
  out += added.lines();
  out += "\r\n"sv;
}

void render_reply_head(std::string& out, const HttpReply& reply, std::string_view extra_lines,
                       unsigned version, bool keep_alive) {
  out.clear();
  append_status_line(out, version, reply.status, http::obsolete_reason(static_cast<http::status>(reply.status)));
  append_field(out, "Server"sv, "ratelimitd"sv);
  append_field(out, "Content-Type"sv, reply.content_type);
  for (const auto& [name, value] : reply.headers) append_field(out, name, value);
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

}  // namespace ratelimitd::proxy
