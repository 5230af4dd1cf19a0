#include "ratelimit/http/denial_body.hpp"

#include <cstdio>

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

std::string json_quote(std::string_view text) {
  std::string out;
  out.reserve(text.size() + 2);
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
  return out;
}

DenialBody denial_body(ErrorFormat format, const Decision& decision, std::string_view scope) {
  const bool never = decision.retry_after == kInfinite;
  const std::string retry = never ? "null" : std::to_string(seconds_rounded_up(decision.retry_after));
  const std::string detail =
      never ? "this request costs more than the limit '" + std::string(scope) +
                  "' can ever admit"
            : "rate limit '" + std::string(scope) + "' exceeded; retry after " + retry +
                  (retry == "1" ? " second" : " seconds");
  // The same three facts in every format.
  const std::string facts = "\"retry_after\":" + retry +
                            ",\"limit\":" + std::to_string(decision.limit) +
                            ",\"scope\":" + json_quote(scope);
  switch (format) {
    case ErrorFormat::error:
      return {"application/json", "{\"error\":{\"code\":\"rate_limit_exceeded\",\"message\":" +
                                      json_quote(detail) + "," + facts + "}}"};
    case ErrorFormat::jsonapi:
      return {"application/vnd.api+json",
              "{\"errors\":[{\"status\":\"429\",\"code\":\"rate_limit_exceeded\",\"title\":\"Too "
              "Many Requests\",\"detail\":" +
                  json_quote(detail) + ",\"meta\":{" + facts + "}}]}"};
    case ErrorFormat::problem:
      break;
  }
  return {"application/problem+json",
          "{\"type\":\"about:blank\",\"title\":\"Too Many Requests\",\"status\":429,\"detail\":" +
              json_quote(detail) + "," + facts + "}"};
}

}  // namespace ratelimit::http
