#pragma once
// Error replies in RFC 9457 `application/problem+json`, as spec/http-api.md
// ("Errors") requires: every 4xx/5xx names what is wrong.

#include <string>
#include <string_view>

#include "exchange.hpp"

namespace ratelimitd {

/// `{"type":"about:blank","title":<reason phrase>,"status":status,"detail":detail}`
/// plus `"field": field` when `field` is not empty.
[[nodiscard]] HttpReply problem(unsigned status, std::string_view detail,
                                std::string_view field = {});

/// The standard reason phrase of `status` ("Bad Request", ...).
[[nodiscard]] std::string_view reason_phrase(unsigned status) noexcept;

}  // namespace ratelimitd
