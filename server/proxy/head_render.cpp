#include "proxy/head_render.hpp"

#include "ratelimit/http/digits.hpp"

namespace ratelimitd::proxy {

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

}  // namespace ratelimitd::proxy
