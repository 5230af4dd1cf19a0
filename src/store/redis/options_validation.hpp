#pragma once
// Validation of RedisStoreOptions, shared by the URL parser and the store (internal).

#include <string>

#include "ratelimit/redis_store.hpp"

namespace ratelimit::redis {

/// What is wrong with `options`, or "" when they are usable.
[[nodiscard]] std::string validate_options(const RedisStoreOptions& options);

}  // namespace ratelimit::redis
