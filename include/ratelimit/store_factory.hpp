#pragma once
/// @file store_factory.hpp
/// A store from one string, as the CLI and the service take it (`--store`).

#include <memory>
#include <string_view>

#include "ratelimit/attribute_store.hpp"
#include "ratelimit/store.hpp"

namespace ratelimit {

/// "memory": a MemoryStore. A Redis URL (see parse_redis_url): a RedisStore
/// behind a GuardedStore, configured by these extra URL options:
///   failure=open|closed|local|none   what decisions are while Redis is unavailable
///                                    (default open; none: StoreUnavailable propagates,
///                                    no breaker)
///   local_share=F                    local mode: this instance's share of each limit, (0, 1]
///   breaker_failures=N               consecutive failures that open the breaker (default 3)
///   breaker_open_ms=N                how long it stays open before a probe (default 1000)
/// Throws InvalidRedisUrl (or std::invalid_argument) naming what is wrong.
[[nodiscard]] std::unique_ptr<Store> open_store(std::string_view spec);

/// The AttributeStore that goes with `open_store(spec)`, from the same string:
/// "memory": make_memory_attribute_store(). A Redis URL: a RedisAttributeStore
/// on that deployment (same prefix, timeouts, pool; see parse_redis_url). The
/// Store-only options (failure, local_share, breaker_failures,
/// breaker_open_ms) are accepted and ignored. Connects lazily. Throws
/// InvalidRedisUrl naming what is wrong.
[[nodiscard]] std::unique_ptr<AttributeStore> open_attribute_store(std::string_view spec);

}  // namespace ratelimit
