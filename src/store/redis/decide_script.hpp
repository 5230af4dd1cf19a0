#pragma once
// The decision script (lua/decide.lua), embedded at build time (internal).

#include <string_view>

namespace ratelimit::redis {

/// The text of lua/decide.lua. Its calling protocol is documented at its top.
extern const std::string_view kDecideScript;

}  // namespace ratelimit::redis
