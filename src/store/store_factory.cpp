// open_store: "memory" or a Redis URL (with failure-mode options) to a Store;
// open_attribute_store: the same strings to an AttributeStore.

#include "ratelimit/store_factory.hpp"

#include <charconv>
#include <string>

#include "ratelimit/guarded_store.hpp"
#include "ratelimit/memory_store.hpp"
#include "ratelimit/redis_attribute_store.hpp"
#include "ratelimit/redis_store.hpp"

namespace ratelimit {

namespace {

// Every option a store URL may carry: parse_redis_url's, then open_store's.
constexpr const char* kKnownOptions =
    "prefix, connect_timeout_ms, timeout_ms, pool, batch, time, failure, local_share, "
    "breaker_failures, breaker_open_ms";

[[noreturn]] void bad_option(std::string_view spec, const std::string& what) {
  throw InvalidRedisUrl("invalid Redis URL '" + std::string(spec) + "': " + what);
}

long long integer_option(std::string_view spec, const std::string& key, const std::string& value, long long lo,
                         long long hi) {
  long long v = 0;
  const auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), v);
  if (ec != std::errc() || end != value.data() + value.size() || v < lo || v > hi) {
    bad_option(spec, "option " + key + "='" + value + "' must be an integer in " + std::to_string(lo) + ".." +
                         std::to_string(hi));
  }
  return v;
}

// Throws unless `spec` names a Redis URL (it is not "memory").
void expect_redis_url(std::string_view spec) {
  if (spec.substr(0, 5) != "redis") {
    throw InvalidRedisUrl("unknown store '" + std::string(spec) +
                          "': expected 'memory' or a redis://, redis+sentinel:// or redis+cluster:// URL");
  }
}

}  // namespace

std::unique_ptr<Store> open_store(std::string_view spec) {
  if (spec == "memory") return std::make_unique<MemoryStore>();
  expect_redis_url(spec);
  std::vector<std::pair<std::string, std::string>> extra;
  RedisStoreOptions redis = parse_redis_url(spec, &extra);
  GuardedStoreOptions guard;
  bool guarded = true;
  for (const auto& [key, value] : extra) {
    if (key == "failure") {
      if (value == "none") {
        guarded = false;
      } else {
        try {
          guard.failure_mode = parse_failure_mode(value);
        } catch (const std::invalid_argument&) {
          bad_option(spec, "option failure='" + value + "' must be open, closed, local or none");
        }
      }
    } else if (key == "local_share") {
      double share = 0;
      const auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), share);
      if (ec != std::errc() || end != value.data() + value.size() || !(share > 0.0 && share <= 1.0)) {
        bad_option(spec, "option local_share='" + value + "' must be a number in (0, 1]");
      }
      guard.local_share = share;
    } else if (key == "breaker_failures") {
      guard.breaker_failures = static_cast<int>(integer_option(spec, key, value, 1, 1'000'000));
    } else if (key == "breaker_open_ms") {
      guard.breaker_open = integer_option(spec, key, value, 1, 3'600'000) * kMicrosPerMilli;
    } else {
      bad_option(spec, "unknown option '" + key + "' (known: " + kKnownOptions + ")");
    }
  }
  auto store = std::make_unique<RedisStore>(std::move(redis));
  if (!guarded) return store;
  return std::make_unique<GuardedStore>(std::move(store), guard);
}

std::unique_ptr<AttributeStore> open_attribute_store(std::string_view spec) {
  if (spec == "memory") return make_memory_attribute_store();
  expect_redis_url(spec);
  std::vector<std::pair<std::string, std::string>> extra;
  RedisStoreOptions redis = parse_redis_url(spec, &extra);
  for (const auto& [key, value] : extra) {
    // The same URL configures the Store: its failure options are not ours.
    if (key == "failure" || key == "local_share" || key == "breaker_failures" ||
        key == "breaker_open_ms") {
      continue;
    }
    bad_option(spec, "unknown option '" + key + "' (known: " + kKnownOptions + ")");
  }
  return std::make_unique<RedisAttributeStore>(std::move(redis));
}

}  // namespace ratelimit
