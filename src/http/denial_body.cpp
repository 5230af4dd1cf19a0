#include "ratelimit/http/denial_body.hpp"

#include <cstdio>

#include "ratelimit/http/digits.hpp"
#include "ratelimit/http/rate_limit_headers.hpp"

namespace ratelimit::http {

std::string_view to_string(ErrorFormat f) noexcept {
  switch (f) {
    case ErrorFormat::problem:
      return "problem";
    case ErrorFormat::error:
      return "error";
    case ErrorFormat::jsonapi:
      return "jsonapi";
  }
  return "?";
}

std::optional<ErrorFormat> parse_error_format(std::string_view name) noexcept {
  for (const ErrorFormat f : {ErrorFormat::problem, ErrorFormat::error, ErrorFormat::jsonapi}) {
    if (to_string(f) == name) return f;
  }
  return std::nullopt;
}

namespace {

void append_json_quoted(std::string& out, std::string_view text) {
  out.push_back('"');
  for (const char c : text) {
    const auto byte = static_cast<unsigned char>(c);
    if (c == '"' || c == '\\') {
      out.push_back('\\');
      out.push_back(c);
    } else if (byte < 0x20) {
      char escaped[8];
      std::snprintf(escaped, sizeof escaped, "\\u%04x", byte);
      out += escaped;
    } else {
      out.push_back(c);
    }
  }
  out.push_back('"');
}

}  // namespace

std::string json_quote(std::string_view text) {
  std::string out;
  out.reserve(text.size() + 2);
  append_json_quoted(out, text);
  return out;
}

// Built in one string (reserved once): a denial can be most of what a
// limited service answers, so its body should cost one allocation.
DenialBody denial_body(ErrorFormat format, const Decision& decision, std::string_view scope) {
  const bool never = decision.retry_after == kInfinite;
  const std::int64_t retry = never ? 0 : seconds_rounded_up(decision.retry_after);
  std::string detail;
  detail.reserve(64 + scope.size());
  if (never) {
    detail += "this request costs more than the limit '";
    detail += scope;
    detail += "' can ever admit";
  } else {
    detail += "rate limit '";
    detail += scope;
    detail += "' exceeded; retry after ";
    detail += Digits(retry).view();
    detail += retry == 1 ? " second" : " seconds";
  }
  DenialBody out;
  std::string& body = out.body;
  body.reserve(240 + 2 * detail.size() + 2 * scope.size());
  switch (format) {
    case ErrorFormat::error:
      out.content_type = "application/json";
      body += "{\"error\":{\"code\":\"rate_limit_exceeded\",\"message\":";
      break;
    case ErrorFormat::jsonapi:
      out.content_type = "application/vnd.api+json";
      body +=
          "{\"errors\":[{\"status\":\"429\",\"code\":\"rate_limit_exceeded\",\"title\":\"Too "
          "Many Requests\",\"detail\":";
      break;
    case ErrorFormat::problem:
      out.content_type = "application/problem+json";
      body += "{\"type\":\"about:blank\",\"title\":\"Too Many Requests\",\"status\":429,\"detail\":";
      break;
  }
  append_json_quoted(body, detail);
  body += format == ErrorFormat::jsonapi ? ",\"meta\":{" : ",";
  // The same three facts in every format.
  body += "\"retry_after\":";
  if (never) {
    body += "null";
  } else {
    body += Digits(retry).view();
  }
  body += ",\"limit\":";
  body += Digits(decision.limit).view();
  body += ",\"scope\":";
  append_json_quoted(body, scope);
  body += format == ErrorFormat::jsonapi ? "}}]}" : "}";
  if (format == ErrorFormat::error) body += "}";
  return out;
}

}  // namespace ratelimit::http
