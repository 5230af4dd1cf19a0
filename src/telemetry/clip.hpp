#pragma once
// Names and identifiers are kept in fixed-size buffers: cut them at a UTF-8
// character boundary, so what the JSON APIs print stays valid UTF-8.

#include <cstddef>
#include <string_view>

namespace ratelimit::telemetry::detail {

inline std::string_view clip_utf8(std::string_view text, std::size_t max_bytes) noexcept {
  if (text.size() <= max_bytes) return text;
  std::size_t cut = max_bytes;
  // Back off continuation bytes (10xxxxxx) so the cut is before a lead byte.
  while (cut > 0 && (static_cast<unsigned char>(text[cut]) & 0xC0U) == 0x80U) --cut;
  return text.substr(0, cut);
}

}  // namespace ratelimit::telemetry::detail
