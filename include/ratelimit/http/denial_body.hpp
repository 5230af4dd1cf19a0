#pragma once
/// @file http/denial_body.hpp
/// The body of a 429 (request denied by a limit) in the formats proxy mode
/// offers, as a pure function of the decision: shared by every frontend.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "ratelimit/decision.hpp"

namespace ratelimit::http {

/// How a denial is rendered.
enum class ErrorFormat : std::uint8_t {
  problem,  ///< RFC 9457 `application/problem+json` (the default)
  error,    ///< the guides' `{"error": {"code", "message", ...}}`, `application/json`
  jsonapi,  ///< JSON:API `{"errors": [{...}]}`, `application/vnd.api+json`
};
/// "problem", "error", "jsonapi".
[[nodiscard]] std::string_view to_string(ErrorFormat f) noexcept;
/// nullopt for an unknown name.
[[nodiscard]] std::optional<ErrorFormat> parse_error_format(std::string_view name) noexcept;

struct DenialBody {
  std::string content_type;
  std::string body;
};

/// The 429 body for `decision` (a denial) by the limit named `scope`. Every
/// format carries `retry_after` (whole seconds, rounded up; `null` when the
/// request can never be admitted), `limit` and `scope`; problem+json adds
/// `type`, `title`, `status` and `detail` (spec/http-api.md, "Proxy mode").
[[nodiscard]] DenialBody denial_body(ErrorFormat format, const Decision& decision,
                                     std::string_view scope);

/// `text` as a JSON string literal, quotes included (control characters,
/// quotes and backslashes escaped; other bytes as they are).
[[nodiscard]] std::string json_quote(std::string_view text);

}  // namespace ratelimit::http
